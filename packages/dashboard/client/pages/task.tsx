import { useState } from 'preact/hooks'
import { config, enc, post, useData } from '../api'
import { Badge, Confirm, ErrorBox, Loading, PageHeader } from '../components'
import { duration, pretty, prettyText, time } from '../format'
import { href } from '../router'
import type { RunSummary } from './tasks'
import { WorkflowMembers, type WorkflowView } from './workflow-members'

interface ErrorInfo {
  name: string
  message: string
  stack?: string
  code?: string
}

interface RunDetail extends Omit<RunSummary, 'error'> {
  input?: string
  inputTruncated?: boolean
  result?: string
  resultTruncated?: boolean
  error?: ErrorInfo
  maxAttempts?: number
  parentId?: string
  rootId?: string
  waitMs?: number
  deliveryCount?: number
  notBefore?: number
  attempts: {
    attempt: number
    worker?: string
    startedAt: number
    finishedAt?: number
    deliveryCount: number
    outcome?: string
    error?: ErrorInfo
  }[]
  timeline: { type: string; at: number; attempt: number; worker?: string; delayMs?: number; reason?: string }[]
}

interface TaskRecord {
  state: string
  attempt: number
  result?: unknown
  error?: ErrorInfo
  enqueuedAt?: number
  startedAt?: number
  finishedAt?: number
  /** The last `ctx.progress` value. */
  progress?: unknown
}

