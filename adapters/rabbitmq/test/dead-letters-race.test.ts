import type { Delivery, Envelope } from '@conveyor/core/adapter'
import { envelope, eventually } from '@conveyor/test-support'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, makeBroker, uniquePrefix } from './helpers'

/**
 * Dead letters of one queue listed, replayed and purged from several processes at once (two dashboards, the CLI):
 * each operation takes the messages with basic.get and holds them unacknowledged until it is done, so without a lock
 * one operation's messages are invisible to the other — a replay misses them, a listing shows a partial page.
 */
describe('rabbitmq dead letters under concurrent operations', { timeout: 60_000 }, () => {
  let prefix = ''
  afterEach(async () => {
    if (prefix) await cleanup(prefix)
    prefix = ''
  })

  async function deadLettered(count: number) {
    prefix = uniquePrefix('dlq-race')
    // Two brokers: two connections, as two processes would have.
    const a = makeBroker(prefix)
    const b = makeBroker(prefix)
    await a.declare({ name: 'q' })
    const sent: Envelope[] = Array.from({ length: count }, () => envelope('q'))
    for (const e of sent) await a.publish(e)
    const got: Delivery[] = []
    const sub = await a.consume('q', (d) => got.push(d), { prefetch: count })
    await eventually(() => got.length === count, 20_000, 'deliveries')
    await sub.cancel()
    for (const d of got) await d.deadLetter('unrecoverable', { name: 'Error', message: d.envelope.id })
    await eventually(async () => (await a.deadLetters.count('q')) === count, 20_000, 'dead letters')
    return { a, b, ids: sent.map((e) => e.id) }
  }

  it('a replay while another process lists replays every selected dead letter, once', async () => {
    const { a, b, ids } = await deadLettered(150)
    const [listed, replayed] = await Promise.all([
      b.deadLetters.list('q', { limit: 500 }),
      a.deadLetters.replay('q', { ids }),
    ])
    expect(replayed).toBe(ids.length)
    // The listing ran wholly before or wholly after the replay: all of them, or none.
    expect([0, ids.length]).toContain(listed.length)
    expect(await a.deadLetters.count('q')).toBe(0)
    const again: string[] = []
    const sub = await b.consume(
      'q',
      (d) => {
        again.push(d.envelope.id)
        void d.ack()
      },
      { prefetch: 50 },
    )
    await eventually(() => again.length >= ids.length, 20_000, 'the replayed messages')
    await new Promise((resolve) => setTimeout(resolve, 300))
    await sub.cancel()
    expect([...again].sort()).toEqual([...ids].sort())
  })

  it('pages listed while another process lists show each dead letter exactly once', async () => {
    const { a, b, ids } = await deadLettered(120)
    const pages = async () => {
      const seen: string[] = []
      for (let offset = 0; ; offset += 40) {
        const page = await a.deadLetters.list('q', { offset, limit: 40 })
        seen.push(...page.map((d) => d.id))
        if (page.length < 40) return seen
      }
    }
    const [seen] = await Promise.all([pages(), b.deadLetters.list('q', { limit: 500 }), b.deadLetters.count('q')])
    expect(seen).toEqual(ids)
  })

  it('two replays of the same dead letters at once put each back once', async () => {
    const { a, b, ids } = await deadLettered(100)
    const [first, second] = await Promise.all([a.deadLetters.replay('q', { ids }), b.deadLetters.replay('q', { ids })])
    expect(first + second).toBe(ids.length)
    expect(await a.deadLetters.count('q')).toBe(0)
  })
})
