import { pretty, prettyText } from '../../format'
import { ErrorView } from './error-view'
import type { TaskView } from './types'

/** Input, result and (for a failing run) the error, each as text. */
export function TaskPayloads({ view }: { view: TaskView }) {
  const { run, record } = view
  return (
    <>
      {run?.input !== undefined ? (
        <section>
          <h2 class="section">Input</h2>
          <pre class="json" data-testid="input">
            {prettyText(run.input, run.inputTruncated)}
          </pre>
        </section>
      ) : null}
      {record?.result !== undefined || run?.result !== undefined ? (
        <section>
          <h2 class="section">Result</h2>
          <pre class="json" data-testid="result">
            {record?.result !== undefined ? pretty(record.result) : prettyText(run?.result, run?.resultTruncated)}
          </pre>
        </section>
      ) : null}
    </>
  )
}

/** The error of a failing run (the last one while it retries). */
export function TaskFailure({ view }: { view: TaskView }) {
  if (!view.failure) return null
  return (
    <section>
      <h2 class="section">{view.state === 'retrying' ? 'Last error' : 'Error'}</h2>
      <ErrorView error={view.failure} />
    </section>
  )
}
