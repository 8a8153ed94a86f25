import type { ConfirmChannel, Options } from 'amqplib'

/** Publishes on one confirm channel; each publish resolves once RabbitMQ confirmed it (durably held). */
export class ConfirmPublisher {
  constructor(private readonly channel: ConfirmChannel) {}

  publish(exchange: string, routingKey: string, content: Buffer, options: Options.Publish): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      try {
        this.channel.publish(exchange, routingKey, content, options, (error) => (error ? reject(error) : resolve()))
      } catch (error) {
        reject(error)
      }
    })
  }

  /** A dead-letter entry (JSON `DeadLetter`) onto a queue's dead-letter queue. */
  publishJson(queue: string, json: string): Promise<void> {
    return this.publish('', queue, Buffer.from(json, 'utf8'), {
      contentType: 'application/json',
      deliveryMode: 2,
    })
  }
}
