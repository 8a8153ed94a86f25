import type { ConveyorEvent } from '@conveyor/core/adapter'
import { REDIS_URL, uniquePrefix } from '@conveyor/test-support'
import { describe, expect, it } from 'vitest'
import { createRedisEventStream, eventStreamKey } from '../src/index'
import { redisScratch } from './helpers'

const scratch = redisScratch()
const prefixes = scratch.prefixes

function event(id: string): ConveyorEvent {
  return { type: 'task.started', taskId: id, time: Date.now() } as unknown as ConveyorEvent
}

/** A stream whose entries someone else wrote garbage into, between good batches. */
async function poisoned(garbage: number) {
  const prefix = uniquePrefix('events-unreadable')
  prefixes.push(prefix)
  const warnings: unknown[] = []
  const logger = { error: () => {}, warn: (obj: object) => warnings.push(obj), info: () => {} }
  const stream = createRedisEventStream({ url: REDIS_URL, prefix, logger })
  await stream.publish([event('before')])
  const key = eventStreamKey(prefix)
  for (let i = 0; i < garbage; i++) {
    await scratch.raw.xadd(key, '*', 'e', i % 2 === 0 ? 'not json {' : '"not a batch"')
    await scratch.raw.xadd(key, '*', 'foo', 'bar', 'baz', 'qux')
  }
  await stream.publish([event('after')])
  return { stream, warnings }
}

async function taskIds(stream: Awaited<ReturnType<typeof poisoned>>['stream'], limit: number): Promise<string[]> {
  const ids: string[] = []
  let page = await stream.read('start', { limit })
  for (let reads = 0; reads < 50; reads++) {
    for (const { event } of page.events) ids.push((event as unknown as { taskId: string }).taskId)
    if (ids.includes('after')) break
    page = await stream.read({ after: page.cursor }, { limit })
  }
  return ids
}

describe('redis event stream: entries it cannot read', () => {
  it('skips them and goes on to the events after them', async () => {
    const { stream, warnings } = await poisoned(3)
    try {
      expect(await taskIds(stream, 500)).toEqual(['before', 'after'])
      expect(await taskIds(stream, 1)).toEqual(['before', 'after'])
      // Logged once per reader, with no entry contents in it.
      expect(warnings).toHaveLength(1)
      expect(JSON.stringify(warnings)).not.toContain('not json')
    } finally {
      await stream.close()
    }
  })

  it('a page of nothing but unreadable entries does not jump to the end', async () => {
    // limit 1 reads two entries a page: the page after `before` holds only garbage.
    const { stream } = await poisoned(5)
    try {
      const first = await stream.read('start', { limit: 1 })
      expect(first.events.map((e) => (e.event as unknown as { taskId: string }).taskId)).toEqual(['before'])
      const next = await stream.read({ after: first.cursor }, { limit: 1 })
      expect(next.events.map((e) => (e.event as unknown as { taskId: string }).taskId)).toEqual(['after'])
    } finally {
      await stream.close()
    }
  })

  it('a stream that starts with unreadable entries still reads from the start', async () => {
    const prefix = uniquePrefix('events-unreadable')
    prefixes.push(prefix)
    const stream = createRedisEventStream({ url: REDIS_URL, prefix, logger: false })
    try {
      const key = eventStreamKey(prefix)
      for (let i = 0; i < 4; i++) await scratch.raw.xadd(key, '*', 'e', 'garbage')
      await stream.publish([event('only')])
      const page = await stream.read('start', { limit: 1 })
      expect(page.events.map((e) => (e.event as unknown as { taskId: string }).taskId)).toEqual(['only'])
      const end = await stream.read('end')
      expect((await stream.read({ after: end.cursor })).events).toEqual([])
    } finally {
      await stream.close()
    }
  })
})
