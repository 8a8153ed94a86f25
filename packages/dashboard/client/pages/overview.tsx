import { useMemo } from 'preact/hooks'
import { useData } from '../api'
import { ErrorBox, Loading, PageHeader } from '../components'
import { OverviewCharts } from './overview/charts'
import { type Overview, overviewSeries } from './overview/series'
import { OverviewStats } from './overview/stats'
import { QueueTable } from './queues'

/** The last hour at a glance: figures, charts from the dashboard's samples, and the queues. */
export function OverviewPage() {
  const { data, error } = useData<Overview>('overview')
  const series = useMemo(() => (data ? overviewSeries(data.samples) : undefined), [data])
  if (!data || !series) return error ? <ErrorBox error={error} /> : <Loading />
  return (
    <div>
      <PageHeader title="Overview" />
      <ErrorBox error={error} />
      <OverviewStats queues={data.queues} workers={data.workers} series={series} />
      <OverviewCharts series={series} />
      <h2 class="section">Queues</h2>
      <QueueTable queues={data.queues} />
    </div>
  )
}
