import type { ResultBackend, TaskRecord } from '@conveyor/core'
import { createMemoryResultBackend, type Envelope, type ResultSetOptions } from '@conveyor/core/adapter'
import { describe, expect, it } from 'vitest'
import { useMemoryApps } from './helpers'

/** A memory backend that names a reply address, as the RabbitMQ RPC backend does, and keeps every set's options. */
function routingBackend(headers: Readonly<Record<string, string>> | undefined) {
  const inner = createMemoryResultBackend()
  const sets: { record: TaskRecord; options: ResultSetOptions }[] = []
  let asked = 0
  const backend: ResultBackend = {
    ...inner,
    name: 'routing',
    set(record, options) {
      sets.push({ record, options })
      return inner.set(record, options)
    },
    enqueueHeaders() {
      asked++
      return headers
    },
  }
  return { backend, sets, asked: () => asked }
}

describe('result backends that route records (enqueueHeaders, ResultSetOptions.envelope)', () => {
  const makeApp = useMemoryApps()

  it('merges the backend headers into every enqueued envelope; the backend wins a clash', async () => {
    const { backend, asked } = routingBackend({ 'conveyor-reply-to': 'mine' })
    const app = makeApp({ results: backend })
    const seen: Envelope[] = []
    const echo = app.task('echo', async (_input: number, ctx) => {
      seen.push(ctx.envelope)
      return ctx.envelope.headers ?? null
    })
    const worker = app.worker({ concurrency: 4 })
    await worker.start()

    const plain = await echo.enqueue(1)
    expect(await plain.result({ timeoutMs: 2_000 })).toEqual({ 'conveyor-reply-to': 'mine' })
    const own = await echo.enqueue(2, { headers: { tenant: 'acme', 'conveyor-reply-to': 'copied-from-a-parent' } })
    expect(await own.result({ timeoutMs: 2_000 })).toEqual({ tenant: 'acme', 'conveyor-reply-to': 'mine' })
    const many = await echo.enqueueMany([3, 4], { headers: { tenant: 'acme' } })
    for (const handle of many) {
      expect(await handle.result({ timeoutMs: 2_000 })).toEqual({ tenant: 'acme', 'conveyor-reply-to': 'mine' })
    }
    expect(asked()).toBe(4)
    expect(seen).toHaveLength(4)
  })

  it('leaves headers alone when the backend has none to add', async () => {
    const { backend } = routingBackend(undefined)
    const app = makeApp({ results: backend })
    const echo = app.task('echo', async (_input: null, ctx) => ctx.envelope.headers ?? 'none')
    await app.worker().start()
    expect(await (await echo.enqueue(null)).result({ timeoutMs: 2_000 })).toBe('none')
    const tagged = await echo.enqueue(null, { headers: { tenant: 'acme' } })
    expect(await tagged.result({ timeoutMs: 2_000 })).toEqual({ tenant: 'acme' })
  })

  it("passes the run's envelope to every set the worker makes", async () => {
    const { backend, sets } = routingBackend({ 'conveyor-reply-to': 'mine' })
    const app = makeApp({ results: backend })
    let calls = 0
    const flaky = app.task(
      'flaky',
      async () => {
        calls++
        if (calls === 1) throw new Error('once')
        return 'ok'
      },
      { retry: { maxAttempts: 2 }, resultTtlMs: 5_000 },
    )
    await app.worker().start()
    const job = await flaky.enqueue(null)
    expect(await job.result({ timeoutMs: 2_000 })).toBe('ok')
    expect(sets.map((s) => `${s.record.state}@${s.record.attempt}`)).toEqual([
      'started@1',
      'retrying@1',
      'started@2',
      'succeeded@2',
    ])
    for (const { record, options } of sets) {
      expect(options.ttlMs).toBe(5_000)
      expect(options.envelope).toMatchObject({
        id: job.id,
        task: 'flaky',
        attempt: record.attempt,
        headers: { 'conveyor-reply-to': 'mine' },
      })
    }
  })
})
