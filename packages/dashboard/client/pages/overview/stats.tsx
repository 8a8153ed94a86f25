import { Stat } from '../../components'
import { count, duration, rate } from '../../format'
import type { QueueRow } from '../queues'
import type { OverviewSeries } from './series'

/** The figures across the top: waiting, in flight, dead, workers, done per second, failures, oldest waiting. */
export function OverviewStats({
  queues,
  workers,
  series,
}: {
  queues: readonly QueueRow[]
  workers: number
  series: OverviewSeries
}) {
  const sum = (pick: (q: QueueRow) => number | null) => queues.reduce((t, q) => t + (pick(q) ?? 0), 0)
  const oldest = Math.max(0, ...queues.map((q) => q.oldestAgeMs ?? 0))
  const dead = sum((q) => q.dead)
  return (
    <div class="stats">
      <Stat label="waiting" value={count(sum((q) => q.ready) + sum((q) => q.delayed))} />
      <Stat label="in flight" value={count(sum((q) => q.inFlight))} />
      <Stat label="dead letters" value={count(dead)} tone={dead > 0 ? 'warn' : ''} />
      <Stat label="workers online" value={count(workers)} />
      <Stat label="done, last minute" value={rate(series.done)} />
      <Stat label="failed, last hour" value={count(series.failedHour)} tone={series.failedHour > 0 ? 'bad' : ''} />
      <Stat label="oldest waiting" value={oldest > 0 ? duration(oldest) : '—'} />
    </div>
  )
}
