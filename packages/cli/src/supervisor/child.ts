import { ChildLifecycle } from './child-lifecycle'
import { ChildHardLimits } from './child-limits'
import { SupervisorLink } from './child-link'
import { type StartedChild, startChild } from './child-start'
import { CHILD_CONFIG_ENV, type ChildConfig } from './messages'

/**
 * The worker process a supervisor forks: load the app module, run one worker on the pool's queues, report to the
 * supervisor over IPC (ready, each task's start and end for hard time limits, counters), and stop when told.
 *
 * The parts live beside it: the IPC link and signals (child-link.ts), hard time limits (child-limits.ts), start-up
 * and the reporting hooks (child-start.ts), stats, recycling and stopping (child-lifecycle.ts).
 */
export async function runChild(config: ChildConfig): Promise<void> {
  const limits = new ChildHardLimits(config)
  // Listen before start-up: a stop may arrive while the app module loads; it is acted on once the worker exists.
  const link = new SupervisorLink((kill) => limits.noteKill(kill))
  link.listen()
  const lifecycle = new ChildLifecycle(config, link)
  let started: StartedChild
  try {
    started = await startChild(config, { link, limits, onSettled: () => lifecycle.checkRecycle() })
  } catch (error) {
    if (link.stopRequested) {
      link.exit(0)
      return
    }
    const message = String((error as Error)?.message ?? error).split('\n')[0] ?? 'unknown error'
    link.send({ type: 'fatal', message: message.replace(/^\[conveyor\] (\[cli\] )?/, '') })
    link.exit(1)
    return
  }
  lifecycle.run(started)
}

/** Entry point when this file is the forked process. */
export function childMain(): void {
  const raw = process.env[CHILD_CONFIG_ENV]
  if (raw === undefined) {
    process.stderr.write('[conveyor] [cli] this is the worker child entry; run `conveyor worker` instead\n')
    process.exit(2)
  }
  void runChild(JSON.parse(raw) as ChildConfig)
}
