import { useState } from 'preact/hooks'
import { config, enc, useData } from '../api'
import { ErrorBox, Loading, PageHeader } from '../components'
import { AttemptsTable } from './task/attempts'
import { TaskFacts } from './task/facts'
import { TaskFailure, TaskPayloads } from './task/payloads'
import { RevokeDialog } from './task/revoke'
import { TimelineTable } from './task/timeline'
import { type TaskData, taskView } from './task/types'
import { WorkflowMembers } from './workflow-members'

/** One task run: its facts, input, result, workflow members, error, attempts and timeline; revoke. */
export function TaskPage({ id }: { id: string }) {
  const { data, error, reload } = useData<TaskData>(`tasks/${enc(id)}`)
  const [revoking, setRevoking] = useState(false)
  if (!data) return error ? <ErrorBox error={error} /> : <Loading />
  const view = taskView(id, data)
  return (
    <div>
      <PageHeader title={`Task ${view.run?.task ?? ''}`}>
        {config.readOnly || view.finished || view.revoked ? null : (
          <button type="button" class="btn danger-outline" onClick={() => setRevoking(true)}>
            Revoke
          </button>
        )}
      </PageHeader>
      <ErrorBox error={error} />
      <TaskFacts view={view} />
      <TaskPayloads view={view} />
      {data.workflow ? <WorkflowMembers workflow={data.workflow} /> : null}
      <TaskFailure view={view} />
      {view.run ? <AttemptsTable attempts={view.run.attempts} /> : null}
      {view.run ? <TimelineTable timeline={view.run.timeline} /> : null}
      {revoking ? (
        <RevokeDialog
          id={id}
          onClose={(revoked) => {
            setRevoking(false)
            if (revoked) reload()
          }}
        />
      ) : null}
    </div>
  )
}
