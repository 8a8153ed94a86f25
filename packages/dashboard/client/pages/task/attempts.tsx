import { Badge } from '../../components'
import { duration, time } from '../../format'
import type { AttemptView } from './types'

/** Every attempt of a run: outcome, worker, start, run time, error. */
export function AttemptsTable({ attempts }: { attempts: readonly AttemptView[] }) {
  if (attempts.length === 0) return null
  return (
    <section>
      <h2 class="section">Attempts</h2>
      <table class="table">
        <thead>
          <tr>
            <th class="num">#</th>
            <th>Outcome</th>
            <th>Worker</th>
            <th>Started</th>
            <th class="num">Ran</th>
            <th>Error</th>
          </tr>
        </thead>
        <tbody>
          {attempts.map((a, i) => (
            <tr key={i}>
              <td class="num">{a.attempt}</td>
              <td>{a.outcome ? <Badge state={a.outcome} /> : <Badge state="started" />}</td>
              <td class="mono">{a.worker ?? '—'}</td>
              <td>{time(a.startedAt)}</td>
              <td class="num">{a.startedAt && a.finishedAt ? duration(a.finishedAt - a.startedAt) : '—'}</td>
              <td class="error-cell">{a.outcome === 'succeeded' ? '' : (a.error?.message ?? '')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}
