import { type ConveyorEvent, InvalidOptionsError, type TaskHistory, type TaskRunQuery } from '@conveyor/core'
import { createMemoryTaskHistory } from '@conveyor/core/adapter'
import { deletePrefix, REDIS_URL, rawRedis, uniquePrefix } from '@conveyor/test-support'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisTaskHistory } from '../src/index'

// The Redis history walks the smallest index a query names and checks the other filters on each run, a bounded number
// of entries per call: whatever index it picks and however short its pages, paging to the end must list exactly what
// the memory history (a plain filter and sort) lists.
const TASKS = ['mail.send', 'report.build', 'image.resize'] as const
const QUEUES = ['q0', 'q1'] as const
const OUTCOMES = ['task.succeeded', 'task.failed', 'task.started', 'none'] as const

/** 240 runs, several per millisecond, spread over tasks, queues and states (a deterministic mix, no randomness). */
function runEvents(t0: number): ConveyorEvent[] {
  const events: ConveyorEvent[] = []
  for (let n = 0; n < 240; n++) {
    const base = {
      id: `run-${String(n).padStart(3, '0')}`,
      task: TASKS[n % 3]!,
      queue: QUEUES[(n >> 2) % 2]!,
      attempt: 1,
    }
    const at = t0 + Math.floor(n / 3)
    events.push({ type: 'task.enqueued', ...base, at, priority: 0, maxAttempts: 3, input: `{"n":${n}}` })
    const outcome = OUTCOMES[(n * 7) % 4]!
    if (outcome === 'none') continue
    events.push({ type: 'task.started', ...base, at: at + 1, deliveryCount: 1, enqueuedAt: at })
    if (outcome === 'task.failed') {
      events.push({ type: outcome, ...base, at: at + 2, durationMs: 1, error: { name: 'Error', message: `boom ${n}` } })
    } else if (outcome === 'task.succeeded') {
      events.push({ type: outcome, ...base, at: at + 2, durationMs: 1 })
    }
  }
  return events
}

async function allPages(history: TaskHistory, query: TaskRunQuery): Promise<string[]> {
  const ids: string[] = []
  let cursor: string | undefined
  for (let pages = 0; pages < 1000; pages++) {
    const page = await history.list({ ...query, limit: 7, ...(cursor ? { cursor } : {}) })
    ids.push(...page.runs.map((run) => run.id))
    cursor = page.next
    if (cursor === undefined) return ids
  }
  throw new Error('paging did not end')
}

let raw: Redis
const prefix = uniquePrefix('history')
const memory = createMemoryTaskHistory({ retention: { maxRuns: 10_000 } })
// A scan limit far below the index sizes: most pages end short, with a cursor, and paging must still be exact.
const redis = createRedisTaskHistory({ url: REDIS_URL, prefix, retention: { maxRuns: 10_000 }, scanLimit: 25 })
const t0 = Date.now() - 60_000

beforeAll(async () => {
  raw = await rawRedis()
  const events = runEvents(t0)
  await memory.record(events)
  await redis.record(events)
})
afterAll(async () => {
  await redis.close()
  await deletePrefix(raw, prefix)
  raw.disconnect()
})

