import type { App, TaskRecord, TaskState, WorkflowMember } from '@conveyor/core'

/** Members listed at most in a task detail (a 10,000-member group is summed up by state instead). */
export const MEMBERS_SHOWN = 200

/** What the task page shows of a workflow: its members' states, counted, and the first members. */
export interface WorkflowView {
  /** The workflow's own record (`pending` until it ends: it is written once, when the workflow settles). */
  readonly record: TaskRecord
  readonly total: number
  readonly states: Partial<Record<TaskState, number>>
  readonly members: readonly WorkflowMember[]
}

/**
 * The workflow `id` names, when it names one and the app's result backend keeps workflows; undefined otherwise (a
 * plain run, or no workflow support). One plan read, then one record read per member (`WorkflowHandle.record`).
 */
export async function workflowView(app: App, id: string): Promise<WorkflowView | undefined> {
  if (app.results?.workflows === undefined) return undefined
  const handle = await app.workflow(id).catch(() => undefined)
  if (handle === undefined) return undefined
  const { members, ...record } = await handle.record()
  const states: Partial<Record<TaskState, number>> = {}
  for (const member of members) states[member.state] = (states[member.state] ?? 0) + 1
  return { record, total: members.length, states, members: members.slice(0, MEMBERS_SHOWN) }
}
