import { type MetricsServer, renderPrometheus, serveMetrics } from '@conveyor/core'
import { MetricsRegistry, type MetricsSnapshot, mergeSnapshots } from '@conveyor/core/adapter'
import type { ChildStatus } from './types'

/**
 * The supervisor's `/metrics`: the sum of its worker processes' metrics (each child reports a snapshot with its
 * stats) plus the supervisor's own view of the processes. Counters stay monotonic across restarts: when a child
 * exits, its last counters and histograms are kept (its gauges are dropped), so a replaced process does not make
 * totals go back.
 */
export class SupervisorMetrics {
  private retired: MetricsSnapshot | undefined
  private server: MetricsServer | undefined

  /** Keep what an exited child had counted (as of its last report). */
  retire(last: MetricsSnapshot | undefined): void {
    if (last === undefined) return
    const counted = { ...last, families: last.families.filter((f) => f.type !== 'gauge') }
    this.retired = this.retired === undefined ? counted : mergeSnapshots([this.retired, counted])
  }

  render(live: readonly (MetricsSnapshot | undefined)[], status: readonly ChildStatus[]): string {
    const own = new MetricsRegistry()
    const processes = own.gauge('conveyor_worker_processes', 'Worker processes by pool and state.', ['pool', 'state'])
    const restarts = own.counter(
      'conveyor_worker_restarts_total',
      'Worker processes replaced (crashes, recycling, hard time limits) since the supervisor started.',
      ['pool'],
    )
    const rss = own.gauge('conveyor_worker_rss_bytes', 'Resident memory of each worker process.', ['pool', 'slot'])
    for (const child of status) {
      processes.inc([child.pool, child.state])
      restarts.inc([child.pool], child.restarts)
      if (child.rssBytes !== undefined && child.pid !== undefined)
        rss.set([child.pool, String(child.slot)], child.rssBytes)
    }
    const parts = [this.retired, ...live].filter((s): s is MetricsSnapshot => s !== undefined)
    return renderPrometheus(mergeSnapshots([...parts, own.snapshot()]))
  }

  /** Serve on `port` (0: a free one); resolves with the port bound. */
  async listen(port: number, render: () => string): Promise<number> {
    this.server = await serveMetrics({ render: async () => render() }, { port })
    return this.server.port
  }

  async close(): Promise<void> {
    await this.server?.close()
    this.server = undefined
  }
}
