import { type ChannelModel, connect } from 'amqplib'
import { deadQueueOf } from '../src/index'

export const AMQP_URL = process.env.CONVEYOR_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'
/** Celery's spelling of the same broker (the default vhost is `//` in Kombu URLs). */
export const CELERY_AMQP_URL = `${AMQP_URL}//`

export async function rawAmqp(): Promise<ChannelModel> {
  try {
    return await connect(AMQP_URL)
  } catch (error) {
    throw new Error(`RabbitMQ is not reachable at 127.0.0.1:5672: start rabbitmq-server`, { cause: error })
  }
}

/** Delete what a test declared: the queue, its exchange (Celery declares one per queue) and its dead-letter queue. */
export async function cleanAmqp(model: ChannelModel, queue: string): Promise<void> {
  const channel = await model.createChannel()
  await channel.deleteQueue(queue)
  await channel.deleteQueue(deadQueueOf(queue))
  await channel.deleteExchange(queue)
  await channel.close()
}
