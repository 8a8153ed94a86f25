import { ConveyorError } from '@conveyor/core'

/**
 * Why a message on a Celery queue cannot be run by Conveyor. The consumer dead-letters it with `reason` (never acks
 * it silently); the worker keeps running.
 */
export type CeleryDecodeReason =
  /** Not JSON, not a Kombu envelope, or a protocol v2 message with missing or mistyped fields. */
  | 'malformed'
  /** Task protocol v1 (Celery 3): the task name and arguments are in the body, not in the headers. */
  | 'unsupported-protocol'
  /** A content type other than `application/json` (pickle, yaml, msgpack): never decoded, never run. */
  | 'unsupported-content-type'
  /** Canvas links in the body (callbacks, errbacks, chain, chord): Conveyor would run the task and drop the links. */
  | 'unsupported-canvas'

/** A Celery message Conveyor will not run; `reason` is what the dead letter records. */
export class CeleryDecodeError extends ConveyorError {
  readonly reason: CeleryDecodeReason

  constructor(reason: CeleryDecodeReason, message: string) {
    super(codeOf(reason), `[celery] ${message}`)
    this.reason = reason
  }
}

function codeOf(reason: CeleryDecodeReason): string {
  switch (reason) {
    case 'malformed':
      return 'CONVEYOR_CELERY_MALFORMED'
    case 'unsupported-protocol':
      return 'CONVEYOR_CELERY_PROTOCOL_V1'
    case 'unsupported-content-type':
      return 'CONVEYOR_CELERY_CONTENT_TYPE'
    case 'unsupported-canvas':
      return 'CONVEYOR_CELERY_CANVAS'
  }
}
