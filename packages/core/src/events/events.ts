import { EventEmitter } from 'node:events'
import type { ConveyorEvent, EventPayload, EventType, TaskEvents } from '../contracts/event-stream'

export type { TaskEvents } from '../contracts/event-stream'

/** The name of a task or worker event (`task.started`, `worker.online`, …). */
export type TaskEventName = EventType

/** Receives every event emitted, with its `type` (the app's publisher to the cross-process stream). */
export type EventSink = (event: ConveyorEvent) => void

/**
 * A typed in-process emitter of task and worker events: the zero-cost local view. Emitting costs nothing when nobody
 * listens and no sink (stream publisher) is attached: hot paths ask `wants` before building a payload.
 */
export class TaskEventEmitter {
  private readonly emitter = new EventEmitter()
  /** Set while the app publishes its events to a stream; sees every event, listeners or not. */
  protected sink: EventSink | undefined

  constructor() {
    this.emitter.setMaxListeners(0)
  }

  on<E extends EventType>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
    this.emitter.on(event, listener)
    return () => this.emitter.off(event, listener)
  }

  once<E extends EventType>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
    this.emitter.once(event, listener)
    return () => this.emitter.off(event, listener)
  }

  off<E extends EventType>(event: E, listener: (payload: EventPayload<E>) => void): void {
    this.emitter.off(event, listener)
  }

  /** True when somebody listens or the app publishes: lets hot paths skip building the payload. */
  wants(event: EventType): boolean {
    return this.sink !== undefined || this.emitter.listenerCount(event) > 0
  }

  /** True when an in-process listener waits for `event` (the stream publisher aside). */
  wantsLocal(event: EventType): boolean {
    return this.emitter.listenerCount(event) > 0
  }

  /** True when events go to a cross-process stream (not only to in-process listeners). */
  get publishing(): boolean {
    return this.sink !== undefined
  }

  /** `payload` may carry its `type` already (hot paths build it so): the stream publisher then takes it as is. */
  emit<E extends EventType>(event: E, payload: EventPayload<E> & { readonly type?: E }): void {
    this.toSink(event, payload)
    this.emitLocal(event, payload)
  }

  /** Only to in-process listeners (the stream already got it, e.g. `task.enqueued` written before the publish). */
  emitLocal<E extends EventType>(event: E, payload: EventPayload<E>): void {
    // A throwing listener must not break the worker loop that emitted.
    try {
      this.emitter.emit(event, payload)
    } catch {
      /* listeners own their errors */
    }
  }

  /** Only to the stream publisher, when there is one. */
  toSink<E extends EventType>(event: E, payload: EventPayload<E> & { readonly type?: E }): void {
    if (this.sink === undefined) return
    try {
      this.sink((payload.type === event ? payload : { type: event, ...payload }) as ConveyorEvent)
    } catch {
      /* the publisher counts its own failures */
    }
  }
}

/** The payload type of a task event, for callers that build one. */
export type TaskEventPayload<E extends keyof TaskEvents> = TaskEvents[E]
