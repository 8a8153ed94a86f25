/**
 * A conformance expectation that did not hold (a timeout, a missing delivery). Assertions on values use vitest's
 * `expect`; this covers what `expect` cannot phrase, with a message that says what the adapter did wrong.
 */
export class ConformanceFailure extends Error {
  readonly code = 'CONVEYOR_CONFORMANCE_FAILURE'

  constructor(message: string) {
    super(`[conveyor] [conformance] ${message}`)
    this.name = 'ConformanceFailure'
  }
}
