import { useState } from 'preact/hooks'
import { enc, post, useData } from '../api'
import { ErrorBox, PageHeader } from '../components'
import type { Route } from '../router'
import { ConfirmAction } from './dead-letters/confirm-action'
import { DeadLetterList } from './dead-letters/list'
import { DeadLetterToolbar } from './dead-letters/toolbar'
import type { DeadLetterAction, DeadLetterPage, PendingAction } from './dead-letters/types'
import type { QueueRow } from './queues'

/** Dead letters per queue (the first queue holding one by default), filter, replay and purge with a dry-run count. */
export function DeadLettersPage({ route }: { route: Route }) {
  const queues = useData<{ queues: QueueRow[] }>('queues')
  const queue = route.path[1] ?? queues.data?.queues.find((q) => (q.dead ?? 0) > 0)?.name
  const filter = route.query.get('filter') ?? ''
  const qs = new URLSearchParams(filter ? { filter } : {}).toString()
  const page = useData<DeadLetterPage>(queue === undefined ? undefined : `dead-letters/${enc(queue)}?${qs}`)
  const [pending, setPending] = useState<PendingAction | undefined>()
  const [notice, setNotice] = useState<string | undefined>()
  const [error, setError] = useState<Error | undefined>()

  // Ask the server how many the action would touch before asking the user.
  const dryRun = async (kind: DeadLetterAction, ids?: string[]) => {
    setError(undefined)
    try {
      const out = await post<{ count: number }>(`dead-letters/${enc(queue!)}/${kind}`, {
        ...(ids ? { ids } : { filter }),
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
        <DeadLetterToolbar
          queues={queues.data?.queues ?? []}
          queue={queue}
          filter={filter}
          matching={page.data?.matching}
          onAction={(kind) => dryRun(kind)}
        />
      </PageHeader>
      <ErrorBox error={error ?? page.error ?? queues.error} />
      {notice ? <div class="notice">{notice}</div> : null}
      <DeadLetterList
        queue={queue}
        queuesLoaded={queues.data !== undefined}
        page={page.data}
        filter={filter}
        onReplay={(id) => dryRun('replay', [id])}
      />
      {pending && queue ? (
        <ConfirmAction
          queue={queue}
          pending={pending}
          filter={filter}
          onCancel={() => setPending(undefined)}
          onDone={(text) => {
            setNotice(text)
            setPending(undefined)
            page.reload()
          }}
        />
      ) : null}
    </div>
  )
}
