import { spawnWorker } from '../children/spawn'
import { now, waitFor } from '../util/time'
import { alternate, type Measurement, type ScenarioContext } from './context'

/**
 * Crash recovery: a worker process takes a job and hangs in the handler; a second worker (this process) is
 * consuming the same queue; the first gets SIGKILL. Measured: seconds from the kill to the job's handler starting
 * again in the second worker. Adapter and library defaults throughout (Conveyor Redis: 10 s lease; BullMQ: 30 s
 * lock, 30 s stalled check; RabbitMQ: the channel closes with the socket). The raw lease queue is left out (its
 * recovery is whatever lease it is given).
 */
export async function crashScenario(ctx: ScenarioContext): Promise<Measurement[]> {
  // BullMQ's recovery is its defaults (30 s lock, 30 s stalled check: 60–90 s, 90 s measured) and takes that long to
  // measure: only when `--only` names it.
  const systems = ctx.systems.filter(
    (s) => s.id !== 'raw-redis' && s.broker !== 'memory' && (s.id !== 'bullmq' || ctx.named.includes('bullmq')),
  )
  return alternate(
    ctx,
    'crash',
    'SIGKILL mid-task → task starts in another worker',
    systems,
    ctx.sizes.fixedRuns,
    [{ metric: 'recovery', unit: 's', higherIsBetter: false }],
    async (instance, system) => {
      const child = spawnWorker([system.id, instance.namespace, 'crash'])
      try {
        await child.next('ready', 60_000)
        const started = child.next('started', 30_000)
        await instance.enqueue({ i: 1, t: now() })
        const { pid } = await started
        let restartedAt = 0
        const consumer = await instance.consume(1, {
          onStart: () => {
            restartedAt ||= now()
          },
          onDone: () => undefined,
        })
        try {
          const killedAt = now()
          process.kill(Number(pid), 'SIGKILL')
          await waitFor(() => restartedAt > 0, 'the task to start again', 150_000, 5)
          return { recovery: (restartedAt - killedAt) / 1000 }
        } finally {
          await consumer.stop()
        }
      } finally {
        child.kill('SIGKILL')
        await child.exited
      }
    },
  )
}
