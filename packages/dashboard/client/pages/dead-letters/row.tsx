import { useState } from 'preact/hooks'
import { ago, pretty } from '../../format'
import { href } from '../../router'
import type { DeadLetter } from './types'

/** One dead letter: a summary row that opens onto its payload and error. */
export function DeadLetterRow({ dead, onReplay }: { dead: DeadLetter; onReplay?: () => void }) {
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
      {open ? <DeadLetterDetail dead={dead} /> : null}
    </>
  )
}

function DeadLetterDetail({ dead }: { dead: DeadLetter }) {
  return (
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
  )
}
