import { Badge } from '../../components'
import { duration, pretty, time } from '../../format'
import { href } from '../../router'
import type { TaskView } from './types'

/** The facts list at the top of a task page: id, state, queue, attempt, times, progress and workflow links. */
export function TaskFacts({ view }: { view: TaskView }) {
  const { id, run, record } = view
  return (
    <dl class="facts">
      <dt>Id</dt>
      <dd class="mono">{id}</dd>
      <dt>State</dt>
      <dd>
        <Badge state={view.state} /> {view.revoked ? <Badge state="revoked" /> : null}
        {view.deadReason ? <span class="muted"> reason: {view.deadReason}</span> : null}
      </dd>
      <dt>Queue</dt>
      <dd class="mono">{run ? <a href={href(['tasks'], { queue: run.queue })}>{run.queue}</a> : '—'}</dd>
      <dt>Attempt</dt>
      <dd>
        {record?.attempt ?? run?.attempt ?? '—'}
        {run?.maxAttempts ? <span class="muted"> of {run.maxAttempts}</span> : null}
        {run?.deliveryCount && run.deliveryCount > 1 ? (
          <span class="muted"> (delivered {run.deliveryCount} times)</span>
        ) : null}
      </dd>
      <TaskTimes view={view} />
      {record?.progress !== undefined ? (
        <>
          <dt>Progress</dt>
          <dd class="mono" data-testid="progress">
            {pretty(record.progress)}
          </dd>
        </>
      ) : null}
      <RunLink label="Parent" id={run?.parentId} />
      <RunLink label="Root" id={run?.rootId} />
    </dl>
  )
}

/** Enqueued, started (and the wait), finished (and the run time). */
function TaskTimes({ view }: { view: TaskView }) {
  const { run, enqueuedAt, startedAt, finishedAt } = view
  return (
    <>
      <dt>Enqueued</dt>
      <dd>{time(enqueuedAt)}</dd>
      <dt>Started</dt>
      <dd>
        {time(startedAt)}
        {run?.waitMs !== undefined ? (
          <span class="muted"> (waited {duration(run.waitMs)})</span>
        ) : enqueuedAt && startedAt ? (
          <span class="muted"> (waited {duration(startedAt - enqueuedAt)})</span>
        ) : null}
      </dd>
      <dt>Finished</dt>
      <dd>
        {time(finishedAt)}
        {startedAt && finishedAt && finishedAt >= startedAt ? (
          <span class="muted"> (ran {duration(finishedAt - startedAt)})</span>
        ) : null}
      </dd>
    </>
  )
}

function RunLink({ label, id }: { label: string; id: string | undefined }) {
  if (!id) return null
  return (
    <>
      <dt>{label}</dt>
      <dd class="mono">
        <a href={href(['tasks', id])}>{id}</a>
      </dd>
    </>
  )
}
