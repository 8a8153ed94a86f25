import { createApp, exponential, UnrecoverableError } from '@conveyor/core'
import { expect, it } from 'vitest'

it('runs a task end to end on the memory broker', async () => {
  const app = createApp({ broker: 'memory://', logger: false })
  const add = app.task('math.add', async (input: { a: number; b: number }) => input.a + input.b)
  let calls = 0
  const flaky = app.task(
    'flaky',
    async () => {
      calls++
      if (calls < 3) throw new Error(`boom ${calls}`)
      return 'ok'
    },
    { retry: { maxAttempts: 5, backoff: exponential({ baseMs: 10, jitter: 'none' }) } },
  )
  const doomed = app.task('doomed', async () => {
    throw new UnrecoverableError('nope')
  })
  const worker = app.worker({ concurrency: 4 })
  await worker.start()
  const job = await add.enqueue({ a: 2, b: 3 })
  expect(await job.result({ timeoutMs: 2000 })).toBe(5)
  expect(await (await flaky.enqueue(null as never)).result({ timeoutMs: 2000 })).toBe('ok')
  const d = await doomed.enqueue(undefined as never).catch((e) => e)
  expect(d).toBeInstanceOf(Error)
  const d2 = await doomed.enqueue(null as never)
  await expect(d2.result({ timeoutMs: 2000 })).rejects.toThrow(/dead-lettered/)
  const dead = await app.broker.deadLetters.list('default')
  expect(dead).toHaveLength(1)
  expect(dead[0]?.reason).toBe('unrecoverable')
  await app.close()
})
