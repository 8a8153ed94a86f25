import { EventEmitter } from 'node:events'
import type { DeadLetterReason, ErrorInfo } from '../contracts/dead-letter'

interface TaskEventBase {
  readonly id: string
  readonly task: string
  readonly queue: string
  readonly attempt: number
  /** Epoch milliseconds. */
  readonly at: number
}

/** Every state change of a task run, emitted in-process by the app (producer side) and its workers. */
export interface TaskEvents {
  'task.enqueued': TaskEventBase & { readonly priority: number; readonly notBefore?: number }
  'task.started': TaskEventBase & { readonly deliveryCount: number }
  'task.succeeded': TaskEventBase & { readonly durationMs: number }
  'task.retried': TaskEventBase & { readonly durationMs: number; readonly delayMs: number; readonly error: ErrorInfo }
  'task.failed': TaskEventBase & { readonly durationMs: number; readonly error: ErrorInfo }
  'task.dead-lettered': TaskEventBase & {
    readonly durationMs: number
    readonly reason: DeadLetterReason
    readonly error?: ErrorInfo
  }
  'task.expired': TaskEventBase
  'task.revoked': TaskEventBase
}

export type TaskEventName = keyof TaskEvents

/** A typed emitter of `TaskEvents`. Emitting costs nothing when nobody listens. */
export class TaskEventEmitter {
  private readonly emitter = new EventEmitter()

  on<E extends TaskEventName>(event: E, listener: (payload: TaskEvents[E]) => void): () => void {
    this.emitter.on(event, listener)
    return () => this.emitter.off(event, listener)
  }

  once<E extends TaskEventName>(event: E, listener: (payload: TaskEvents[E]) => void): () => void {
    this.emitter.once(event, listener)
    return () => this.emitter.off(event, listener)
  }

  off<E extends TaskEventName>(event: E, listener: (payload: TaskEvents[E]) => void): void {
    this.emitter.off(event, listener)
  }

  /** True when somebody listens: lets hot paths skip building the payload. */
  wants(event: TaskEventName): boolean {
    return this.emitter.listenerCount(event) > 0
  }

  emit<E extends TaskEventName>(event: E, payload: TaskEvents[E]): void {
    // A throwing listener must not break the worker loop that emitted.
    try {
      this.emitter.emit(event, payload)
    } catch {
      /* listeners own their errors */
    }
  }
}
