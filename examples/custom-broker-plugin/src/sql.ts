import type { Tables } from './schema'

/** The database's clock in epoch milliseconds, read when the statement runs. */
const DB_NOW = '(extract(epoch from clock_timestamp()) * 1000)::bigint'

/**
 * Every statement the broker runs, built once per namespace. Leases run on the database clock, read when the
 * statement executes: a lease computed from the client's clock would already be partly spent, or expired, if the
 * query waited for a pooled connection. Delays compare `not_before` (the producer's clock) with the caller's `now`
 * parameter, taken before the query is queued, so a delayed message can only be late, never early.
 */
export function statements(t: Tables) {
  const available = `(lease_until IS NULL OR lease_until <= ${DB_NOW})`
  return {
    /** $1 queue, $2 body, $3 priority, $4 not_before. */
    insert: `INSERT INTO ${t.messages} (queue, body, priority, not_before) VALUES ($1, $2, $3, $4)`,
    /** The same, waking listeners: used when the message is deliverable now. */
    insertAndNotify: `WITH ins AS (
        INSERT INTO ${t.messages} (queue, body, priority, not_before) VALUES ($1, $2, $3, $4) RETURNING queue
      ) SELECT pg_notify('${t.base}', queue) FROM ins`,
    /**
     * Lease up to $3 deliverable messages of queue $1 at time $2 for $4 ms. SKIP LOCKED lets competing consumers
     * fetch at once without waiting on each other's rows; the count is incremented in the same statement, so it
     * survives whatever happens to the consumer afterwards. The CTE runs once (a `WHERE seq IN (… LIMIT …)` subquery
     * may be re-run by the planner), and the outer condition is re-checked against the newest row version, so a row
     * another consumer leased meanwhile is never leased twice.
     */
    fetch: `WITH picked AS (
        SELECT seq FROM ${t.messages}
        WHERE queue = $1 AND not_before <= $2 AND ${available}
        ORDER BY priority DESC, seq
        LIMIT $3
        FOR UPDATE SKIP LOCKED)
      UPDATE ${t.messages} m
        SET lease_until = ${DB_NOW} + $4::bigint, lease_token = gen_random_uuid(), delivery_count = m.delivery_count + 1
      FROM picked
      WHERE m.seq = picked.seq AND (m.lease_until IS NULL OR m.lease_until <= ${DB_NOW})
      RETURNING m.seq, m.body, m.priority, m.delivery_count, m.lease_token`,
    /** $1 seq, $2 token. */
    ack: `DELETE FROM ${t.messages} WHERE seq = $1 AND lease_token = $2`,
    /** $1 seq, $2 token, $3 new body, $4 not_before: the next attempt, queued behind newer messages. */
    retry: `UPDATE ${t.messages}
        SET body = $3, not_before = $4, lease_until = NULL, lease_token = NULL, delivery_count = 0,
            seq = nextval('${t.sequence}')
      WHERE seq = $1 AND lease_token = $2`,
    /** $1 seq, $2 token. A give-back is not a failed delivery: the count is undone. */
    release: `UPDATE ${t.messages}
        SET lease_until = NULL, lease_token = NULL, delivery_count = GREATEST(delivery_count - 1, 0)
      WHERE seq = $1 AND lease_token = $2`,
    /** $1 tokens, $2 lease length. */
    extend: `UPDATE ${t.messages} SET lease_until = ${DB_NOW} + $2::bigint WHERE lease_token = ANY($1::uuid[])`,
    /**
     * Move a leased message to the dead-letter table in one statement. $1 seq, $2 token, $3 id, $4 replayable, $5 entry,
     * $6 attempt and $7 createdAt of the run (null for a malformed message). One dead letter per run: a run already held
     * (same id, attempt and enqueue time: a worker died between its dead letter and its commit, and the redelivery was
     * dead-lettered again) is not inserted twice; another run reusing the id is. Returns the rows moved (0: no longer
     * held).
     */
    deadLetter: `WITH moved AS (DELETE FROM ${t.messages} WHERE seq = $1 AND lease_token = $2 RETURNING queue),
      kept AS (INSERT INTO ${t.dead} (queue, id, replayable, entry) SELECT queue, $3, $4, $5 FROM moved
        WHERE NOT ($4 AND EXISTS (SELECT 1 FROM ${t.dead} d WHERE d.queue = moved.queue AND d.id = $3 AND d.replayable
          AND d.entry::jsonb #>> '{envelope,attempt}' = $6::text
          AND d.entry::jsonb #>> '{envelope,createdAt}' = $7::text)))
      SELECT 1 FROM moved`,
    /** $1 queue, $2 now. */
    stats: `SELECT
        count(*) FILTER (WHERE ${available} AND not_before <= $2)::int AS ready,
        count(*) FILTER (WHERE NOT ${available})::int AS in_flight,
        count(*) FILTER (WHERE ${available} AND not_before > $2)::int AS delayed,
        (SELECT count(*)::int FROM ${t.dead} WHERE queue = $1) AS dead
      FROM ${t.messages} WHERE queue = $1`,
    /** Ready and delayed, not leased. $1 queue. */
    purge: `DELETE FROM ${t.messages} WHERE queue = $1 AND ${available}`,
    deadList: `SELECT entry FROM ${t.dead} WHERE queue = $1 ORDER BY seq OFFSET $2 LIMIT $3`,
    deadCount: `SELECT count(*)::int AS n FROM ${t.dead} WHERE queue = $1`,
    /** $1 queue, $2 ids or null, $3 limit. */
    deadTake: `DELETE FROM ${t.dead} WHERE seq IN (
        SELECT seq FROM ${t.dead}
        WHERE queue = $1 AND replayable AND ($2::text[] IS NULL OR id = ANY($2::text[]))
        ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED)
      RETURNING seq, entry`,
    deadPurge: `DELETE FROM ${t.dead} WHERE queue = $1 AND ($2::text[] IS NULL OR id = ANY($2::text[]))`,
    notify: `SELECT pg_notify('${t.base}', $1)`,
  } as const
}

export type Statements = ReturnType<typeof statements>
