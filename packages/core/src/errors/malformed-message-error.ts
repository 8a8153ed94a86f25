import { ConveyorError } from './conveyor-error'

/** Bytes on a queue that are not a valid envelope; consumers dead-letter them with reason `malformed`. */
export class MalformedMessageError extends ConveyorError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONVEYOR_MALFORMED_MESSAGE', message, options)
  }
}
