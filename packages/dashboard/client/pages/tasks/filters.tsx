import { useState } from 'preact/hooks'

/** Enqueued within: seconds, as the API's `window`. */
const WINDOWS: readonly (readonly [string, string])[] = [
  ['', 'any time'],
  ['900', 'last 15 min'],
  ['3600', 'last hour'],
  ['86400', 'last 24 h'],
  ['604800', 'last 7 days'],
]

const STATES = ['', 'pending', 'started', 'retrying', 'succeeded', 'failed', 'dead-lettered', 'expired', 'revoked']

/** The tasks page's filters, as its URL holds them ('' = not set). */
export type TaskFilters = {
  state: string
  queue: string
  task: string
  q: string
  window: string
  cursor: string
}

/** State and time-window choosers, chips clearing the queue and task filters, and the search box. */
export function TaskFilterBar({
  filters,
  go,
}: {
  filters: TaskFilters
  /** Navigate to the page with these filters changed (back to the newest page). */
  go: (over: Partial<TaskFilters>) => void
}) {
  const [search, setSearch] = useState(filters.q)
  return (
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
      <select aria-label="time window" value={filters.window} onChange={(e) => go({ window: e.currentTarget.value })}>
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
  )
}
