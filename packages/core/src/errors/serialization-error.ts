import { ConveyorError } from './conveyor-error'

/** A task input or result that JSON cannot carry (BigInt, cycles, functions). */
export class SerializationError extends ConveyorError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONVEYOR_SERIALIZATION', message, options)
  }
}
