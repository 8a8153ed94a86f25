import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { REDIS_URL } from '@conveyor/test-support'
import { describe, expect, it } from 'vitest'
import { ROOT } from './helpers'

const FIXTURE = join(ROOT, 'packages/cli/test/fixtures/signal-app.ts')
const AMQP_URL = process.env.CONVEYOR_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'

/**
 * Run the fixture; `then` acts once it printed `mark`. Resolves with its exit code, or 'hung' when it is still running
 * `limitMs` after the mark (starting under tsx on a loaded machine may take long: that is not counted).
 */
function runFixture(args: string[], mark: string, then: (pid: number) => void, limitMs = 10_000) {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=conveyor-source', FIXTURE, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  let markedAt = 0
  let timer: NodeJS.Timeout | undefined
  return new Promise<{ code: number | 'hung'; afterMarkMs: number }>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (markedAt !== 0 || !out.includes(mark)) return
      markedAt = Date.now()
      then(child.pid!)
      timer = setTimeout(() => {
        child.kill('SIGKILL')
        resolve({ code: 'hung', afterMarkMs: Date.now() - markedAt })
      }, limitMs)
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code: code ?? -1, afterMarkMs: Date.now() - markedAt })
    })
  })
}

const brokers = [
  ['memory', 'memory://'],
  ['redis', `${REDIS_URL}?prefix=cvtest-signals-${randomUUID().slice(0, 8)}`],
  ['rabbitmq', `${AMQP_URL}?prefix=cvt.signals.${randomUUID().slice(0, 8)}`],
] as const

describe.concurrent('stopping leaves nothing that keeps the process alive', { timeout: 150_000 }, () => {
  it.each(brokers)('handleSignals on %s: SIGTERM stops the worker and the process exits by itself', async (_n, url) => {
    const run = await runFixture([url], 'ready', (pid) => process.kill(pid, 'SIGTERM'))
    expect(run.code).toBe(0)
    expect(run.afterMarkMs).toBeLessThan(10_000)
  })

  it('on the memory broker, worker.stop() alone lets the program end', async () => {
    const run = await runFixture(['memory://', 'stop-only'], 'stopped', () => {})
    expect(run.code).toBe(0)
  })

  it('the installed `conveyor` bin exists before any build (npm links it) and runs the CLI', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'packages/cli/package.json'), 'utf8')) as {
      bin: { conveyor: string }
    }
    const bin = join(ROOT, 'packages/cli', pkg.bin.conveyor)
    expect(existsSync(bin)).toBe(true)
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [bin, 'enqueue', '--help'], { stdio: ['ignore', 'pipe', 'inherit'] })
      let text = ''
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()))
      child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`exit ${code}: ${text}`))))
    })
    expect(out).toMatch(/^Usage: conveyor enqueue/)
  })
})
