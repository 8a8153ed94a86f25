import { ConveyorError } from './conveyor-error'

/** A delivery was settled twice, or after the broker took it back (released, lease lost, connection closed). */
export class DeliverySettledError extends ConveyorError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONVEYOR_DELIVERY_SETTLED', message, options)
  }
}
