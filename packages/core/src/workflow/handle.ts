import type { ResultOptions } from '../app/options'
import type { ErrorInfo } from '../contracts/dead-letter'
import type { JsonValue } from '../contracts/json'
import type { ResultBackend, TaskRecord, TaskState } from '../contracts/result-backend'
import { TaskFailedError } from '../errors/task-failed-error'
import type { WorkflowEngine } from './engine'
import { WORKFLOW_TASK } from './engine'
import type { PlanIndex } from './plan'

/** One member of a workflow as its record shows it. */
export interface WorkflowMember {
  /** The run id, `<workflow id>.<n>`. */
  readonly id: string
  readonly task: string
  /** `pending` until a worker wrote something (also for steps not published yet). */
  readonly state: TaskState
  readonly attempt?: number
  readonly error?: ErrorInfo
  readonly progress?: JsonValue
}

/** A workflow's record: its own state and result, and every member's state. */
export interface WorkflowRecord extends TaskRecord {
  readonly members: readonly WorkflowMember[]
}

/** A handle on a started workflow. */
export interface WorkflowHandle<Output> {
  readonly id: string
  /** Resolves with the workflow's output; rejects with `TaskFailedError` carrying the failed member's error. */
  result(options?: ResultOptions): Promise<Output>
  /** The workflow's record with its members' states (one result-backend read per member). */
  record(): Promise<WorkflowRecord>
  /** Stop the workflow: members that have not started are not run; the record ends `revoked`. */
  revoke(): Promise<void>
}

export function workflowHandle<Output>(
  index: PlanIndex,
  engine: WorkflowEngine,
  results: ResultBackend,
  ready: () => Promise<void>,
): WorkflowHandle<Output> {
  const id = index.id
  return {
    id,
    async result(options: ResultOptions = {}) {
      await ready()
      const record = await results.wait(id, {
        timeoutMs: options.timeoutMs ?? 30_000,
        ...(options.signal ? { signal: options.signal } : {}),
      })
      if (record.state !== 'succeeded') throw new TaskFailedError(record)
      return record.result as Output
    },
    async record() {
      await ready()
      const tasks = index.tasks()
      const [own, ...runs] = await Promise.all([results.get(id), ...tasks.map((t) => results.get(index.runId(t.n)))])
      const members = tasks.map((task, i): WorkflowMember => {
        const run = runs[i]
        if (run === undefined) return { id: index.runId(task.n), task: task.task, state: 'pending' }
        return {
          id: run.id,
          task: run.task,
          state: run.state,
          attempt: run.attempt,
          ...(run.error ? { error: run.error } : {}),
          ...(run.progress !== undefined ? { progress: run.progress } : {}),
        }
      })
      const base: TaskRecord = own ?? {
        id,
        task: WORKFLOW_TASK,
        queue: '',
        state: 'pending',
        attempt: 1,
        enqueuedAt: index.plan.at,
        updatedAt: index.plan.at,
      }
      return { ...base, members }
    },
    async revoke() {
      await ready()
      await engine.revoke(id)
    },
  }
}
