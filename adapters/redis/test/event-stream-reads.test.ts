import { getEventListeners } from 'node:events'
import { deletePrefix, REDIS_URL, rawRedis, uniquePrefix } from '@conveyor/test-support'
import { afterAll, describe, expect, it } from 'vitest'
import { createRedisEventStream } from '../src/index'

const prefix = uniquePrefix('events-reads')
const stream = createRedisEventStream({ url: REDIS_URL, prefix })

afterAll(async () => {
  await stream.close()
  const raw = await rawRedis()
  await deletePrefix(raw, prefix)
  raw.disconnect()
})

describe('redis event stream: blocking reads', () => {
  it('a reader that reuses one signal for many blocking reads leaves no abort listener behind', async () => {
    // The dashboard and `conveyor events` follow the stream with one AbortSignal for their whole life.
    const controller = new AbortController()
    let cursor = (await stream.read('end')).cursor
    for (let i = 0; i < 25; i++) {
      const page = await stream.read({ after: cursor }, { blockMs: 5, signal: controller.signal })
      cursor = page.cursor
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
    controller.abort()
  })

  it.each(['start', 'time'] as const)(
    'a read from %s that finds nothing yet misses nothing written right after it looked',
    async (position) => {
      // An event written between the reader's XRANGE (nothing there) and its look at the stream's end used to be
      // behind the cursor it returned: neither that page nor the next read had it (a quarter of trials on a live app).
      const racePrefix = uniquePrefix(`events-race-${position}`)
      const writer = createRedisEventStream({ url: REDIS_URL, prefix: racePrefix })
      const client = await rawRedis()
      let appendNext = false
      const xrange = client.xrange.bind(client) as (...args: unknown[]) => Promise<unknown>
      ;(client as unknown as { xrange: (...args: unknown[]) => Promise<unknown> }).xrange = async (...args) => {
        const entries = await xrange(...args)
        if (appendNext) {
          appendNext = false
          await writer.publish([
            { type: 'task.progress', id: 'late', task: 't', queue: 'q', attempt: 1, at: Date.now(), progress: 1 },
          ])
        }
        return entries
      }
      const reader = createRedisEventStream({ client, prefix: racePrefix })
      try {
        if (position === 'time') {
          await writer.publish([
            { type: 'task.progress', id: 'old', task: 't', queue: 'q', attempt: 1, at: Date.now(), progress: 0 },
          ])
          await new Promise((resolve) => setTimeout(resolve, 5))
        }
        appendNext = true
        const first = await reader.read(position === 'start' ? 'start' : { time: Date.now() }, { limit: 10 })
        const next = await reader.read({ after: first.cursor }, { limit: 10, blockMs: 100 })
        const ids = [...first.events, ...next.events].map((stored) => ('id' in stored.event ? stored.event.id : ''))
        expect(ids).toEqual(['late'])
      } finally {
        await reader.close()
        await writer.close()
        await deletePrefix(client, racePrefix)
        client.disconnect()
      }
    },
  )
})
