import { inspect } from 'node:util'
import { type CliIo, runCli } from '@conveyor/cli'
import { createApp } from '@conveyor/core'
import { redactSecrets, redactUrl } from '@conveyor/core/adapter'
import { rabbitmqAdapter } from '@conveyor/rabbitmq'
import { redisAdapter } from '@conveyor/redis'
import { describe, expect, it } from 'vitest'
import { captureLogger } from '../../core/test/helpers'

const PASSWORD = 'Sup3rS3cret-pw'

function capture(env: Record<string, string> = {}): CliIo & { err: () => string; out: () => string } {
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

const badUrls = [
  `redis://:${PASSWORD}@127.0.0.1:99999`,
  `rediss://admin:${PASSWORD}@127.0.0.1:99999/0`,
  `amqp://guest:${PASSWORD}@127.0.0.1:99999`,
  `amqp://guest:${PASSWORD}@`,
  `amqps://guest:${PASSWORD}@[::1`,
  `redis//:${PASSWORD}@127.0.0.1`,
]

describe('URL passwords never reach an error or a log line', { timeout: 60_000 }, () => {
  it('redactUrl hides the password and keeps what helps (scheme, user, host, port)', () => {
    expect(redactUrl(`redis://:${PASSWORD}@127.0.0.1:6379/0`)).toBe('redis://:***@127.0.0.1:6379/0')
    expect(redactUrl(`amqp://guest:${PASSWORD}@rabbit:5672/vhost`)).toBe('amqp://guest:***@rabbit:5672/vhost')
    expect(redactUrl(`redis://${PASSWORD}@host`)).toBe('redis://:***@host')
    expect(redactUrl(`postgres://u@h/db?password=${PASSWORD}&x=1`)).toBe('postgres://:***@h/db?password=***&x=1')
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379')
    expect(redactSecrets(`failed: amqp://guest:${PASSWORD}@h and redis://:${PASSWORD}@r`)).not.toContain(PASSWORD)
  })

  it.each(badUrls)('conveyor with --broker %s prints one line without the password', async (url) => {
    const io = capture()
    expect(await runCli(['inspect', 'queues', '--broker', url], io)).toBe(1)
    expect(io.err()).not.toContain(PASSWORD)
    expect(io.out()).not.toContain(PASSWORD)
    expect(io.err().trim().split('\n')).toHaveLength(1)
  })

  it('conveyor with a bad CONVEYOR_BROKER_URL prints one line without the password', async () => {
    const io = capture({ CONVEYOR_BROKER_URL: `redis://:${PASSWORD}@127.0.0.1:99999` })
    expect(await runCli(['inspect', 'queues'], io)).toBe(1)
    expect(io.err()).toMatch(/redis:\/\/:\*\*\*@127\.0\.0\.1:99999/)
    expect(io.err()).not.toContain(PASSWORD)
  })

  it('createApp errors, their causes and util.inspect of them carry no password; nor do log lines', async () => {
    const { logger, lines } = captureLogger()
    const urls = [...badUrls, `amqp://guest:${PASSWORD}@127.0.0.1:1`, `memory-not-a-url:${PASSWORD}`]
    for (const url of urls) {
      let caught: unknown
      try {
        const app = createApp({ broker: url, adapters: [redisAdapter, rabbitmqAdapter], logger })
        try {
          await app.enqueue('t', null)
        } finally {
          await app.close().catch(() => {})
        }
      } catch (error) {
        caught = error
      }
      expect(caught, url).toBeInstanceOf(Error)
      expect(inspect(caught, { depth: 8 }), url).not.toContain(PASSWORD)
    }
    expect(JSON.stringify(lines)).not.toContain(PASSWORD)
  })
})
