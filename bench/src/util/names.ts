import { randomBytes } from 'node:crypto'

/**
 * Every key and queue a bench run creates carries this run's token, so cleanup can find exactly what this run made
 * (and nothing of the other engineers sharing the servers).
 */
export const RUN_TOKEN = `cvbench-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`

let seq = 0

/** A fresh namespace for one system instance, e.g. `cvbench-lx3k-a1b2c3-bullmq-7`. */
export function namespace(system: string): string {
  return `${RUN_TOKEN}-${system}-${++seq}`
}
