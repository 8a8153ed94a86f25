import { useData } from '../api'
import { Empty, ErrorBox, Loading, PageHeader } from '../components'
import { href, navigate, type Route } from '../router'
import { TaskFilterBar, type TaskFilters } from './tasks/filters'
import { Pager, RunsTable } from './tasks/table'

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

/** Task runs newest first, filtered by state, queue, task, time window and search, paged by the server's cursor. */
export function TasksPage({ route }: { route: Route }) {
  const q = (name: string) => route.query.get(name) ?? ''
  const filters: TaskFilters = {
    state: q('state'),
    queue: q('queue'),
    task: q('task'),
    q: q('q'),
    window: q('window'),
    cursor: q('cursor'),
  }
  const query = new URLSearchParams(Object.entries(filters).filter(([, v]) => v !== '')).toString()
  const { data, error } = useData<{ runs: RunSummary[]; next?: string; local: boolean }>(`tasks?${query}`)
  const go = (over: Partial<TaskFilters>) => navigate(href(['tasks'], { ...filters, cursor: '', ...over }))
  return (
    <div>
      <PageHeader title="Tasks">
        <TaskFilterBar filters={filters} go={go} />
      </PageHeader>
      {data?.local ? (
        <div class="notice">This history holds the runs this dashboard's process saw since it started.</div>
      ) : null}
      <ErrorBox error={error} />
      {!data ? (
        <Loading />
      ) : data.runs.length === 0 ? (
        // A page can end short when few runs match: the server scans a bounded part of the history per request.
        <Empty>
          {data.next ? 'No match among the newest runs scanned: Older → looks further.' : 'No task runs match.'}
        </Empty>
      ) : (
        <RunsTable runs={data.runs} filters={filters} />
      )}
      <Pager filters={filters} next={data?.next} />
    </div>
  )
}
