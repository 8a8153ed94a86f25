import { useState } from 'preact/hooks'
import { config, enc, post, useData } from '../api'
import { Confirm, Empty, ErrorBox, Loading, PageHeader } from '../components'
import { count, duration, rate } from '../format'
import { href } from '../router'

export interface QueueRow {
  name: string
  ready: number | null
  delayed: number | null
  inFlight: number | null
  dead: number | null
  rateIn: number
  rateOut: number
  oldestAgeMs: number | null
}

export function QueueTable({ queues, onPurge }: { queues: QueueRow[]; onPurge?: (queue: QueueRow) => void }) {
  if (queues.length === 0) return <Empty>No queues yet.</Empty>
  return (
    <table class="table">
      <thead>
        <tr>
          <th>Queue</th>
          <th class="num">Ready</th>
          <th class="num">Delayed</th>
          <th class="num">In flight</th>
          <th class="num">Dead</th>
          <th class="num">In</th>
          <th class="num">Out</th>
          <th class="num">Oldest waiting</th>
          {onPurge ? <th /> : null}
        </tr>
      </thead>
      <tbody>
        {queues.map((q) => (
          <tr key={q.name} data-queue={q.name}>
            <td>
              <a href={href(['tasks'], { queue: q.name })} class="mono">
                {q.name}
              </a>
            </td>
            <td class="num">{count(q.ready)}</td>
            <td class="num">{count(q.delayed)}</td>
            <td class="num">{count(q.inFlight)}</td>
            <td class="num">
              {q.dead ? (
                <a class="dead-link" href={href(['dead-letters', q.name])}>
                  {count(q.dead)}
                </a>
              ) : (
                <span class="muted">0</span>
              )}
            </td>
            <td class="num">{rate(q.rateIn)}</td>
            <td class="num">{rate(q.rateOut)}</td>
            <td class="num">{duration(q.oldestAgeMs)}</td>
            {onPurge ? (
              <td class="row-actions">
                <button type="button" class="btn small danger-outline" onClick={() => onPurge(q)}>
                  Purge
                </button>
              </td>
            ) : null}
          </tr>
        ))}
      </tbody>
    </table>
  )
}

export function QueuesPage() {
  const { data, error, reload } = useData<{ queues: QueueRow[] }>('queues')
  const [purging, setPurging] = useState<QueueRow | undefined>()
  const [notice, setNotice] = useState<string | undefined>()
  return (
    <div>
      <PageHeader title="Queues" />
      <ErrorBox error={error} />
      {notice ? <div class="notice">{notice}</div> : null}
      {data ? <QueueTable queues={data.queues} {...(config.readOnly ? {} : { onPurge: setPurging })} /> : <Loading />}
      {purging ? (
        <Confirm
          title={`Purge queue ${purging.name}?`}
          confirmLabel="Purge queue"
          onCancel={() => setPurging(undefined)}
          onConfirm={async () => {
            const out = await post<{ removed: number }>(`queues/${enc(purging.name)}/purge`, { confirm: purging.name })
            setNotice(`Removed ${out.removed} message(s) from ${purging.name}.`)
            setPurging(undefined)
            reload()
          }}
        >
          <p>
            This removes every <b>ready</b> and <b>delayed</b> message of <code>{purging.name}</code> (about{' '}
            {count((purging.ready ?? 0) + (purging.delayed ?? 0))}). Messages in flight and dead letters stay. This
            cannot be undone.
          </p>
        </Confirm>
      ) : null}
    </div>
  )
}
