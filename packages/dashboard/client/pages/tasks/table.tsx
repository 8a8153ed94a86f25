import { Badge } from '../../components'
import { duration, time } from '../../format'
import { href } from '../../router'
import type { RunSummary } from '../tasks'
import type { TaskFilters } from './filters'

/** One page of runs; a task name links to the same filters narrowed to that task. */
export function RunsTable({ runs, filters }: { runs: readonly RunSummary[]; filters: TaskFilters }) {
  return (
    <table class="table">
      <thead>
        <tr>
          <th>Id</th>
          <th>Task</th>
          <th>Queue</th>
          <th>State</th>
          <th class="num">Attempt</th>
          <th>Enqueued</th>
          <th class="num">Wait</th>
          <th class="num">Run</th>
          <th>Error</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <RunRow key={run.id} run={run} filters={filters} />
        ))}
      </tbody>
    </table>
  )
}

function RunRow({ run, filters }: { run: RunSummary; filters: TaskFilters }) {
  return (
    <tr data-run={run.id}>
      <td class="mono">
        <a href={href(['tasks', run.id])}>{run.id.length > 14 ? `${run.id.slice(0, 14)}…` : run.id}</a>
      </td>
      <td class="mono">
        <a href={href(['tasks'], { ...filters, cursor: '', task: run.task })}>{run.task}</a>
      </td>
      <td class="mono">{run.queue}</td>
      <td>
        <Badge state={run.state} />
      </td>
      <td class="num">{run.attempt}</td>
      <td>{time(run.enqueuedAt)}</td>
      <td class="num">
        {run.enqueuedAt && run.startedAt ? duration(Math.max(0, run.startedAt - run.enqueuedAt)) : '—'}
      </td>
      <td class="num">{run.startedAt && run.finishedAt ? duration(run.finishedAt - run.startedAt) : '—'}</td>
      <td class="error-cell" title={run.error?.message ?? ''}>
        {run.error && run.state !== 'succeeded' ? run.error.message.split('\n')[0] : ''}
      </td>
    </tr>
  )
}

/** Back to the newest page, and on to older runs when the server gave a cursor. */
export function Pager({ filters, next }: { filters: TaskFilters; next: string | undefined }) {
  return (
    <div class="pager">
      {filters.cursor ? (
        <a class="btn small" href={href(['tasks'], { ...filters, cursor: '' })}>
          ← Newest
        </a>
      ) : null}
      {next ? (
        <a class="btn small" href={href(['tasks'], { ...filters, cursor: next })}>
          Older →
        </a>
      ) : null}
    </div>
  )
}
