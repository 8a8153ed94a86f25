import { type ConfirmChannel, connect } from 'amqplib'
import { namespace } from '../util/names'
import { sleep } from '../util/time'
import type { BenchJob, BenchSystem, Consumer } from './system'

/** Publish one message and resolve on its publisher confirm. */
async function publish(channel: ConfirmChannel, queue: string, job: BenchJob): Promise<void> {
  // sendToQueue buffers even when it returns false; the confirm callback fires either way.
  await new Promise<void>((resolve, reject) => {
    channel.sendToQueue(
      queue,
      Buffer.from(JSON.stringify(job)),
      { persistent: true, contentType: 'application/json' },
      (error) => (error ? reject(error) : resolve()),
    )
  })
}

async function publishMany(channel: ConfirmChannel, queue: string, jobs: readonly BenchJob[]): Promise<void> {
  for (const job of jobs) {
    const written = channel.sendToQueue(queue, Buffer.from(JSON.stringify(job)), {
      persistent: true,
      contentType: 'application/json',
    })
    if (!written) await new Promise((resolve) => channel.once('drain', resolve))
  }
  await channel.waitForConfirms()
}

/** Raw amqplib: durable queue, persistent messages, publisher confirms, prefetch = concurrency, manual ack. */
export const rawAmqp: BenchSystem = {
  id: 'raw-amqp',
  broker: 'rabbitmq',
  family: 'raw',
  description: 'amqplib: durable classic queue, persistent, confirm channel, prefetch = concurrency, manual ack',
  async create(env, attachTo) {
    const ns = attachTo ?? namespace('amqp')
    const queue = `${ns}.q`
    // noDelay: amqplib leaves Nagle on by default, which parks small frames for up to 40 ms (delayed ACK).
    const connection = await connect(env.amqpUrl, { noDelay: true, clientProperties: { connection_name: ns } })
    const channel = await connection.createConfirmChannel()
    await channel.assertQueue(queue, { durable: true })
    const consumers = new Set<Consumer>()
    return {
      namespace: ns,
      enqueue: (job) => publish(channel, queue, job),
      enqueueBulk: (jobs) => publishMany(channel, queue, jobs),
      async fill(jobs) {
        for (let i = 0; i < jobs.length; i += 1000) await publishMany(channel, queue, jobs.slice(i, i + 1000))
      },
      async consume(concurrency, hooks) {
        const consuming = await connection.createChannel()
        await consuming.prefetch(concurrency)
        let inFlight = 0
        const { consumerTag } = await consuming.consume(
          queue,
          (message) => {
            if (message === null) return
            inFlight++
            const job = JSON.parse(message.content.toString('utf8')) as BenchJob
            hooks.onStart?.(job)
            void (hooks.hold ? hooks.hold() : Promise.resolve()).then(() => {
              consuming.ack(message)
              inFlight--
              hooks.onDone()
            })
          },
          { noAck: false },
        )
        let stopping: Promise<void> | undefined
        const consumer: Consumer = {
          stop() {
            stopping ??= (async () => {
              await consuming.cancel(consumerTag)
              while (inFlight > 0) await sleep(1)
              await consuming.close()
            })()
            return stopping
          },
        }
        consumers.add(consumer)
        return consumer
      },
      async close() {
        for (const consumer of consumers) await consumer.stop()
        await channel.deleteQueue(queue)
        await channel.close()
        await connection.close()
      },
    }
  },
}
