import {
  type DeadLetter,
  type DeadLetterStore,
  encodeEnvelope,
  replayedEnvelope,
  safeJsonParse,
} from '@conveyor/core/adapter'
import { ensureOpen, type Runtime } from './runtime'

/** The dead-letter table, managed through the broker. */
export function deadLetterStore(rt: Runtime): DeadLetterStore {
  return {
    async list(queue, page = {}) {
      await rt.ready()
      const { rows } = await rt.pool.query<{ entry: string }>(rt.sql.deadList, [
        queue,
        page.offset ?? 0,
        page.limit ?? 100,
      ])
      return rows.map((row) => safeJsonParse(row.entry) as DeadLetter)
    },
    async count(queue) {
      await rt.ready()
      const { rows } = await rt.pool.query<{ n: number }>(rt.sql.deadCount, [queue])
      return rows[0]?.n ?? 0
    },
    async purge(queue, ids) {
      await rt.ready()
      const result = await rt.pool.query(rt.sql.deadPurge, [queue, ids ? [...ids] : null])
      return result.rowCount ?? 0
    },
    async replay(queue, selection = {}) {
      ensureOpen(rt)
      await rt.ready()
      // One transaction: each replayed message is either back on the live queue or still dead, never lost.
      const client = await rt.pool.connect()
      let replayed = 0
      try {
        await client.query('BEGIN')
        const { rows } = await client.query<{ seq: string; entry: string }>(rt.sql.deadTake, [
          queue,
          selection.ids ? [...selection.ids] : null,
          selection.limit ?? null,
        ])
        rows.sort((a, b) => Number(BigInt(a.seq) - BigInt(b.seq)))
        for (const row of rows) {
          const dead = safeJsonParse(row.entry) as DeadLetter
          if (dead.envelope === undefined) continue
          const envelope = replayedEnvelope(dead.envelope, queue)
          await client.query(rt.sql.insert, [queue, encodeEnvelope(envelope), envelope.priority, 0])
          replayed++
        }
        await client.query('COMMIT')
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {})
        throw error
      } finally {
        client.release()
      }
      if (replayed > 0) await rt.pool.query(rt.sql.notify, [queue]).catch(() => {})
      return replayed
    },
  }
}
