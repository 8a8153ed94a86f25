import { randomUUID } from 'node:crypto'
import type { ConveyorEvent, Envelope } from '@conveyor/core/adapter'

let seq = 0

/** A complete, valid envelope for `queue` (unique id, payload `{ n: <sequence> }`); override any field. */
export function envelope(queue: string, overrides: Partial<Envelope> = {}): Envelope {
  seq += 1
  return {
    id: `job-${seq}-${randomUUID().slice(0, 8)}`,
    task: 'test.task',
    payload: { n: seq },
    queue,
    priority: 0,
    attempt: 1,
    maxAttempts: 3,
    createdAt: Date.now(),
    ...overrides,
  }
}

/** A `task.started` event of run `run-<n>`, for event-stream tests that count runs by id. */
export function startedEvent(n: number): ConveyorEvent {
  return {
    type: 'task.started',
    id: `run-${n}`,
    task: 't',
    queue: 'q',
    attempt: 1,
    at: Date.now(),
    worker: 'w',
    deliveryCount: 1,
    enqueuedAt: Date.now(),
  }
}