function ErrorView({ error }: { error: ErrorInfo }) {
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

export function TaskPage({ id }: { id: string }) {
  const { data, error, reload } = useData<{
    run: RunDetail | null
    record: TaskRecord | null
    revoked: boolean
    workflow?: WorkflowView
  }>(`tasks/${enc(id)}`)
  const [revoking, setRevoking] = useState(false)
  if (!data) return error ? <ErrorBox error={error} /> : <Loading />
  const run = data.run
  const record = data.record
  // The result backend holds the latest word on a run (it is written as the run settles); the history fills in.
  const state = record?.state ?? run?.state ?? 'unknown'
  const enqueuedAt = run?.enqueuedAt ?? record?.enqueuedAt
  const startedAt = record?.startedAt ?? run?.startedAt
  const finishedAt = record ? record.finishedAt : run?.finishedAt
  const failing = ['failed', 'dead-lettered', 'retrying'].includes(state)
  const failure = failing ? (record?.error ?? run?.error) : undefined
  const deadReason =
    state === 'dead-lettered' ? run?.timeline.findLast((line) => line.type === 'task.dead-lettered')?.reason : undefined
  const finished = ['succeeded', 'failed', 'dead-lettered', 'expired', 'revoked'].includes(state)
  return (
    <div>
      <PageHeader title={`Task ${run?.task ?? ''}`}>
        {config.readOnly || finished || data.revoked ? null : (
          <button type="button" class="btn danger-outline" onClick={() => setRevoking(true)}>
            Revoke
          </button>
        )}
      </PageHeader>
      <ErrorBox error={error} />
      <dl class="facts">
        <dt>Id</dt>
        <dd class="mono">{id}</dd>
        <dt>State</dt>
        <dd>
          <Badge state={state} /> {data.revoked ? <Badge state="revoked" /> : null}
          {deadReason ? <span class="muted"> reason: {deadReason}</span> : null}
        </dd>
        <dt>Queue</dt>
        <dd class="mono">{run ? <a href={href(['tasks'], { queue: run.queue })}>{run.queue}</a> : '—'}</dd>
        <dt>Attempt</dt>
        <dd>
          {record?.attempt ?? run?.attempt ?? '—'}
          {run?.maxAttempts ? <span class="muted"> of {run.maxAttempts}</span> : null}
          {run?.deliveryCount && run.deliveryCount > 1 ? (
            <span class="muted"> (delivered {run.deliveryCount} times)</span>
          ) : null}
        </dd>
        <dt>Enqueued</dt>
        <dd>{time(enqueuedAt)}</dd>
        <dt>Started</dt>
        <dd>
          {time(startedAt)}
          {run?.waitMs !== undefined ? (
            <span class="muted"> (waited {duration(run.waitMs)})</span>
          ) : enqueuedAt && startedAt ? (
            <span class="muted"> (waited {duration(startedAt - enqueuedAt)})</span>
          ) : null}
        </dd>
        <dt>Finished</dt>
        <dd>
          {time(finishedAt)}
          {startedAt && finishedAt && finishedAt >= startedAt ? (
            <span class="muted"> (ran {duration(finishedAt - startedAt)})</span>
          ) : null}
        </dd>
        {record?.progress !== undefined ? (
          <>
            <dt>Progress</dt>
            <dd class="mono" data-testid="progress">
              {pretty(record.progress)}
            </dd>
          </>
        ) : null}
        {run?.parentId ? (
          <>
            <dt>Parent</dt>
            <dd class="mono">
              <a href={href(['tasks', run.parentId])}>{run.parentId}</a>
            </dd>
          </>
        ) : null}
        {run?.rootId ? (
          <>
            <dt>Root</dt>
            <dd class="mono">
              <a href={href(['tasks', run.rootId])}>{run.rootId}</a>
            </dd>
          </>
        ) : null}
      </dl>
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
      {data.workflow ? <WorkflowMembers workflow={data.workflow} /> : null}
      {failure ? (
        <section>
          <h2 class="section">{state === 'retrying' ? 'Last error' : 'Error'}</h2>
          <ErrorView error={failure} />
        </section>
      ) : null}
      {run && run.attempts.length > 0 ? (
        <section>
          <h2 class="section">Attempts</h2>
          <table class="table">
            <thead>
              <tr>
                <th class="num">#</th>
                <th>Outcome</th>
                <th>Worker</th>
                <th>Started</th>
                <th class="num">Ran</th>
                <th>Error</th>
              </tr>
            </thead>
            <tbody>
              {run.attempts.map((a, i) => (
                <tr key={i}>
                  <td class="num">{a.attempt}</td>
                  <td>{a.outcome ? <Badge state={a.outcome} /> : <Badge state="started" />}</td>
                  <td class="mono">{a.worker ?? '—'}</td>
                  <td>{time(a.startedAt)}</td>
                  <td class="num">{a.startedAt && a.finishedAt ? duration(a.finishedAt - a.startedAt) : '—'}</td>
                  <td class="error-cell">{a.outcome === 'succeeded' ? '' : (a.error?.message ?? '')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
      {run && run.timeline.length > 0 ? (
        <section>
          <h2 class="section">Timeline</h2>
          <table class="table">
            <thead>
              <tr>
                <th>When</th>
                <th>Event</th>
                <th class="num">Attempt</th>
                <th>Worker</th>
                <th>Detail</th>
              </tr>
            </thead>
            <tbody>
              {run.timeline.map((line, i) => (
                <tr key={i}>
                  <td>{time(line.at)}</td>
                  <td>
                    <Badge state={line.type.replace(/^task\./, '')} />
                  </td>
                  <td class="num">{line.attempt}</td>
                  <td class="mono">{line.worker ?? '—'}</td>
                  <td class="muted">
                    {line.delayMs !== undefined ? `next attempt in ${duration(line.delayMs)}` : (line.reason ?? '')}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
      {revoking ? (
        <Confirm
          title="Revoke this run?"
          confirmLabel="Revoke"
          onCancel={() => setRevoking(false)}
          onConfirm={async () => {
            await post(`tasks/${enc(id)}/revoke`)
            setRevoking(false)
            reload()
          }}
        >
          <p>
            Workers will skip <code>{id}</code> if it has not started yet (it is recorded <b>revoked</b>). A run that
            already started is not interrupted.
          </p>
        </Confirm>
      ) : null}
    </div>
  )
}
