import { ConveyorError } from '@conveyor/core'

/** RabbitMQ returned a mandatory publish: no queue is bound for it (the queue was deleted behind the broker's back). */
export class UnroutableError extends ConveyorError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONVEYOR_UNROUTABLE', message, options)
  }
}
