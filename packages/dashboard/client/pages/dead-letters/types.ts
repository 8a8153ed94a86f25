/** A dead letter as `api/dead-letters/<queue>` lists it. */
export interface DeadLetter {
  id: string
  queue: string
  envelope?: { task: string; payload: unknown; attempt: number; maxAttempts: number }
  raw?: string
  reason: string
  error?: { name: string; message: string; stack?: string; code?: string }
  attempts: number
  deliveryCount: number
  createdAt: number
  deadAt: number
}

/** One page of a queue's dead letters, newest first. */
export interface DeadLetterPage {
  queue: string
  total: number
  matching: number
  items: DeadLetter[]
  scanned: number
}

export type DeadLetterAction = 'replay' | 'purge'

/** An action the server counted (a dry run) and the page asks to confirm: on `ids`, or on all matching the filter. */
export interface PendingAction {
  kind: DeadLetterAction
  count: number
  ids?: string[]
}