describe('redis task history: list', () => {
  const queries: TaskRunQuery[] = []
  for (const state of [undefined, 'succeeded', 'failed', 'started', 'pending'] as const) {
    for (const task of [undefined, 'report.build'] as const) {
      for (const queue of [undefined, 'q1'] as const) {
        queries.push({
          ...(state ? { state } : {}),
          ...(task ? { task } : {}),
          ...(queue ? { queue } : {}),
        })
      }
    }
  }
  queries.push(
    { search: 'run-1' },
    { search: 'image' },
    { search: '"n":77}' },
    { state: 'failed', search: 'run-0' },
    { task: 'mail.send', queue: 'q0', state: 'succeeded', since: t0 + 20, until: t0 + 60 },
    { state: 'failed', since: t0 + 30 },
    { queue: 'q0', until: t0 + 10 },
  )

  it.each(queries.map((query) => [JSON.stringify(query), query] as const))(
    'lists what the memory history lists, paged: %s',
    async (_, query) => {
      const expected = await allPages(memory, query)
      expect(await allPages(redis, query)).toEqual(expected)
    },
  )

  it('walks the smallest index a query names, whichever filter names it', async () => {
    // 63 pending runs, 4 of them on a quiet queue. Asked for that queue's pending runs with a scan limit of 10, the
    // script must walk the queue's index (4 entries, one call to the end), not the 63 pending ones (short pages).
    const own = uniquePrefix('history-index')
    const narrow = createRedisTaskHistory({
      url: REDIS_URL,
      prefix: own,
      retention: { maxRuns: 10_000 },
      scanLimit: 10,
    })
    try {
      const events: ConveyorEvent[] = []
      for (let n = 0; n < 63; n++) {
        const queue = n % 20 === 0 ? 'quiet' : 'busy'
        events.push({
          type: 'task.enqueued',
          id: `p-${n}`,
          task: 't',
          queue,
          attempt: 1,
          at: t0 + n,
          priority: 0,
          maxAttempts: 1,
        })
      }
      await narrow.record(events)
      const page = await narrow.list({ state: 'pending', queue: 'quiet', limit: 50 })
      expect(page.runs.map((run) => run.id)).toEqual(['p-60', 'p-40', 'p-20', 'p-0'])
      expect(page.next).toBeUndefined()
    } finally {
      await narrow.close()
      await deletePrefix(raw, own)
    }
  })

  it('ends a page at the time budget with a cursor, and paging still lists exactly the matches', async () => {
    // A budget of a microsecond is spent after the first batch of 200 entries: a search matching the 10 oldest runs
    // comes back in short pages, and the pages together hold what the memory history lists.
    const hurried = createRedisTaskHistory({
      url: REDIS_URL,
      prefix,
      retention: { maxRuns: 10_000 },
      scanBudgetMs: 0.001,
    })
    try {
      const query = { search: 'run-00' }
      const first = await hurried.list({ ...query, limit: 50 })
      expect(first.next).toBeDefined()
      expect(first.runs.length).toBeLessThan(10)
      expect(await allPages(hurried, query)).toEqual(await allPages(memory, query))
    } finally {
      await hurried.close()
    }
  })

  it('pages through many runs enqueued in one millisecond (one enqueueMany) to the end, however short the budget', async () => {
    // 450 runs of one score: page 3's cursor sits 200 entries into them. The walk used to start at the top of that
    // millisecond and skip what earlier pages returned; a budget spent on skipping alone ended the page with no runs
    // and no cursor, and paging stopped at 200 of 450.
    const tiedPrefix = uniquePrefix('history-tied')
    const at = Date.now() - 30_000
    const events: ConveyorEvent[] = Array.from({ length: 450 }, (_, n) => ({
      type: 'task.enqueued',
      id: `tied-${String(n).padStart(3, '0')}`,
      task: 'bulk.job',
      queue: 'q0',
      attempt: 1,
      at,
      priority: 0,
      maxAttempts: 1,
    }))
    const hurried = createRedisTaskHistory({ url: REDIS_URL, prefix: tiedPrefix, scanBudgetMs: 0.001 })
    const reference = createMemoryTaskHistory({ retention: { maxRuns: 10_000 } })
    try {
      await hurried.record(events)
      await reference.record(events)
      const pages: string[][] = []
      let cursor: string | undefined
      do {
        const page = await hurried.list({ limit: 100, ...(cursor ? { cursor } : {}) })
        pages.push(page.runs.map((run) => run.id))
        cursor = page.next
      } while (cursor !== undefined && pages.length < 50)
      const listed = pages.flat()
      expect(listed).toHaveLength(450)
      expect(listed).toEqual(await allPages(reference, {}))
    } finally {
      await hurried.close()
      await deletePrefix(raw, tiedPrefix)
    }
  })

  it('refuses a scan budget that is not a number ≥ 0', () => {
    for (const scanBudgetMs of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => createRedisTaskHistory({ url: REDIS_URL, prefix, scanBudgetMs })).toThrow(InvalidOptionsError)
    }
  })

  it('refuses a scan limit that is not an integer ≥ 1 (0 or NaN listed every page empty, without a cursor)', () => {
    for (const scanLimit of [0, -1, 2.5, Number.NaN]) {
      expect(() => createRedisTaskHistory({ url: REDIS_URL, prefix, scanLimit })).toThrow(InvalidOptionsError)
    }
  })
})

/** Every key matching `pattern`, by SCAN (never KEYS on the shared server). */
async function scanKeys(pattern: string): Promise<string[]> {
  const found: string[] = []
  let cursor = '0'
  do {
    const [next, keys] = await raw.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    found.push(...keys)
    cursor = next
  } while (cursor !== '0')
  return found
}

describe('redis task history under an ioredis keyPrefix', () => {
  it('finds what it recorded, by id and by filter, and writes every key under the keyPrefix', async () => {
    // The scripts built key names from an argument, which ioredis does not prefix: runs went outside the keyPrefix
    // (get() found nothing, filtered lists were empty) while the indexes it does prefix were inside.
    const app = uniquePrefix('history-kp')
    const own = uniquePrefix('history-kp-tag')
    const history = createRedisTaskHistory({
      redis: { host: '127.0.0.1', port: 6379, keyPrefix: `${app}:` },
      prefix: own,
    })
    const at = Date.now()
    const base = { id: 'run-1', task: 'send-mail', queue: 'mail', attempt: 1 }
    try {
      await history.record([
        { type: 'task.enqueued', ...base, at, priority: 0, maxAttempts: 1, input: '{"to":"a@b"}' },
        { type: 'task.started', ...base, at: at + 1, deliveryCount: 1, enqueuedAt: at },
        { type: 'task.succeeded', ...base, at: at + 2, durationMs: 1 },
      ])
      expect(await history.get('run-1')).toMatchObject({ id: 'run-1', state: 'succeeded' })
      for (const query of [{}, { queue: 'mail' }, { state: 'succeeded' as const }, { task: 'send-mail' }]) {
        expect((await history.list(query)).runs.map((run) => [run.id, run.state])).toEqual([['run-1', 'succeeded']])
      }
      expect((await scanKeys(`${app}:*`)).length).toBeGreaterThan(0)
      // Nothing outside the keyPrefix.
      expect(await scanKeys(`{${own}:*`)).toEqual([])
    } finally {
      await history.close()
      await deletePrefix(raw, app)
      await deletePrefix(raw, own)
    }
  })
})
