import { Badge } from '../../components'
import { duration, time } from '../../format'
import type { TimelineLine } from './types'

/** A run's events in order, with the retry delay or the reason they carry. */
export function TimelineTable({ timeline }: { timeline: readonly TimelineLine[] }) {
  if (timeline.length === 0) return null
  return (
    <section>
      <h2 class="section">Timeline</h2>
      <table class="table">
        <thead>
          <tr>
            <th>When</th>
            <th>Event</th>
            <th class="num">Attempt</th>
            <th>Worker</th>
            <th>Detail</th>
          </tr>
        </thead>
        <tbody>
          {timeline.map((line, i) => (
            <tr key={i}>
              <td>{time(line.at)}</td>
              <td>
                <Badge state={line.type.replace(/^task\./, '')} />
              </td>
              <td class="num">{line.attempt}</td>
              <td class="mono">{line.worker ?? '—'}</td>
              <td class="muted">
                {line.delayMs !== undefined ? `next attempt in ${duration(line.delayMs)}` : (line.reason ?? '')}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}
