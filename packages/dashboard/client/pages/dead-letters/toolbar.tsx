import { useState } from 'preact/hooks'
import { config } from '../../api'
import { count } from '../../format'
import { href, navigate } from '../../router'
import type { QueueRow } from '../queues'
import type { DeadLetterAction } from './types'

interface Props {
  queues: readonly QueueRow[]
  queue: string | undefined
  filter: string
  /** How many dead letters the current view matches (no actions when none, or unknown yet). */
  matching: number | undefined
  onAction: (kind: DeadLetterAction) => void
}

/** The queue chooser, the filter box, and replay / purge of everything the filter matches. */
export function DeadLetterToolbar({ queues, queue, filter, matching, onAction }: Props) {
  const [text, setText] = useState(filter)
  return (
    <>
      <select
        aria-label="queue"
        value={queue ?? ''}
        onChange={(e) => navigate(href(['dead-letters', e.currentTarget.value]))}
      >
        {queues.map((q) => (
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
      {config.readOnly || !matching ? null : (
        <>
          <button type="button" class="btn" onClick={() => onAction('replay')}>
            Replay {filter ? 'matching' : 'all'}
          </button>
          <button type="button" class="btn danger-outline" onClick={() => onAction('purge')}>
            Purge {filter ? 'matching' : 'all'}
          </button>
        </>
      )}
    </>
  )
}
