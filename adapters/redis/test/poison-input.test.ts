import { randomUUID } from 'node:crypto'
import { createApp } from '@conveyor/core'
import type { Delivery } from '@conveyor/core/adapter'
import { envelope, REDIS_URL, uniquePrefix } from '@conveyor/test-support'
import { describe, expect, it } from 'vitest'
import { createRedisBroker } from '../src/index'
import { redisScratch, until } from './helpers'

/** Envelope JSON for `task` whose payload nests `depth` arrays (built as text: JSON.stringify would overflow). */
const deepEnvelopeText = (task: string, queue: string, depth: number) =>
  JSON.stringify({
    id: randomUUID(),
    task,
    payload: null,
    queue,
    priority: 0,
    attempt: 1,
    maxAttempts: 3,
    createdAt: Date.now(),
  }).replace('"payload":null', `"payload":${'['.repeat(depth)}${']'.repeat(depth)}`)

const scratch = redisScratch()
const prefixes = scratch.prefixes
const newPrefix = (what: string) => {
  const prefix = uniquePrefix(what)
  prefixes.push(prefix)
  return prefix
}

describe('redis: poison that must reach the dead-letter queue', () => {
  it('a payload nested thousands of levels deep is dead-lettered as malformed and frees its slot', async () => {
    const prefix = newPrefix('deep')
    const app = createApp({ broker: createRedisBroker({ url: REDIS_URL, prefix, leaseMs: 5000 }), logger: false })
    const done: number[] = []
    const ok = app.task('ok', (input: { i: number }) => {
      done.push(input.i)
    })
    try {
      await app.worker({ queues: ['default'], concurrency: 2 }).start()
      // For a task nobody implements: dead-lettering it used to encode the envelope again, which overflowed the
      // stack, so it was redelivered every lease forever and held a slot each time.
      for (let i = 0; i < 4; i++) await app.broker.publishRaw('default', deepEnvelopeText('nobody', 'default', 6_000))
      await ok.enqueue({ i: 1 })
      await ok.enqueue({ i: 2 })
      await until(() => done.length === 2, 5000, 'the ordinary jobs')
      await until(async () => (await app.broker.deadLetters.count('default')) === 4, 5000, 'four dead letters')
      const letters = await app.broker.deadLetters.list('default')
      expect(letters.map((l) => l.reason)).toEqual(['malformed', 'malformed', 'malformed', 'malformed'])
      expect(letters[0]!.error?.message).toMatch(/deeper than/)
      expect(letters[0]!.deliveryCount).toBe(1)
      expect(await app.broker.stats('default')).toEqual({ ready: 0, inFlight: 0, delayed: 0, dead: 4 })
    } finally {
      await app.close()
    }
  })

  it('a dead letter whose record cannot be encoded still ends the message, keeping the raw bytes', async () => {
    const prefix = newPrefix('dead-fail')
    const broker = createRedisBroker({ url: REDIS_URL, prefix, leaseMs: 5000 })
    try {
      await broker.declare({ name: 'q' })
      const sent = envelope('q')
      await broker.publish(sent)
      const got: Delivery[] = []
      await broker.consume('q', (d) => got.push(d), { prefetch: 1 })
      await until(() => got.length === 1, 5000, 'the delivery')
      const hostile = {
        name: 'E',
        message: 'm',
        toJSON() {
          throw new Error('cannot encode me')
        },
      }
      await got[0]!.deadLetter('unrecoverable', hostile)
      const [letter] = await broker.deadLetters.list('q')
      expect(letter).toMatchObject({ id: sent.id, reason: 'unrecoverable', error: { code: 'CONVEYOR_SERIALIZATION' } })
      expect(letter!.raw).toContain(sent.id)
      expect(letter!.envelope).toBeUndefined()
      expect(await broker.stats('q')).toEqual({ ready: 0, inFlight: 0, delayed: 0, dead: 1 })
    } finally {
      await broker.close()
    }
  })
})
