import { randomUUID } from 'node:crypto'

/** A task run id: a random UUID (v4), unique across producers without coordination. */
export function newTaskId(): string {
  return randomUUID()
}
