import { ConveyorError } from '@conveyor/core'

/** An enqueue for a Celery queue whose input is not `{ args, kwargs }` (or an args array). Nothing is published. */
export class CeleryPayloadError extends ConveyorError {
  constructor(task: string, got: string) {
    super(
      'CONVEYOR_CELERY_PAYLOAD',
      `[celery] task "${task}": a Celery task's input must be { args: [...], kwargs: {...} } or an args array, got ${got}`,
    )
  }
}
