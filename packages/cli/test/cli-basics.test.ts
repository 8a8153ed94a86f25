import { type CliIo, runCli } from '@conveyor/cli'
import { describe, expect, it } from 'vitest'
import { conveyor, REDIS_APP } from './helpers'

function capture(env: Record<string, string> = {}): CliIo & { out: () => string; err: () => string } {
  let out = ''
  let err = ''
  return {
    stdout: { write: (t: string) => (out += t) },
    stderr: { write: (t: string) => (err += t) },
    env,
    cwd: process.cwd(),
    out: () => out,
    err: () => err,
  }
}

describe('conveyor command line', { timeout: 60_000 }, () => {
  it.each(['worker', 'enqueue', 'inspect', 'purge', 'dlq', 'revoke', 'scheduler'])('%s --help', async (command) => {
    const io = capture()
    expect(await runCli([command, '--help'], io)).toBe(0)
    expect(io.out()).toMatch(/^Usage: conveyor /)
  })

  it('exit code 2 with one line for wrong usage', async () => {
    for (const argv of [[], ['nope'], ['enqueue'], ['enqueue', 't', '{bad'], ['worker', '--bogus'], ['inspect', 'x']]) {
      const io = capture()
      expect(await runCli(argv, io)).toBe(2)
      if (argv.length > 0) expect(io.err().trim().split('\n')).toHaveLength(1)
    }
  })

  it('purge refuses without --yes when nobody can answer', async () => {
    const io = capture()
    expect(await runCli(['purge', 'q', '--broker', 'memory://'], io)).toBe(2)
    expect(io.err()).toMatch(/refusing without --yes/)
  })

  it('a bad module path is one line, exit 1, no stack trace', async () => {
    const run = await conveyor(['enqueue', 't', '{}', '--app', './no/such/app.js'])
    expect(run.code).toBe(1)
    expect(run.stderr.trim()).toMatch(/^\[conveyor\] \[cli\] app module not found: \.\/no\/such\/app\.js/)
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
  })

  it('a bad URL and an unreachable broker are one line each, exit 1', async () => {
    const bad = capture()
    expect(await runCli(['inspect', 'queues', '--broker', 'nonsense'], bad)).toBe(1)
    expect(bad.err().trim()).toMatch(/is not a URL/)
    expect(bad.err().trim().split('\n')).toHaveLength(1)
    const down = await conveyor(['inspect', 'queues', '--broker', 'redis://127.0.0.1:1'])
    expect(down.code).toBe(1)
    expect(down.stderr.trim()).toMatch(/^\[conveyor\] \[cli\] cannot reach the redis broker/)
    expect(down.stderr.trim().split('\n')).toHaveLength(1)
  })

  it('an app module whose broker is unreachable fails the worker at once, one line', async () => {
    const run = await conveyor(['worker', '--app', REDIS_APP], { CONVEYOR_REDIS_URL: 'redis://127.0.0.1:1' })
    expect(run.code).toBe(1)
    expect(run.stderr.trim()).toMatch(/cannot reach the redis broker/)
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
  })
})
