import { createApp } from '@conveyor/core'
import { expect } from 'vitest'
import type { Harness } from '../harness/harness'
import { TIMING } from '../harness/harness'
import { eventually, sleep } from '../harness/wait'

/**
 * A task that runs for several lease periods, with a second worker process waiting on the same queue: it runs
 * once, to the end, and is acked — never handed to the other worker while its own is alive.
 */
export async function longTaskRunsOnce(h: Harness): Promise<void> {
  const queue = h.queue()
  const runs: string[] = []
  const apps = [await h.broker(), await h.broker()].map((broker, n) => {
    const app = createApp({ broker, results: false, logger: false, defaults: { queue } })
    app.task('conformance.long', async () => {
      runs.push(`worker ${n} started`)
      await sleep(h.ms(TIMING.lease * 4))
      runs.push(`worker ${n} finished`)
    })
    return app
  })
  try {
    await apps[0]!.worker({ queues: [queue], concurrency: 1 }).start()
    await apps[0]!.enqueue('conformance.long', null)
    await eventually(
      async () => runs.length,
      (n) => n === 1,
      h.ms(TIMING.prompt),
      'the long task to start',
    )
    await apps[1]!.worker({ queues: [queue], concurrency: 1 }).start()
    await eventually(
      async () => runs.filter((r) => r.endsWith('finished')).length,
      (n) => n === 1,
      h.ms(TIMING.lease * 4 + TIMING.prompt),
      'the long task to finish',
    )
    // A lease after it finished: a copy handed out while it ran (or its ack lost) would have started by now.
    await sleep(h.ms(TIMING.lease + TIMING.quiet))
    expect(runs).toEqual(['worker 0 started', 'worker 0 finished'])
    const stats = await apps[0]!.broker.stats(queue)
    expect(stats).toMatchObject({ ready: 0, inFlight: 0, dead: 0 })
  } finally {
    await Promise.all(apps.map((app) => app.close({ timeoutMs: h.ms(TIMING.prompt) })))
  }
}
