import type { ErrorInfo } from './types'

/** An error's name, code and message, then its stack. */
export function ErrorView({ error }: { error: ErrorInfo }) {
  return (
    <div class="error-view">
      <div class="error-title">
        {error.name}
        {error.code ? <code class="muted"> {error.code}</code> : null}: {error.message}
      </div>
      {error.stack ? <pre class="stack">{error.stack}</pre> : null}
    </div>
  )
}
