import { EventEmitter } from 'node:events'
import type { ResultBackend, ResultSetOptions, ResultWaitOptions, TaskRecord } from '../contracts/result-backend'
import { TERMINAL_STATES } from '../contracts/result-backend'
import type { TaskHistory } from '../contracts/task-history'
import { NotConnectedError } from '../errors/not-connected-error'
import { ResultTimeoutError } from '../errors/result-timeout-error'
import { createMemoryTaskHistory } from '../events/memory-task-history'
import { createMemoryWorkflowStore } from './memory-workflow-store'

/** In-process result backend: records in a map with expiry, waiters woken by an emitter (no polling). */
export function createMemoryResultBackend(): ResultBackend {
  const records = new Map<string, { record: TaskRecord; expiresAt: number }>()
  const wake = new EventEmitter()
  wake.setMaxListeners(0)
  let closed = false
  let history: TaskHistory | undefined
  let sweeper: NodeJS.Timeout | undefined

  const read = (id: string): TaskRecord | undefined => {
    const entry = records.get(id)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= Date.now()) {
      records.delete(id)
      return undefined
    }
    return entry.record
  }

  const sweep = () => {
    const now = Date.now()
    for (const [id, entry] of records) if (entry.expiresAt <= now) records.delete(id)
    if (records.size === 0 && sweeper !== undefined) {
      clearInterval(sweeper)
      sweeper = undefined
    }
  }

  return {
    name: 'memory',
    capabilities: { workflowCounting: 'atomic' },
    workflows: createMemoryWorkflowStore(),
    async connect() {
      closed = false
    },
    async close() {
      closed = true
      if (sweeper !== undefined) clearInterval(sweeper)
      sweeper = undefined
    },
    async set(record: TaskRecord, options: ResultSetOptions) {
      if (closed) throw new NotConnectedError('[memory] result backend is closed')
      // Stored as a structured clone, as a networked backend would: later mutation of the caller's object is not seen.
      records.set(record.id, { record: structuredClone(record), expiresAt: Date.now() + options.ttlMs })
      if (sweeper === undefined) {
        sweeper = setInterval(sweep, 1000)
        sweeper.unref()
      }
      if (TERMINAL_STATES.has(record.state)) wake.emit(record.id)
    },
    async get(id: string) {
      const record = read(id)
      return record === undefined ? undefined : structuredClone(record)
    },
    wait(id: string, options: ResultWaitOptions) {
      return new Promise<TaskRecord>((resolve, reject) => {
        const done = () => {
          clearTimeout(timer)
          wake.off(id, onWake)
          options.signal?.removeEventListener('abort', onAbort)
        }
        const onWake = () => {
          const record = read(id)
          if (record && TERMINAL_STATES.has(record.state)) {
            done()
            resolve(structuredClone(record))
          }
        }
        const onAbort = () => {
          done()
          reject(options.signal?.reason)
        }
        const timer = setTimeout(() => {
          done()
          reject(new ResultTimeoutError(id, options.timeoutMs))
        }, options.timeoutMs)
        wake.on(id, onWake)
        options.signal?.addEventListener('abort', onAbort, { once: true })
        onWake()
      })
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
