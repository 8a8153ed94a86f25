import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))
const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url))
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))

/** Run the CLI from source (as the built bin would run), resolving the workspace packages to their sources. */
function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--conditions=conveyor-source', cli, ...args],
      { cwd: root, timeout: 90_000, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0
        resolve({ code, stdout, stderr })
      },
    )
  })
}

// Each run starts its own vitest; they are independent processes, so they run side by side.
describe.concurrent('conveyor-conformance CLI', () => {
  it('runs the chosen areas on a passing adapter: capability matrix, pass table, exit 0', async () => {
    const { code, stdout, stderr } = await run(['--adapter', fixture('memory-adapter.ts'), '--only', 'envelope,delay'])
    expect(stderr).not.toMatch(/error/i)
    expect(code).toBe(0)
    expect(stdout).toContain('Capabilities claimed by memory')
    expect(stdout).toMatch(/priorityLevels\s+10\s+runs \d+/)
    expect(stdout).toMatch(/PASS\s+envelope\.round-trip/)
    expect(stdout).toMatch(/PASS\s+delay\.never-early/)
    // A capability the adapter does not lack is still listed, skipped with its reason.
    expect(stdout).toMatch(/SKIP\s+delay\.unsupported-rejects\s+\d+\s+memory claims delayedDelivery: native/)
    expect(stdout).toMatch(/\d+ passed, 0 failed, 1 skipped/)
  }, 120_000)

  it('exits 1 and names the failing test on a broken adapter', async () => {
    const { code, stdout } = await run([
      '--adapter',
      fixture('fifo-adapter.ts'),
      '--only',
      'priority',
      '--name',
      'fifo',
    ])
    expect(code).toBe(1)
    expect(stdout).toContain('Capabilities claimed by fifo')
    expect(stdout).toMatch(/FAIL\s+priority\.higher-first/)
    expect(stdout).toMatch(/PASS\s+priority\.fifo-within-level/)
  }, 120_000)

  it('exits 2 with the usage on bad arguments', async () => {
    const missing = await run([])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('--adapter is required')
    const area = await run(['--adapter', fixture('memory-adapter.ts'), '--only', 'nope'])
    expect(area.code).toBe(2)
    expect(area.stderr).toContain('unknown area(s): nope')
  }, 60_000)
})
