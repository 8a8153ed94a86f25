import { createApp, InvalidOptionsError } from '@conveyor/core'
import { describe, expect, it } from 'vitest'

// Node runs a setTimeout longer than 2³¹−1 ms (about 24.8 days), or of Infinity, after 1 ms.
const MONTH = 30 * 86_400_000

describe('time spans past what setTimeout holds', () => {
  it('result({ timeoutMs: Infinity }) and a month wait for the result instead of timing out at once', async () => {
    const app = createApp({ broker: 'memory://', logger: false })
    const double = app.task('double', async (n: number) => n * 2)
    await app.worker().start()
    try {
      const forever = await double.enqueue(1, { delayMs: 150 })
      const month = await double.enqueue(2, { delayMs: 150 })
      expect(await forever.result({ timeoutMs: Number.POSITIVE_INFINITY })).toBe(2)
      expect(await month.result({ timeoutMs: MONTH })).toBe(4)
    } finally {
      await app.close()
    }
  })

  it('a task time limit past 24.8 days is refused when the task is defined (every attempt timed out at once)', () => {
    const app = createApp({ broker: 'memory://', logger: false })
    expect(() => app.task('slow', async () => 1, { timeoutMs: MONTH })).toThrow(InvalidOptionsError)
    expect(() => app.task('slower', async () => 1, { hardTimeoutMs: MONTH })).toThrow(/at most 2147483647 ms/)
    expect(() => createApp({ broker: 'memory://', logger: false, defaults: { timeoutMs: MONTH } })).toThrow(
      InvalidOptionsError,
    )
    expect(() => app.task('fine', async () => 1, { timeoutMs: 20 * 86_400_000 })).not.toThrow()
    return app.close()
  })

  it('the memory broker holds a message due in a month without spinning', async () => {
    const warnings: string[] = []
    const onWarning = (warning: Error) => warnings.push(warning.name)
    process.on('warning', onWarning)
    const app = createApp({ broker: 'memory://', logger: false })
    const renew = app.task('renew', async () => 'ran')
    await app.worker().start()
    try {
      await renew.enqueue(null, { runAt: new Date(Date.now() + MONTH) })
      // A delay past 24.8 days was re-armed every millisecond (about 12% of a core idle), each with this warning.
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(warnings.filter((name) => name === 'TimeoutOverflowWarning')).toEqual([])
      expect(await app.broker.stats('default')).toMatchObject({ delayed: 1, ready: 0 })
    } finally {
      process.off('warning', onWarning)
      await app.close()
    }
  })

  it('worker.stop({ timeoutMs }) past 24.8 days lets running tasks finish instead of giving them back at once', async () => {
    const app = createApp({ broker: 'memory://', logger: false })
    let finished = 0
    let aborted = 0
    const slow = app.task('slow', async (_: null, ctx) => {
      await new Promise((resolve) => setTimeout(resolve, 300))
      if (ctx.signal.aborted) aborted++
      else finished++
      return 'done'
    })
    const worker = app.worker()
    await worker.start()
    try {
      const started = new Promise<void>((resolve) => app.events.once('task.started', () => resolve()))
      const run = await slow.enqueue(null)
      await started
      await worker.stop({ timeoutMs: MONTH })
      expect({ finished, aborted }).toEqual({ finished: 1, aborted: 0 })
      expect(await run.result({ timeoutMs: 1000 })).toBe('done')
    } finally {
      await app.close()
    }
  })
})
