import { WorkflowEngine } from '../workflow/engine'
import type { AppCore } from './app-core'
import { prepareEnqueue } from './prepare-enqueue'
import { knownTask, settingsOf } from './task-registry'

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
    build: (task, input, o) => prepareEnqueue(core, task, input, o, undefined).then((prepared) => prepared.envelope),
    async publish(envelopes) {
      await Promise.all([...new Set(envelopes.map((e) => e.queue))].map(core.declareQueue))
      if (broker.publishMany) await broker.publishMany(envelopes)
      else await Promise.all(envelopes.map((e) => broker.publish(e)))
    },
  })
}
