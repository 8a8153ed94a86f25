import { enc, post } from '../../api'
import { Confirm } from '../../components'
import type { PendingAction } from './types'

interface Props {
  queue: string
  pending: PendingAction
  filter: string
  onCancel: () => void
  /** After the server did it: what to tell the user. */
  onDone: (notice: string) => void
}

/** Ask before a replay or purge the server has counted, then run it. */
export function ConfirmAction({ queue, pending, filter, onCancel, onDone }: Props) {
  const replay = pending.kind === 'replay'
  return (
    <Confirm
      title={replay ? 'Replay dead letters?' : 'Purge dead letters?'}
      confirmLabel={replay ? `Replay ${pending.count}` : `Purge ${pending.count}`}
      onCancel={onCancel}
      onConfirm={async () => {
        const selection = pending.ids ? { ids: pending.ids } : { filter }
        const body = { ...selection, ...(replay ? {} : { confirm: true }) }
        const out = await post<{ replayed?: number; removed?: number }>(
          `dead-letters/${enc(queue)}/${pending.kind}`,
          body,
        )
        onDone(
          replay
            ? `Replayed ${out.replayed ?? 0} dead letter(s) onto ${queue}.`
            : `Deleted ${out.removed ?? 0} dead letter(s) of ${queue}.`,
        )
      }}
    >
      <p>
        {replay
          ? `${pending.count} dead letter(s) of ${queue} go back on the queue with attempt 1 and run again.`
          : `${pending.count} dead letter(s) of ${queue} are deleted for good.`}
        {filter && !pending.ids ? ` (all matching "${filter}")` : ''}
      </p>
    </Confirm>
  )
}
