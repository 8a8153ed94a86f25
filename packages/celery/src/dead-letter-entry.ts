import type { DeadLetter, DeadLetterReason, Envelope, ErrorInfo } from '@conveyor/core/adapter'

/** Raw bodies of undecodable messages are kept up to this many characters. */
const MAX_RAW = 65_536

interface EntryInput {
  readonly queue: string
  readonly raw: string
  readonly envelope?: Envelope
  readonly reason: DeadLetterReason
  readonly error?: ErrorInfo
  readonly deliveryCount: number
  readonly id?: string
}

/** The JSON a dead letter is stored as (a `DeadLetter`; `raw` is the Kombu message as it was on the queue). */
export function deadLetterEntry(input: EntryInput): string {
  const now = Date.now()
  const entry: DeadLetter = {
    id: input.envelope?.id ?? input.id ?? `malformed-${now}-${Math.random().toString(36).slice(2, 10)}`,
    queue: input.queue,
    ...(input.envelope !== undefined ? { envelope: input.envelope } : {}),
    raw: input.raw.length > MAX_RAW ? input.raw.slice(0, MAX_RAW) : input.raw,
    reason: input.reason,
    ...(input.error !== undefined ? { error: input.error } : {}),
    attempts: input.envelope?.attempt ?? 1,
    deliveryCount: input.deliveryCount,
    createdAt: input.envelope?.createdAt ?? now,
    deadAt: now,
  }
  return JSON.stringify(entry)
}
