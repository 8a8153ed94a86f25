import { InvalidOptionsError } from '../errors/invalid-options-error'
import type { TaskDeclaration, TaskHandler, TaskOptions } from '../task/task'
import type { RegisteredTask } from '../worker/runtime'
import type { AppCore } from './app-core'
import { type TaskSettings, taskSettings } from './task-settings'

/** Add (or complete) a task in the app's registry; a second, different handler for one name is refused. */
export function registerTask(
  core: AppCore,
  name: string,
  taskOptions: TaskOptions<unknown>,
  handler?: TaskHandler<unknown, unknown>,
): RegisteredTask {
  const existing = core.registry.get(name)
  if (existing?.handler && handler && existing.handler !== handler) {
    throw new InvalidOptionsError(`task "${name}" is already implemented in this app; task names must be unique`)
  }
  const entry: RegisteredTask = {
    name,
    options: taskOptions,
    settings: taskSettings(name, taskOptions, core.defaults),
    ...((handler ?? existing?.handler) ? { handler: handler ?? existing?.handler } : {}),
  }
  core.registry.set(name, entry)
  return entry
}

/** The registered task by name, registering a declaration seen for the first time; undefined for an unknown name. */
export function knownTask(
  core: AppCore,
  name: string,
  declaration: TaskDeclaration<unknown, unknown> | undefined,
): RegisteredTask | undefined {
  return core.registry.get(name) ?? (declaration && registerTask(core, name, declaration.options))
}

/** A task's settings, or the app's defaults for a task it does not know. */
export function settingsOf(core: AppCore, name: string, known: RegisteredTask | undefined): TaskSettings {
  return known?.settings ?? taskSettings(name, {}, core.defaults)
}

/** Where the tasks this process implements are published, as far as their names tell (predicate routes need input). */
export function implementedQueues(core: AppCore): string[] {
  const queues = new Set<string>()
  for (const entry of core.registry.values()) {
    if (entry.handler) queues.add(entry.settings.queue ?? core.route(entry.name, undefined)?.queue ?? core.defaultQueue)
  }
  return queues.size > 0 ? [...queues] : [core.defaultQueue]
}
