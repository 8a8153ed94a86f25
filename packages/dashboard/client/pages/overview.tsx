import { useMemo } from 'preact/hooks'
import { useData } from '../api'
import { Chart, ErrorBox, Loading, PageHeader, Stat } from '../components'
import { count, duration, rate } from '../format'
import { type QueueRow, QueueTable } from './queues'

interface Sample {
  at: number
  seconds: number
  enqueued: number
  succeeded: number
  retried: number
  failed: number
  deadLettered: number
  depth: Record<string, number>
  oldestAgeMs: Record<string, number>
}

interface Overview {
  queues: QueueRow[]
  workers: number
  samples: Sample[]
  now: number
}

/** Per-queue series for the `max` queues with the highest values over the hour. */
function perQueue(samples: Sample[], pick: (s: Sample) => Record<string, number>, max = 6) {
  const peak = new Map<string, number>()
  for (const sample of samples) {
    for (const [name, value] of Object.entries(pick(sample))) peak.set(name, Math.max(peak.get(name) ?? 0, value))
  }
  const names = [...peak.keys()].sort((a, b) => peak.get(b)! - peak.get(a)! || (a < b ? -1 : 1)).slice(0, max)
  return { names, data: names.map((name) => samples.map((s) => pick(s)[name] ?? null)) }
}

export function OverviewPage() {
  const { data, error } = useData<Overview>('overview')
  const charts = useMemo(() => {
    if (!data) return undefined
    const s = data.samples
    const x = s.map((p) => p.at / 1000)
    const depth = perQueue(s, (p) => p.depth)
    const oldest = perQueue(s, (p) => p.oldestAgeMs)
    const last = s.slice(-12)
    const secs = last.reduce((t, p) => t + p.seconds, 0) || 1
    return {
      x,
      throughput: [x, s.map((p) => p.succeeded / p.seconds), s.map((p) => p.enqueued / p.seconds)],
      failures: [
        x,
        s.map((p) => p.retried / p.seconds),
        s.map((p) => p.failed / p.seconds),
        s.map((p) => p.deadLettered / p.seconds),
      ],
      depth,
      depthData: [x, ...depth.data],
      oldest,
      oldestData: [x, ...oldest.data],
      done: last.reduce((t, p) => t + p.succeeded, 0) / secs,
      failedHour: s.reduce((t, p) => t + p.failed + p.deadLettered, 0),
    }
  }, [data])
  if (!data || !charts) return error ? <ErrorBox error={error} /> : <Loading />
  const sum = (pick: (q: QueueRow) => number | null) => data.queues.reduce((t, q) => t + (pick(q) ?? 0), 0)
  const oldest = Math.max(0, ...data.queues.map((q) => q.oldestAgeMs ?? 0))
  return (
    <div>
      <PageHeader title="Overview" />
      <ErrorBox error={error} />
      <div class="stats">
        <Stat label="waiting" value={count(sum((q) => q.ready) + sum((q) => q.delayed))} />
        <Stat label="in flight" value={count(sum((q) => q.inFlight))} />
        <Stat label="dead letters" value={count(sum((q) => q.dead))} tone={sum((q) => q.dead) > 0 ? 'warn' : ''} />
        <Stat label="workers online" value={count(data.workers)} />
        <Stat label="done, last minute" value={rate(charts.done)} />
        <Stat label="failed, last hour" value={count(charts.failedHour)} tone={charts.failedHour > 0 ? 'bad' : ''} />
        <Stat label="oldest waiting" value={oldest > 0 ? duration(oldest) : '—'} />
      </div>
      <div class="grid2">
        <Chart
          title="Throughput (per second)"
          series={[
            { label: 'succeeded', color: '#16a34a' },
            { label: 'enqueued', color: '#2563eb' },
          ]}
          data={charts.throughput}
          format={(v) => (v < 10 ? v.toFixed(1) : String(Math.round(v)))}
        />
        <Chart
          title="Failures (per second)"
          series={[
            { label: 'retried', color: '#d97706' },
            { label: 'failed', color: '#dc2626' },
            { label: 'dead-lettered', color: '#7c3aed' },
          ]}
          data={charts.failures}
          format={(v) => (v < 10 ? v.toFixed(1) : String(Math.round(v)))}
        />
        <Chart
          title="Queue depth (ready + delayed)"
          series={charts.depth.names.map((label) => ({ label }))}
          data={charts.depthData}
          format={(v) => count(Math.round(v))}
          integer
          empty="No queue sampled yet."
        />
        <Chart
          title="Oldest waiting"
          series={charts.oldest.names.map((label) => ({ label }))}
          data={charts.oldestData}
          format={(v) => duration(v)}
          empty="Nothing waiting: no run enqueued is still waiting to start."
        />
      </div>
      <h2 class="section">Queues</h2>
      <QueueTable queues={data.queues} />
    </div>
  )
}
