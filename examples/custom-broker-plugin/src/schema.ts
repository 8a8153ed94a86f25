import { InvalidOptionsError } from '@conveyor/core'
import type { Pool } from 'pg'

/** Quoted SQL identifiers of one namespace's tables. */
export interface Tables {
  readonly messages: string
  readonly dead: string
  /** The sequence behind `messages.seq`: a retry takes a fresh number, so it queues behind newer messages. */
  readonly sequence: string
  /** LISTEN/NOTIFY channel (an identifier too). */
  readonly channel: string
  /** Unquoted base name, used as the advisory-lock key. */
  readonly base: string
}

const NAMESPACE = /^[a-z0-9_]{1,40}$/

export function tablesFor(namespace: string): Tables {
  if (!NAMESPACE.test(namespace)) {
    throw new InvalidOptionsError(
      `[postgres] namespace must be 1–40 lowercase letters, digits or "_", got ${JSON.stringify(namespace)}`,
    )
  }
  const base = `conveyor_${namespace}`
  return {
    base,
    messages: `"${base}_messages"`,
    dead: `"${base}_dead"`,
    sequence: `"${base}_messages_seq_seq"`,
    channel: `"${base}"`,
  }
}

/**
 * Create the namespace's tables if missing. An advisory lock serialises concurrent creators: two brokers starting
 * together would otherwise race inside `CREATE TABLE IF NOT EXISTS` on the type catalogue.
 */
export async function ensureSchema(pool: Pool, t: Tables): Promise<void> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [t.base])
    await client.query(`
      CREATE TABLE IF NOT EXISTS ${t.messages} (
        seq            bigserial PRIMARY KEY,
        queue          text     NOT NULL,
        body           text     NOT NULL,
        priority       smallint NOT NULL DEFAULT 0,
        not_before     bigint   NOT NULL DEFAULT 0,
        lease_until    bigint,
        lease_token    uuid,
        delivery_count integer  NOT NULL DEFAULT 0
      )`)
    await client.query(`CREATE INDEX IF NOT EXISTS "${t.base}_fetch" ON ${t.messages} (queue, priority DESC, seq)`)
    await client.query(`
      CREATE TABLE IF NOT EXISTS ${t.dead} (
        seq          bigserial PRIMARY KEY,
        queue        text    NOT NULL,
        id           text    NOT NULL,
        replayable   boolean NOT NULL,
        entry        text    NOT NULL
      )`)
    await client.query(`CREATE INDEX IF NOT EXISTS "${t.base}_dead_queue" ON ${t.dead} (queue, seq)`)
    await client.query('COMMIT')
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw error
  } finally {
    client.release()
  }
}

/** Drop a namespace's tables (tests, uninstall). */
export async function dropSchema(pool: Pool, namespace: string): Promise<void> {
  const t = tablesFor(namespace)
  await pool.query(`DROP TABLE IF EXISTS ${t.messages}, ${t.dead}`)
}
