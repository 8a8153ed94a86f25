import { ConveyorError } from '@conveyor/core'

/** RabbitMQ answered a publish with a negative confirm: it did not take the message (internal error, full queue). */
export class PublishNackedError extends ConveyorError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONVEYOR_PUBLISH_NACKED', message, options)
  }
}
