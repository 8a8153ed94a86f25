import type { BrokerInspector } from '@conveyor/conformance'
import type { DeadLetter } from '@conveyor/core/adapter'
import pg from 'pg'
import { tablesFor } from '../src/index'

export const url = process.env.CONVEYOR_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** A pool of our own, outside the broker under test: the suite's raw view of the tables, and cleanup. */
export const pool = new pg.Pool({ connectionString: url, max: 2, allowExitOnIdle: true })

// Fail the file at once, in one line, when the server is missing (rather than 59 connection errors).
try {
  await pool.query('SELECT 1')
} catch (error) {
  throw new Error(
    `[conveyor] [postgres] PostgreSQL is not reachable at ${url} (${(error as Error).message}): install it (apt-get install postgresql) or set CONVEYOR_POSTGRES_URL`,
  )
}

/** Reads the namespace's tables directly with SQL. */
export function inspectPostgres(namespace: string): BrokerInspector {
  const t = tablesFor(namespace)
  return {
    async ready(queue) {
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${t.messages}
         WHERE queue = $1 AND not_before <= $2
           AND (lease_until IS NULL OR lease_until <= (extract(epoch from clock_timestamp()) * 1000)::bigint)`,
        [queue, Date.now()],
      )
      return rows[0]?.n ?? 0
    },
    async deadLetters(queue) {
      const { rows } = await pool.query<{ entry: string }>(
        `SELECT entry FROM ${t.dead} WHERE queue = $1 ORDER BY seq`,
        [queue],
      )
      return rows.map((row) => JSON.parse(row.entry) as DeadLetter)
    },
    close: async () => {},
  }
}
