import type { UrlAdapter } from '@conveyor/core'
import { createRabbitMQBroker } from './broker'
import type { RabbitMQQueueType } from './options'

/**
 * Resolves `amqp://` and `amqps://` URLs for `createApp({ broker: url })`. Query parameters `prefix`, `queueType` and
 * `priorityLevels` are read and removed; the rest of the URL goes to amqplib (which reads `heartbeat`, `frameMax`, …).
 */
export const rabbitmqAdapter: UrlAdapter = {
  protocols: ['amqp', 'amqps'],
  createBroker(url: string) {
    const parsed = new URL(url)
    const prefix = parsed.searchParams.get('prefix') ?? undefined
    const queueType = parsed.searchParams.get('queueType') ?? undefined
    const priorityLevels = parsed.searchParams.get('priorityLevels') ?? undefined
    parsed.searchParams.delete('prefix')
    parsed.searchParams.delete('queueType')
    parsed.searchParams.delete('priorityLevels')
    return createRabbitMQBroker({
      url: parsed.toString(),
      ...(prefix !== undefined ? { prefix } : {}),
      // Validated by the factory, which names the bad value.
      ...(queueType !== undefined ? { queueType: queueType as RabbitMQQueueType } : {}),
      ...(priorityLevels !== undefined ? { priorityLevels: Number(priorityLevels) } : {}),
    })
  },
}
