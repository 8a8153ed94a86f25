import { Badge } from '../components'
import { pretty } from '../format'
import { href } from '../router'

/** A workflow's members as the task API lists them (the first ones of a large group, all counted by state). */
export interface WorkflowView {
  total: number
  states: Record<string, number>
  members: { id: string; task: string; state: string; attempt?: number; progress?: unknown }[]
}

/** The members section of a workflow's task page: states counted, then each member listed (linked). */
export function WorkflowMembers({ workflow }: { workflow: WorkflowView }) {
  const counts = Object.entries(workflow.states)
  return (
    <section data-testid="workflow-members">
      <h2 class="section">Workflow members</h2>
      <p>
        {workflow.total} members:{' '}
        {counts.map(([state, n]) => (
          <span key={state}>
            <Badge state={state} /> {n}{' '}
          </span>
        ))}
        {workflow.members.length < workflow.total ? (
          <span class="muted">(the first {workflow.members.length} listed)</span>
        ) : null}
      </p>
      <table class="table">
        <thead>
          <tr>
            <th>Member</th>
            <th>Task</th>
            <th>State</th>
            <th class="num">Attempt</th>
            <th>Progress</th>
          </tr>
        </thead>
        <tbody>
          {workflow.members.map((m) => (
            <tr key={m.id}>
              <td class="mono">
                <a href={href(['tasks', m.id])}>{m.id}</a>
              </td>
              <td class="mono">{m.task}</td>
              <td>
                <Badge state={m.state} />
              </td>
              <td class="num">{m.attempt ?? '—'}</td>
              <td class="mono">{m.progress !== undefined ? pretty(m.progress) : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}
