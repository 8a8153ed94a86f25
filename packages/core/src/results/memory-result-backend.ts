import type { ResultBackend, ResultSetOptions, ResultWaitOptions, TaskRecord } from '../contracts/result-backend'
import type { TaskHistory } from '../contracts/task-history'
import { NotConnectedError } from '../errors/not-connected-error'
import { createMemoryTaskHistory } from '../events/memory-task-history'
import { MemoryRecords } from './memory-records'
import { createMemoryWorkflowStore } from './memory-workflow-store'

/** In-process result backend: records in a map with expiry, waiters woken by an emitter (no polling). */
export function createMemoryResultBackend(): ResultBackend {
  const records = new MemoryRecords()
  let closed = false
  let history: TaskHistory | undefined
  return {
    name: 'memory',
    capabilities: { workflowCounting: 'atomic' },
    workflows: createMemoryWorkflowStore(),
    async connect() {
      closed = false
    },
    async close() {
      closed = true
      records.stopSweeping()
      // As the Redis and RabbitMQ backends do: a result() pending at app.close() ends now, not at its timeout.
      records.rejectWaiters(new NotConnectedError('[memory] result backend closed while waiting for a result'))
    },
    async set(record: TaskRecord, options: ResultSetOptions) {
      if (closed) throw new NotConnectedError('[memory] result backend is closed')
      records.set(record, options.ttlMs)
    },
    async get(id: string) {
      const record = records.read(id)
      return record === undefined ? undefined : structuredClone(record)
    },
    wait(id: string, options: ResultWaitOptions) {
      if (closed) return Promise.reject(new NotConnectedError('[memory] result backend is closed'))
      return records.wait(id, options)
    },
    async delete(id: string) {
      records.delete(id)
    },
    taskHistory(historyOptions) {
      history ??= createMemoryTaskHistory(historyOptions ?? {})
      return history
    },
  }
}
