import { WorkflowEngine } from '../workflow/engine'
import type { AppCore } from './app-core'
import { prepareEnqueue } from './prepare-enqueue'
import { knownTask, settingsOf } from './task-registry'
import { traceSend } from './trace-send'

/** The app's workflow engine: it places, builds and publishes members the way `enqueue` does. */
export function createAppWorkflows(core: AppCore): WorkflowEngine {
  const { broker } = core
  return new WorkflowEngine({
    results: core.results,
    logger: core.logger,
    place: ({ task, declaration }) => {
      const settings = settingsOf(core, task, knownTask(core, task, declaration))
      const routed = core.route(task, undefined)
      const priority = settings.priority ?? routed?.priority
      return {
        queue: settings.queue ?? routed?.queue ?? core.defaultQueue,
        ...(priority !== undefined ? { priority } : {}),
      }
    },
    build: (task, input, o) => prepareEnqueue(core, task, input, o).then((prepared) => prepared.envelope),
    async publish(given) {
      await Promise.all([...new Set(given.map((e) => e.queue))].map(core.declareQueue))
      const sending = traceSend(core, given)
      const envelopes = sending?.envelopes ?? given
      try {
        if (broker.publishMany) await broker.publishMany(envelopes)
        else await Promise.all(envelopes.map((e) => broker.publish(e)))
        sending?.end()
      } catch (error) {
        sending?.end(error)
        throw error
      }
    },
  })
}
