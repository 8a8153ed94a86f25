import { useState } from 'preact/hooks'
import { useData } from '../api'
import { Badge, Empty, ErrorBox, Loading, PageHeader } from '../components'
import { duration, time } from '../format'
import { href, navigate, type Route } from '../router'

export interface RunSummary {
  id: string
  task: string
  queue: string
  state: string
  attempt: number
  enqueuedAt?: number
  startedAt?: number
  finishedAt?: number
  updatedAt: number
  worker?: string
  priority?: number
  error?: { name: string; message: string }
}

/** Enqueued within: seconds, as the API's `window`. */
const WINDOWS: readonly (readonly [string, string])[] = [
  ['', 'any time'],
  ['900', 'last 15 min'],
  ['3600', 'last hour'],
  ['86400', 'last 24 h'],
  ['604800', 'last 7 days'],
]

const STATES = ['', 'pending', 'started', 'retrying', 'succeeded', 'failed', 'dead-lettered', 'expired', 'revoked']

export function TasksPage({ route }: { route: Route }) {
  const q = (name: string) => route.query.get(name) ?? ''
  const filters = {
    state: q('state'),
    queue: q('queue'),
    task: q('task'),
    q: q('q'),
    window: q('window'),
    cursor: q('cursor'),
  }
  const query = new URLSearchParams(Object.entries(filters).filter(([, v]) => v !== '')).toString()
  const { data, error } = useData<{ runs: RunSummary[]; next?: string; local: boolean }>(`tasks?${query}`)
  const [search, setSearch] = useState(filters.q)
  const go = (over: Record<string, string>) => navigate(href(['tasks'], { ...filters, cursor: '', ...over }))
  return (
    <div>
      <PageHeader title="Tasks">
        <form
          class="filters"
          onSubmit={(e) => {
            e.preventDefault()
            go({ q: search })
          }}
        >
          <select aria-label="state" value={filters.state} onChange={(e) => go({ state: e.currentTarget.value })}>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {s === '' ? 'any state' : s}
              </option>
            ))}
          </select>
          <select
            aria-label="time window"
            value={filters.window}
            onChange={(e) => go({ window: e.currentTarget.value })}
          >
            {WINDOWS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
          {filters.queue ? (
            <button type="button" class="chip" onClick={() => go({ queue: '' })} title="clear queue filter">
              queue: {filters.queue} ×
            </button>
          ) : null}
          {filters.task ? (
            <button type="button" class="chip" onClick={() => go({ task: '' })} title="clear task filter">
              task: {filters.task} ×
            </button>
          ) : null}
          <input
            type="search"
            placeholder="Search id or task name"
            value={search}
            onInput={(e) => setSearch(e.currentTarget.value)}
          />
        </form>
      </PageHeader>
      {data?.local ? (
        <div class="notice">This history holds the runs this dashboard's process saw since it started.</div>
      ) : null}
      <ErrorBox error={error} />
      {!data ? (
        <Loading />
      ) : data.runs.length === 0 ? (
        <Empty>No task runs match.</Empty>
      ) : (
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
            {data.runs.map((run) => (
              <tr key={run.id} data-run={run.id}>
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
            ))}
          </tbody>
        </table>
      )}
      <div class="pager">
        {filters.cursor ? (
          <a class="btn small" href={href(['tasks'], { ...filters, cursor: '' })}>
            ← Newest
          </a>
        ) : null}
        {data?.next ? (
          <a class="btn small" href={href(['tasks'], { ...filters, cursor: data.next })}>
            Older →
          </a>
        ) : null}
      </div>
    </div>
  )
}
