import { useData } from '../api'
import { Empty, ErrorBox, Loading, PageHeader } from '../components'
import { ago, interval, time } from '../format'

interface Schedule {
  name: string
  task: string
  cron?: string
  timezone?: string
  everyMs?: number
  misfire: string
  lastTick?: number
  nextTicks: number[]
}

export function SchedulesPage() {
  const { data, error } = useData<{ schedules: Schedule[]; configured: boolean; shared?: boolean }>('schedules')
  return (
    <div>
      <PageHeader title="Schedules" />
      <ErrorBox error={error} />
      {!data ? (
        <Loading />
      ) : !data.configured ? (
        <Empty>
          No schedules given to the dashboard: pass <code>schedules</code> (the app module's export for{' '}
          <code>conveyor dashboard</code>).
        </Empty>
      ) : (
        <>
          {data.shared ? null : (
            <div class="notice">No shared coordination store: "last fired" is unknown to this process.</div>
          )}
          <table class="table">
            <thead>
              <tr>
                <th>Schedule</th>
                <th>Task</th>
                <th>When</th>
                <th>Misfire</th>
                <th>Last fired</th>
                <th>Next runs</th>
              </tr>
            </thead>
            <tbody>
              {data.schedules.map((s) => (
                <tr key={s.name}>
                  <td class="mono">{s.name}</td>
                  <td class="mono">{s.task}</td>
                  <td class="mono">
                    {s.cron !== undefined ? `${s.cron} (${s.timezone})` : `every ${interval(s.everyMs)}`}
                  </td>
                  <td>{s.misfire}</td>
                  <td title={s.lastTick ? new Date(s.lastTick).toISOString() : ''}>{ago(s.lastTick)}</td>
                  <td>
                    {s.nextTicks.slice(0, 3).map((t) => (
                      <div key={t} title={new Date(t).toISOString()}>
                        {time(t)} <span class="muted">({ago(t)})</span>
                      </div>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  )
}
