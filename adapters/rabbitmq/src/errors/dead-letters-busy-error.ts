import { ConveyorError } from '@conveyor/core'

/** Another process kept a queue's dead letters locked (listing, replaying or purging them) for longer than we wait. */
export class DeadLettersBusyError extends ConveyorError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONVEYOR_DEAD_LETTERS_BUSY', message, options)
  }
}
