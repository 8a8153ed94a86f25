import type { DeadLetter } from '../contracts/dead-letter'
import { toErrorInfo } from './error-info'

/** Longest raw body a dead letter keeps when its envelope cannot be stored. */
export const MAX_RAW_DEAD_LETTER = 64 * 1024

/**
 * The JSON of a dead-letter record, for adapters that store records as JSON. A record that cannot be encoded (an
 * input JSON cannot carry, an error whose fields throw) must still end its message: it is stored without the
 * envelope, with the message's bytes as they came off the queue (`raw`, never re-serialised) and a note of why.
 */
export function deadLetterJson(record: DeadLetter, raw: string): string {
  try {
    return JSON.stringify(record)
  } catch (failure) {
    const note = toErrorInfo(failure)
    const fallback: DeadLetter = {
      id: String(record.id),
      queue: String(record.queue),
      raw: raw.slice(0, MAX_RAW_DEAD_LETTER),
      reason: String(record.reason),
      error: {
        name: 'SerializationError',
        message: `[conveyor] the dead letter could not be encoded (${note.message}); kept the raw message instead`,
        code: 'CONVEYOR_SERIALIZATION',
      },
      attempts: Number(record.attempts) || 0,
      deliveryCount: Number(record.deliveryCount) || 0,
      createdAt: Number(record.createdAt) || Date.now(),
      deadAt: Number(record.deadAt) || Date.now(),
    }
    return JSON.stringify(fallback)
  }
}
