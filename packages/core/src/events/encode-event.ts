import type { ConveyorEvent } from '../contracts/event-stream'

/** Strings JSON writes as they are (no escapes): ids, task and queue names, worker ids, event types in practice. */
const PLAIN = /^[\w .:@/+#=-]*$/

function text(value: string): string {
  return PLAIN.test(value) ? `"${value}"` : JSON.stringify(value)
}

/**
 * Task, queue and worker names repeat from one event to the next: the last one of each is kept quoted, so most events
 * check only their id.
 */
class Quoted {
  private raw = ''
  private json = '""'
  of(value: string): string {
    if (value !== this.raw) {
      this.json = text(value)
      this.raw = value
    }
    return this.json
  }
}
const taskName = new Quoted()
const queueName = new Quoted()
const workerId = new Quoted()

function num(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null'
}

/**
 * One event as JSON text, encoded once for the stream and the history alike. The two events every job emits
 * (`task.started`, `task.succeeded`) are written from a template: `JSON.stringify` on their objects cost about three
 * times as much, and at concurrency 50 it was the largest part of what events cost a worker. The template writes the
 * contract's fields (`TaskEvents`), in the same JSON a reader parses either way; other types go through
 * `JSON.stringify`.
 */
export function encodeEvent(event: ConveyorEvent): string {
  if (event.type === 'task.started') {
    return (
      `{"type":"task.started","id":${text(event.id)},"task":${taskName.of(event.task)},"queue":${queueName.of(event.queue)}` +
      `,"attempt":${num(event.attempt)},"at":${num(event.at)}` +
      (event.worker !== undefined ? `,"worker":${workerId.of(event.worker)}` : '') +
      `,"deliveryCount":${num(event.deliveryCount)},"enqueuedAt":${num(event.enqueuedAt)}` +
      (event.notBefore !== undefined ? `,"notBefore":${num(event.notBefore)}}` : '}')
    )
  }
  if (event.type === 'task.succeeded') {
    return (
      `{"type":"task.succeeded","id":${text(event.id)},"task":${taskName.of(event.task)},"queue":${queueName.of(event.queue)}` +
      `,"attempt":${num(event.attempt)},"at":${num(event.at)}` +
      (event.worker !== undefined ? `,"worker":${workerId.of(event.worker)}` : '') +
      `,"durationMs":${num(event.durationMs)}` +
      (event.result !== undefined ? `,"result":${JSON.stringify(event.result)}` : '') +
      (event.resultTruncated === true ? ',"resultTruncated":true}' : '}')
    )
  }
  return JSON.stringify(event)
}

/** A batch of encoded events as one JSON array (what the Redis stream stores per entry). */
export function joinEncoded(texts: readonly string[]): string {
  return `[${texts.join(',')}]`
}
