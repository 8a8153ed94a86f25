import { config } from '../../api'
import { Empty, Loading } from '../../components'
import { count } from '../../format'
import { DeadLetterRow } from './row'
import type { DeadLetterPage } from './types'

interface Props {
  queue: string | undefined
  /** Whether the queue list has loaded (with no queue chosen: none holds a dead letter). */
  queuesLoaded: boolean
  page: DeadLetterPage | undefined
  filter: string
  onReplay: (id: string) => void
}

/** The dead letters of the chosen queue, newest first, or why there are none to show. */
export function DeadLetterList({ queue, queuesLoaded, page, filter, onReplay }: Props) {
  if (queue === undefined) return queuesLoaded ? <Empty>No dead letters in any queue.</Empty> : <Loading />
  if (!page) return <Loading />
  if (page.items.length === 0) {
    return <Empty>{filter ? 'No dead letter matches the filter.' : `No dead letters in ${queue}.`}</Empty>
  }
  return (
    <>
      <div class="muted small">
        {filter ? `${count(page.matching)} of ${count(page.total)} match` : `${count(page.total)} dead letter(s)`},
        newest first{page.items.length < page.matching ? `, first ${page.items.length} shown` : ''}
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
          {page.items.map((dead) => (
            <DeadLetterRow
              key={dead.id}
              dead={dead}
              {...(config.readOnly ? {} : { onReplay: () => onReplay(dead.id) })}
            />
          ))}
        </tbody>
      </table>
    </>
  )
}
