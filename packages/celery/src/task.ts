import { declareTask, type TaskDeclaration, type TaskOptions } from '@conveyor/core'
import type { CeleryCall } from './protocol/types'

/**
 * Declare a task a Celery worker implements, typed: `celeryTask<[number, number], number>('proj.tasks.add')`, then
 * `app.enqueue(add, { args: [2, 3] }, { delayMs, runAt, expiresInMs, priority, queue })` on an app whose broker is a
 * Celery broker. `delayMs`/`runAt` become Celery's `eta`, `expiresInMs` its `expires`.
 */
export function celeryTask<
  Args extends readonly unknown[] = unknown[],
  Result = unknown,
  Kwargs extends Record<string, unknown> = Record<string, unknown>,
>(
  name: string,
  options: TaskOptions<CeleryCall<Args, Kwargs>> = {},
): TaskDeclaration<CeleryCall<Args, Kwargs>, Result> {
  return declareTask<CeleryCall<Args, Kwargs>, Result>(name, options)
}
