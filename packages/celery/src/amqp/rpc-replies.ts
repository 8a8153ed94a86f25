import { safeJsonParse, type TaskRecord } from '@conveyor/core/adapter'
import type { ConsumeMessage } from 'amqplib'
import { celeryMetaToRecord, isCeleryResultMeta } from '../protocol/results'
import { Waiters } from '../waiters'

/**
 * The replies Celery workers sent to this producer's reply queue: kept in memory for `get` (bounded, the oldest
 * dropped first), and handed to the callers waiting for them.
 */
export class RpcReplies {
  readonly waiters = new Waiters()
  private readonly records = new Map<string, TaskRecord>()

  constructor(private readonly maxRecords: number) {}

  /** A message on the reply queue: a Celery result becomes the task's record; anything else is ignored. */
  readonly onMessage = (message: ConsumeMessage | null): void => {
    if (message === null) return
    let value: unknown
    try {
      value = safeJsonParse(message.content.toString('utf8'))
    } catch {
      return
    }
    if (!isCeleryResultMeta(value)) return
    const id = typeof message.properties.correlationId === 'string' ? message.properties.correlationId : value.task_id
    const record = { ...celeryMetaToRecord(value), id }
    this.records.delete(id)
    this.records.set(id, record)
    if (this.records.size > this.maxRecords) this.records.delete(this.records.keys().next().value as string)
    this.waiters.deliver(record)
  }

  get(id: string): TaskRecord | undefined {
    return this.records.get(id)
  }

  delete(id: string): void {
    this.records.delete(id)
  }
}
