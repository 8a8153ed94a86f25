import { useData } from '../api'
import { Badge, Empty, ErrorBox, Loading, PageHeader } from '../components'
import { ago, bytes, count, duration } from '../format'

interface Beat {
  id: string
  host: string
  pid: number
  pool?: string
  queues: string[]
  state: string
  active: number
  processed: number
  concurrency?: number
  rssBytes?: number
  startedAt: number
  at: number
}

export function WorkersPage() {
  const { data, error } = useData<{ workers: Beat[]; configured: boolean; scope?: string; now: number }>('workers')
  return (
    <div>
      <PageHeader title="Workers" />
      <ErrorBox error={error} />
      {!data ? (
        <Loading />
      ) : !data.configured ? (
        <Empty>
          No coordination store: workers publish heartbeats to one. Pass <code>coordination</code> to the dashboard (the
          app module's export for <code>conveyor dashboard</code>).
        </Empty>
      ) : data.workers.length === 0 ? (
        <Empty>No worker online. A worker that stops beating drops out after its heartbeat TTL.</Empty>
      ) : (
        <table class="table">
          <thead>
            <tr>
              <th>Worker</th>
              <th>Pool</th>
              <th>Queues</th>
              <th>State</th>
              <th class="num">Active</th>
              <th class="num">Concurrency</th>
              <th class="num">Processed</th>
              <th class="num">RSS</th>
              <th class="num">Up</th>
              <th class="num">Last heartbeat</th>
            </tr>
          </thead>
          <tbody>
            {data.workers.map((w) => (
              <tr key={w.id} data-worker={w.id}>
                <td class="mono">{w.id}</td>
                <td>{w.pool ?? '—'}</td>
                <td class="mono">{w.queues.join(', ')}</td>
                <td>
                  <Badge state={w.state} />
                </td>
                <td class="num">{count(w.active)}</td>
                <td class="num">{w.concurrency === undefined ? '—' : count(w.concurrency)}</td>
                <td class="num">{count(w.processed)}</td>
                <td class="num">{bytes(w.rssBytes)}</td>
                <td class="num">{duration(data.now - w.startedAt)}</td>
                <td class="num">{ago(w.at, data.now)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  )
}
