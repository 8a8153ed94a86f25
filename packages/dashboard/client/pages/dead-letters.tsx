import { useState } from 'preact/hooks'
import { config, enc, post, useData } from '../api'
import { Confirm, Empty, ErrorBox, Loading, PageHeader } from '../components'
import { ago, count, pretty } from '../format'
import { href, navigate, type Route } from '../router'
import type { QueueRow } from './queues'

interface DeadLetter {
  id: string
  queue: string
  envelope?: { task: string; payload: unknown; attempt: number; maxAttempts: number }
  raw?: string
  reason: string
  error?: { name: string; message: string; stack?: string; code?: string }
  attempts: number
  deliveryCount: number
  createdAt: number
  deadAt: number
}

interface Page {
  queue: string
  total: number
  matching: number
  items: DeadLetter[]
  scanned: number
}

type Pending = { kind: 'replay' | 'purge'; count: number; ids?: string[] }

function Row({ dead, onReplay }: { dead: DeadLetter; onReplay?: () => void }) {
  const [open, setOpen] = useState(false)
  return (
    <>
      <tr data-dead={dead.id} class={open ? 'open' : ''}>
        <td class="mono">
          <button type="button" class="link" onClick={() => setOpen(!open)} aria-expanded={open}>
            {open ? '▾' : '▸'} {dead.id.length > 14 ? `${dead.id.slice(0, 14)}…` : dead.id}
          </button>
        </td>
        <td class="mono">{dead.envelope?.task ?? '(malformed)'}</td>
        <td>
          <span class="badge s-dead-lettered">{dead.reason}</span>
        </td>
        <td class="num">{dead.attempts}</td>
        <td title={new Date(dead.deadAt).toISOString()}>{ago(dead.deadAt)}</td>
        <td class="error-cell">{dead.error ? dead.error.message.split('\n')[0] : ''}</td>
        <td class="row-actions">
          {onReplay && dead.envelope ? (
            <button type="button" class="btn small" onClick={onReplay}>
              Replay
            </button>
          ) : null}
        </td>
      </tr>
      {open ? (
        <tr class="detail">
          <td colSpan={7}>
            <div class="detail-grid">
              <div>
                <div class="label">Payload</div>
                <pre class="json">{dead.envelope ? pretty(dead.envelope.payload) : (dead.raw ?? '')}</pre>
              </div>
              <div>
                <div class="label">Error</div>
                <pre class="stack">
                  {dead.error ? (dead.error.stack ?? `${dead.error.name}: ${dead.error.message}`) : '—'}
                </pre>
              </div>
            </div>
            <a href={href(['tasks', dead.id])}>Task history →</a>
          </td>
        </tr>
      ) : null}
    </>
  )
}

export function DeadLettersPage({ route }: { route: Route }) {
  const queues = useData<{ queues: QueueRow[] }>('queues')
  const queue = route.path[1] ?? queues.data?.queues.find((q) => (q.dead ?? 0) > 0)?.name
  const filter = route.query.get('filter') ?? ''
  const [text, setText] = useState(filter)
  const qs = new URLSearchParams(filter ? { filter } : {}).toString()
  const page = useData<Page>(queue === undefined ? undefined : `dead-letters/${enc(queue)}?${qs}`)
  const [pending, setPending] = useState<Pending | undefined>()
  const [notice, setNotice] = useState<string | undefined>()
  const [error, setError] = useState<Error | undefined>()

  const selection = (ids?: string[]) => (ids ? { ids } : { filter })
  const dryRun = async (kind: 'replay' | 'purge', ids?: string[]) => {
    setError(undefined)
    try {
      const out = await post<{ count: number }>(`dead-letters/${enc(queue!)}/${kind}`, {
        ...selection(ids),
        dryRun: true,
      })
      setPending({ kind, count: out.count, ...(ids ? { ids } : {}) })
    } catch (e) {
      setError(e as Error)
    }
  }

  return (
    <div>
      <PageHeader title="Dead letters">
        <select
          aria-label="queue"
          value={queue ?? ''}
          onChange={(e) => navigate(href(['dead-letters', e.currentTarget.value]))}
        >
          {(queues.data?.queues ?? []).map((q) => (
            <option key={q.name} value={q.name}>
              {q.name} ({count(q.dead)})
            </option>
          ))}
        </select>
        <form
          class="filters"
          onSubmit={(e) => {
            e.preventDefault()
            navigate(href(['dead-letters', queue ?? ''], { filter: text }))
          }}
        >
          <input
            type="search"
            name="filter"
            placeholder="Filter: text, task=email.*, reason=max-attempts"
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
          />
        </form>
        {config.readOnly || !page.data || page.data.matching === 0 ? null : (
          <>
            <button type="button" class="btn" onClick={() => dryRun('replay')}>
              Replay {filter ? 'matching' : 'all'}
            </button>
            <button type="button" class="btn danger-outline" onClick={() => dryRun('purge')}>
              Purge {filter ? 'matching' : 'all'}
            </button>
          </>
        )}
      </PageHeader>
      <ErrorBox error={error ?? page.error ?? queues.error} />
      {notice ? <div class="notice">{notice}</div> : null}
      {queue === undefined ? (
        queues.data ? (
          <Empty>No dead letters in any queue.</Empty>
        ) : (
          <Loading />
        )
      ) : !page.data ? (
        <Loading />
      ) : page.data.items.length === 0 ? (
        <Empty>{filter ? 'No dead letter matches the filter.' : `No dead letters in ${queue}.`}</Empty>
      ) : (
        <>
          <div class="muted small">
            {filter
              ? `${count(page.data.matching)} of ${count(page.data.total)} match`
              : `${count(page.data.total)} dead letter(s)`}
            , newest first{page.data.items.length < page.data.matching ? `, first ${page.data.items.length} shown` : ''}
          </div>
          <table class="table">
            <thead>
              <tr>
                <th>Id</th>
                <th>Task</th>
                <th>Reason</th>
                <th class="num">Attempts</th>
                <th>Dead</th>
                <th>Error</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {page.data.items.map((dead) => (
                <Row
                  key={dead.id}
                  dead={dead}
                  {...(config.readOnly ? {} : { onReplay: () => dryRun('replay', [dead.id]) })}
                />
              ))}
            </tbody>
          </table>
        </>
      )}
      {pending && queue ? (
        <Confirm
          title={pending.kind === 'replay' ? 'Replay dead letters?' : 'Purge dead letters?'}
          confirmLabel={pending.kind === 'replay' ? `Replay ${pending.count}` : `Purge ${pending.count}`}
          onCancel={() => setPending(undefined)}
          onConfirm={async () => {
            const body = { ...selection(pending.ids), ...(pending.kind === 'purge' ? { confirm: true } : {}) }
            const out = await post<{ replayed?: number; removed?: number }>(
              `dead-letters/${enc(queue)}/${pending.kind}`,
              body,
            )
            setNotice(
              pending.kind === 'replay'
                ? `Replayed ${out.replayed ?? 0} dead letter(s) onto ${queue}.`
                : `Deleted ${out.removed ?? 0} dead letter(s) of ${queue}.`,
            )
            setPending(undefined)
            page.reload()
          }}
        >
          <p>
            {pending.kind === 'replay'
              ? `${pending.count} dead letter(s) of ${queue} go back on the queue with attempt 1 and run again.`
              : `${pending.count} dead letter(s) of ${queue} are deleted for good.`}
            {filter && !pending.ids ? ` (all matching "${filter}")` : ''}
          </p>
        </Confirm>
      ) : null}
    </div>
  )
}
