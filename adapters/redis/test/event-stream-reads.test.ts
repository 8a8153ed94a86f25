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
})
