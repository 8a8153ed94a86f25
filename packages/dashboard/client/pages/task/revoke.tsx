import { enc, post } from '../../api'
import { Confirm } from '../../components'

/** The confirmation dialog of a revoke: posts it, then lets the page reload. */
export function RevokeDialog({ id, onClose }: { id: string; onClose: (revoked: boolean) => void }) {
  return (
    <Confirm
      title="Revoke this run?"
      confirmLabel="Revoke"
      onCancel={() => onClose(false)}
      onConfirm={async () => {
        await post(`tasks/${enc(id)}/revoke`)
        onClose(true)
      }}
    >
      <p>
        Workers will skip <code>{id}</code> if it has not started yet (it is recorded <b>revoked</b>). A run that
        already started is not interrupted.
      </p>
    </Confirm>
  )
}
