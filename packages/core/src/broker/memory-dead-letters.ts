import type { DeadLetter, DeadLetterStore } from '../contracts/dead-letter'
import type { Envelope } from '../contracts/envelope'
import { encodeEnvelope } from '../envelope/codec'
import type { MemoryConnection } from './memory-connection'
import { replayedEnvelope } from './replayed-envelope'

/** The memory broker's dead letters: kept per queue in the store, replayed by publishing them again. */
export function createMemoryDeadLetters(connection: MemoryConnection): DeadLetterStore {
  const { store } = connection
  return {
    async list(queue, page = {}) {
      const offset = page.offset ?? 0
      return store.deadLetters(queue).slice(offset, offset + (page.limit ?? 100))
    },
    async replay(queue, selection = {}) {
      connection.ensureOpen()
      const dead = store.deadLetters(queue)
      const wanted = selection.ids ? new Set(selection.ids) : undefined
      const limit = selection.limit ?? Number.POSITIVE_INFINITY
      const picked: Envelope[] = []
      const keep: DeadLetter[] = []
      for (const entry of dead) {
        if (entry.envelope !== undefined && (!wanted || wanted.has(entry.id)) && picked.length < limit) {
          picked.push(entry.envelope)
        } else {
          keep.push(entry)
        }
      }
      // Take them out first: a replayed message may be dead-lettered again before this loop ends.
      dead.splice(0, dead.length, ...keep)
      for (const envelope of picked) {
        const fresh = replayedEnvelope(envelope, envelope.queue)
        connection.publishBody(queue, encodeEnvelope(fresh), fresh.priority)
      }
      return picked.length
    },
    async purge(queue, ids) {
      const dead = store.deadLetters(queue)
      const before = dead.length
      const drop = ids ? new Set(ids) : undefined
      const keep = drop ? dead.filter((entry) => !drop.has(entry.id)) : []
      dead.splice(0, dead.length, ...keep)
      return before - keep.length
    },
    async count(queue) {
      return store.deadLetters(queue).length
    },
  }
}
