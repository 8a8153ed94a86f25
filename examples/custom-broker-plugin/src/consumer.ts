import { DeliverySettledError, NotConnectedError } from '@conveyor/core'
import {
  type DeadLetter,
  type DeadLetterReason,
  type Delivery,
  type DeliveryHandler,
  deadLetterJson,
  decodeEnvelope,
  type Envelope,
  type ErrorInfo,
  encodeEnvelope,
  newTaskId,
  type Subscription,
  toErrorInfo,
} from '@conveyor/core/adapter'
import type { Runtime } from './runtime'

interface Row {
  readonly seq: string
  readonly body: string
  readonly priority: number
  readonly delivery_count: number
  readonly lease_token: string
}

/** Longest raw body kept for a malformed dead letter. */
const MAX_RAW_KEPT = 64 * 1024

/**
 * One `consume` call: fetches as many deliverable messages as its prefetch has room for whenever it is woken
 * (a NOTIFY for its queue, a settlement freeing a slot, the poll timer). One fetch runs at a time.
 */
export class PostgresSubscription implements Subscription {
  private unsettled = 0
  private fetching = false
  private again = false
  private cancelled = false

  constructor(
    readonly queue: string,
    private readonly rt: Runtime,
    private readonly handler: DeliveryHandler,
    private readonly prefetch: number,
  ) {}

  async cancel(): Promise<void> {
    this.cancelled = true
  }

  get active(): boolean {
    return !this.cancelled && this.rt.state === 'open'
  }

  wake(): void {
    if (!this.active) return
    if (this.fetching) {
      this.again = true
      return
    }
    void this.fetchLoop()
  }

  private async fetchLoop(): Promise<void> {
    this.fetching = true
    try {
      do {
        this.again = false
        const room = this.prefetch - this.unsettled
        if (room <= 0 || !this.active) break
        const { rows } = await this.rt.pool.query<Row>(this.rt.sql.fetch, [
          this.queue,
          Date.now(),
          room,
          this.rt.leaseMs,
        ])
        rows.sort((a, b) => b.priority - a.priority || Number(BigInt(a.seq) - BigInt(b.seq)))
        for (const row of rows) await this.take(row)
        // A full batch may have left more behind.
        if (rows.length === room) this.again = true
      } while (this.again)
    } catch {
      // A failed fetch (connection blip) is retried by the next wake-up or poll; nothing was leased.
    } finally {
      this.fetching = false
    }
  }

  private async take(row: Row): Promise<void> {
    const { rt } = this
    if (rt.state === 'destroyed') return // a crashed process: the lease just expires
    if (!this.active) {
      await rt.pool.query(rt.sql.release, [row.seq, row.lease_token]).catch(() => {})
      return
    }
    let envelope: Envelope
    try {
      envelope = decodeEnvelope(row.body)
      if (envelope.queue !== this.queue) envelope = { ...envelope, queue: this.queue }
    } catch (error) {
      await this.deadLetterMalformed(row, error)
      return
    }
    this.unsettled++
    rt.held.set(row.lease_token, { seq: row.seq, token: row.lease_token, settling: false })
    try {
      this.handler(this.delivery(row, envelope))
    } catch {
      // A throwing handler must not stop dispatch; the delivery stays held until settled or its lease ends.
    }
  }

  private async deadLetterMalformed(row: Row, error: unknown): Promise<void> {
    const now = Date.now()
    const entry: DeadLetter = {
      id: newTaskId(),
      queue: this.queue,
      raw: row.body.slice(0, MAX_RAW_KEPT),
      reason: 'malformed',
      error: toErrorInfo(error),
      attempts: 0,
      deliveryCount: row.delivery_count,
      createdAt: now,
      deadAt: now,
    }
    await this.rt.pool
      .query(this.rt.sql.deadLetter, [
        row.seq,
        row.lease_token,
        entry.id,
        false,
        deadLetterJson(entry, row.body),
        null,
        null,
      ])
      .catch(() => {})
  }

  private delivery(row: Row, envelope: Envelope): Delivery {
    const { rt } = this
    let settled = false
    // A function, not a narrowed read: the state changes while a settlement awaits.
    const destroyed = () => rt.state === 'destroyed'
    const settle = async (text: string, extra: unknown[]): Promise<void> => {
      if (destroyed()) throw new NotConnectedError('[postgres] broker was destroyed; the delivery is lost to it')
      if (settled) throw new DeliverySettledError('[postgres] delivery was already settled or released')
      settled = true
      const held = rt.held.get(row.lease_token)
      if (held) held.settling = true
      const query = new Promise<{ rowCount: number | null }>((resolve, reject) => {
        rt.abandon.add(reject)
        rt.pool
          .query(text, [row.seq, row.lease_token, ...extra])
          .then(resolve, reject)
          .finally(() => rt.abandon.delete(reject))
      })
      rt.settling.add(query)
      let changed: number | null
      try {
        changed = (await query).rowCount
      } catch (error) {
        // Not recorded: the delivery is still ours, and still held.
        settled = false
        if (held) held.settling = false
        throw error
      } finally {
        rt.settling.delete(query)
      }
      rt.held.delete(row.lease_token)
      this.unsettled--
      this.wake()
      if (changed === 0) {
        throw new DeliverySettledError('[postgres] the lease expired and the message went back to the queue')
      }
    }
    return {
      envelope,
      deliveryCount: row.delivery_count,
      ack: () => settle(rt.sql.ack, []),
      retry: (delayMs: number) => {
        const next: Envelope = {
          ...envelope,
          attempt: envelope.attempt + 1,
          notBefore: Date.now() + Math.max(0, delayMs),
        }
        return settle(rt.sql.retry, [encodeEnvelope(next), next.notBefore])
      },
      deadLetter: (reason: DeadLetterReason, error?: ErrorInfo) => {
        const entry: DeadLetter = {
          id: envelope.id,
          queue: this.queue,
          envelope,
          reason,
          ...(error ? { error } : {}),
          attempts: envelope.attempt,
          deliveryCount: row.delivery_count,
          createdAt: envelope.createdAt,
          deadAt: Date.now(),
        }
        // Never a throw here: a record that cannot be encoded keeps the row's bytes instead, and the message ends.
        return settle(rt.sql.deadLetter, [
          envelope.id,
          true,
          deadLetterJson(entry, row.body),
          String(envelope.attempt),
          String(envelope.createdAt),
        ])
      },
      release: async () => {
        await settle(rt.sql.release, [])
        await rt.pool.query(rt.sql.notify, [this.queue]).catch(() => {})
      },
    }
  }
}
