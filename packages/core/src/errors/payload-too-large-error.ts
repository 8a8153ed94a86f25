import { ConveyorError } from './conveyor-error'

/** The encoded message exceeds the broker's or the app's size limit. */
export class PayloadTooLargeError extends ConveyorError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONVEYOR_PAYLOAD_TOO_LARGE', message, options)
  }
}
