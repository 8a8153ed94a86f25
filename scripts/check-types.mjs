#!/usr/bin/env node
// After `npm run build`: pack every published package as npm would publish it and run @arethetypeswrong/cli over
// each tarball, so a types entry that resolves wrong for ESM, CommonJS or bundlers fails `npm test`, not a user.
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
/** Published packages; `esm-only` where a dependency forces it (the conformance suite runs inside vitest). */
const packages = [
  { dir: 'packages/core', profile: 'node16' },
  { dir: 'adapters/redis', profile: 'node16' },
  { dir: 'adapters/rabbitmq', profile: 'node16' },
  { dir: 'conformance-tests', profile: 'esm-only' },
  { dir: 'packages/cli', profile: 'node16' },
  { dir: 'packages/celery', profile: 'node16' },
  { dir: 'packages/otel', profile: 'node16' },
  { dir: 'packages/dashboard', profile: 'node16' },
]

const out = mkdtempSync(join(tmpdir(), 'conveyor-attw-'))
try {
  const { stdout } = await run(
    'npm',
    ['pack', '--json', '--pack-destination', out, ...packages.flatMap((p) => ['-w', p.dir])],
    { cwd: root, maxBuffer: 32 * 1024 * 1024 },
  )
  const packed = JSON.parse(stdout)
  const attw = join(root, 'node_modules', '.bin', 'attw')
  const results = await Promise.all(
    packages.map(async ({ dir, profile }) => {
      const { name } = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'))
      const tarball = packed.find((p) => p.name === name)?.filename
      if (!tarball) return { name, ok: false, output: `not packed by npm pack` }
      try {
        await run(attw, [join(out, tarball), '--profile', profile, '--format', 'ascii'], { cwd: root })
        return { name, ok: true, output: '' }
      } catch (error) {
        return { name, ok: false, output: `${error.stdout ?? ''}${error.stderr ?? error.message}` }
      }
    }),
  )
  for (const { name, ok, output } of results) {
    console.log(`[check-types] ${name}: ${ok ? 'types resolve in every module system' : 'FAILED'}`)
    if (!ok) console.error(output)
  }
  process.exitCode = results.every((r) => r.ok) ? 0 : 1
} finally {
  rmSync(out, { recursive: true, force: true })
}
