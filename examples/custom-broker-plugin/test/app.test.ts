import { createApp } from '@conveyor/core'
import { afterAll, describe, expect, it } from 'vitest'
import { dropPostgresNamespace, postgresAdapter } from '../src/index'
import { pool, url } from './support'

// The plugin as an app uses it: resolved from a URL, tasks enqueued and run, a failure retried then dead-lettered.
const namespace = `app_${Date.now().toString(36)}`
afterAll(() => dropPostgresNamespace(pool, namespace))

describe('postgres plugin under createApp', () => {
  it('runs tasks from a postgres:// URL, retries, dead-letters and replays', async () => {
    const app = createApp({
      broker: `${url}?conveyor_namespace=${namespace}`,
      adapters: [postgresAdapter],
      results: false,
      logger: false,
      defaults: { queue: 'emails', retry: { maxAttempts: 2, backoff: 50 } },
    })
    expect(app.broker.name).toBe('postgres')
    const sent: string[] = []
    let failing = true
    const send = app.task('email.send', async (input: { to: string }) => {
      if (input.to === 'bounce@example.com' && failing) throw new Error('mailbox full')
      sent.push(input.to)
    })
    const dead = new Promise<void>((resolve) => app.events.once('task.dead-lettered', () => resolve()))
    await app.worker({ queues: ['emails'], concurrency: 2 }).start()
    await send.enqueue({ to: 'a@example.com' })
    await send.enqueue({ to: 'bounce@example.com' })
    await dead
    expect(sent).toEqual(['a@example.com'])
    const [letter] = await app.broker.deadLetters.list('emails')
    expect(letter).toMatchObject({ reason: 'max-attempts', attempts: 2, error: { message: 'mailbox full' } })
    failing = false
    const done = new Promise<void>((resolve) => app.events.once('task.succeeded', () => resolve()))
    expect(await app.broker.deadLetters.replay('emails')).toBe(1)
    await done
    expect(sent).toEqual(['a@example.com', 'bounce@example.com'])
    await app.close({ timeoutMs: 1000 })
  }, 20_000)

  it('dead-letters payloads nested thousands of levels deep as malformed, and keeps running', async () => {
    const app = createApp({
      broker: `${url}?conveyor_namespace=${namespace}`,
      adapters: [postgresAdapter],
      results: false,
      logger: false,
    })
    const done: number[] = []
    const ok = app.task('ok', (input: { i: number }) => {
      done.push(input.i)
    })
    await app.worker({ queues: ['deep'], concurrency: 2 }).start()
    const deep = `${'['.repeat(6_000)}${']'.repeat(6_000)}`
    for (let i = 0; i < 4; i++) {
      const fields = { id: `deep-${i}`, task: 'nobody', payload: null, queue: 'deep', priority: 0, attempt: 1 }
      const text = JSON.stringify({ ...fields, maxAttempts: 3, createdAt: Date.now() })
      await app.broker.publishRaw('deep', text.replace('"payload":null', `"payload":${deep}`))
    }
    await ok.enqueue({ i: 1 }, { queue: 'deep' })
    const until = Date.now() + 10_000
    while ((done.length < 1 || (await app.broker.deadLetters.count('deep')) < 4) && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect(done).toEqual([1])
    const letters = await app.broker.deadLetters.list('deep')
    expect(letters.map((l) => l.reason)).toEqual(['malformed', 'malformed', 'malformed', 'malformed'])
    await app.close({ timeoutMs: 1000 })
  }, 20_000)
})
