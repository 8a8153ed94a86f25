import { createApp, fixed, UnrecoverableError } from '@conveyor/core'
import { createMemoryResultBackend } from '@conveyor/core/adapter'
import { eventually } from '@conveyor/test-support'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, makeBroker, uniquePrefix } from './helpers'

for (const queueType of ['classic', 'quorum'] as const) {
  describe(`an app on rabbitmq (${queueType})`, () => {
    let prefix = ''
    afterEach(async () => cleanup(prefix))

    it('runs tasks, retries with backoff and dead-letters through the broker', async () => {
      prefix = uniquePrefix(`app-${queueType}`)
      const broker = makeBroker(prefix, { queueType })
      const app = createApp({ broker, results: createMemoryResultBackend(), logger: false })
      let flaky = 0
      const add = app.task('math.add', async (input: { a: number; b: number }) => input.a + input.b, { queue: 'jobs' })
      const shaky = app.task(
        'shaky',
        async () => {
          flaky++
          if (flaky < 3) throw new Error(`flake ${flaky}`)
          return 'ok'
        },
        { queue: 'jobs', retry: { maxAttempts: 5, backoff: fixed(120) } },
      )
      const doomed = app.task(
        'doomed',
        async () => {
          throw new UnrecoverableError('no way')
        },
        { queue: 'jobs' },
      )
      const worker = app.worker({ queues: ['jobs'], concurrency: 4 })
      await worker.start()
      expect(await (await add.enqueue({ a: 2, b: 3 })).result({ timeoutMs: 10_000 })).toBe(5)
      const started = Date.now()
      expect(await (await shaky.enqueue(null)).result({ timeoutMs: 10_000 })).toBe('ok')
      expect(Date.now() - started).toBeGreaterThanOrEqual(240)
      const job = await doomed.enqueue(null)
      await expect(job.result({ timeoutMs: 10_000 })).rejects.toThrow()
      await eventually(async () => (await broker.deadLetters.count('jobs')) === 1)
      const [dead] = await broker.deadLetters.list('jobs')
      expect(dead).toMatchObject({ id: job.id, reason: 'unrecoverable', error: { message: '[conveyor] no way' } })
      await worker.stop({ timeoutMs: 1_000 })
      await app.close()
    })
  })
}
