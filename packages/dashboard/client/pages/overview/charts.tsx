import { Chart } from '../../components'
import { count, duration } from '../../format'
import type { OverviewSeries } from './series'

const perSecond = (v: number) => (v < 10 ? v.toFixed(1) : String(Math.round(v)))

/** The four charts of the last hour: throughput, failures, queue depth, oldest waiting. */
export function OverviewCharts({ series }: { series: OverviewSeries }) {
  return (
    <div class="grid2">
      <Chart
        title="Throughput (per second)"
        series={[
          { label: 'succeeded', color: '#16a34a' },
          { label: 'enqueued', color: '#2563eb' },
        ]}
        data={series.throughput}
        format={perSecond}
      />
      <Chart
        title="Failures (per second)"
        series={[
          { label: 'retried', color: '#d97706' },
          { label: 'failed', color: '#dc2626' },
          { label: 'dead-lettered', color: '#7c3aed' },
        ]}
        data={series.failures}
        format={perSecond}
      />
      <Chart
        title="Queue depth (ready + delayed)"
        series={series.depth.names.map((label) => ({ label }))}
        data={series.depth.data}
        format={(v) => count(Math.round(v))}
        integer
        empty="No queue sampled yet."
      />
      <Chart
        title="Oldest waiting"
        series={series.oldest.names.map((label) => ({ label }))}
        data={series.oldest.data}
        format={(v) => duration(v)}
        empty="Nothing waiting: no run enqueued is still waiting to start."
      />
    </div>
  )
}
