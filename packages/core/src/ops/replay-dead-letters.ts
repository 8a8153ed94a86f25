import type { App } from '../app/app'
import type { DeadLetter } from '../contracts/dead-letter'
import { forgetRecords } from '../results/forget-records'

/** Options of `replayDeadLetters`. */
export interface ReplayDeadLettersOptions {
  /** The app whose broker holds the dead letters, and whose events say they were replayed. */
  readonly app: Pick<App, 'broker' | 'events'> & Partial<Pick<App, 'results'>>
  readonly queue: string
  /** The dead letters to replay (as listed); malformed ones (no envelope) are skipped, as the broker skips them. */
  readonly deadLetters: readonly DeadLetter[]
}

/**
 * Put dead letters back on their queue, saying so in the event stream first: one `task.replayed` per run (attempt 1,
 * no worker), written before the messages reach the broker, so a reader sees it before the run's next
 * `task.started` and the history shows the run pending again rather than dead. The one way the CLI (`conveyor dlq
 * replay`) and the dashboard replay. Resolves with the number the broker replayed (fewer when another process
 * replayed or purged some meanwhile).
 */
export async function replayDeadLetters(options: ReplayDeadLettersOptions): Promise<number> {
  const { app, queue } = options
  const replayable = options.deadLetters.filter((dead) => dead.envelope !== undefined)
  if (replayable.length === 0) return 0
  if (app.events.wants('task.replayed')) {
    const at = Date.now()
    for (const { id, envelope } of replayable) {
      app.events.emit('task.replayed', { id, task: envelope!.task, queue, attempt: 1, at })
    }
    await app.events.barrier()
  }
  // The run's dead-lettered record goes first: `result()` on the replayed run would find it and answer at once with
  // the old outcome (a replay keeps the id), before the run had even started.
  const ids = replayable.map((dead) => dead.id)
  await forgetRecords(app.results, ids)
  return app.broker.deadLetters.replay(queue, { ids })
}
