// Opt-in benchmark: raw amqplib vs the adapter, side by side in one run, on the same server and message size.
//   node --import tsx --conditions=conveyor-source adapters/rabbitmq/scripts/bench.ts [jobs] [queueType]
import { randomUUID } from 'node:crypto'
import { type Envelope, encodeEnvelope } from '@conveyor/core'
import { createRabbitMQBroker } from '@conveyor/rabbitmq'
import { connect } from 'amqplib'

const url = process.env.CONVEYOR_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'
const jobs = Number(process.argv[2] ?? 20_000)
const queueType = process.argv[3] === 'quorum' ? 'quorum' : 'classic'
const window = 1_000 // publishes in flight at once, for both
const prefetch = 50
const prefix = `bench.${randomUUID().slice(0, 6)}`

const envelopeFor = (queue: string, n: number): Envelope => ({
  id: randomUUID(),
  task: 'bench.noop',
  payload: { n, text: 'hello world' },
  queue,
  priority: 0,
  attempt: 1,
  maxAttempts: 3,
  createdAt: Date.now(),
})

async function inWindows(total: number, publish: (n: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: window }, async () => {
      while (next < total) await publish(next++)
    }),
  )
}

const rate = (n: number, ms: number) => Math.round((n / ms) * 1000)

async function raw(): Promise<{ publish: number; consume: number }> {
  const model = await connect(url)
  const channel = await model.createConfirmChannel()
  const queue = `${prefix}.raw`
  await channel.assertQueue(queue, {
    durable: true,
    arguments: queueType === 'quorum' ? { 'x-queue-type': 'quorum' } : { 'x-max-priority': 10 },
  })
  let full = false
  const drained: (() => void)[] = []
  channel.on('drain', () => {
    full = false
    for (const wake of drained.splice(0)) wake()
  })
  let t = performance.now()
  await inWindows(jobs, async (n) => {
    while (full) await new Promise<void>((resolve) => drained.push(resolve))
    const body = Buffer.from(encodeEnvelope(envelopeFor('raw', n)))
    await new Promise<void>((resolve, reject) => {
      const ok = channel.publish('', queue, body, { persistent: true, mandatory: true, priority: 0 }, (error) =>
        error ? reject(error) : resolve(),
      )
      if (!ok) full = true
    })
  })
  const publish = rate(jobs, performance.now() - t)
  const consumer = await model.createChannel()
  await consumer.prefetch(prefetch, false)
  t = performance.now()
  await new Promise<void>((resolve) => {
    let seen = 0
    void consumer.consume(queue, (message) => {
      if (message === null) return
      JSON.parse(message.content.toString('utf8'))
      consumer.ack(message)
      if (++seen === jobs) resolve()
    })
  })
  const consume = rate(jobs, performance.now() - t)
  await consumer.close()
  await channel.deleteQueue(queue)
  await model.close()
  return { publish, consume }
}

async function adapter(): Promise<{ publish: number; consume: number }> {
  const broker = createRabbitMQBroker({ url, prefix, queueType, logger: false, delayLevels: [1_000] })
  await broker.declare({ name: 'conveyor' })
  let t = performance.now()
  await inWindows(jobs, (n) => broker.publish(envelopeFor('conveyor', n)))
  const publish = rate(jobs, performance.now() - t)
  t = performance.now()
  await new Promise<void>((resolve) => {
    let seen = 0
    void broker.consume(
      'conveyor',
      (delivery) => {
        void delivery.ack().then(() => {
          if (++seen === jobs) resolve()
        })
      },
      { prefetch },
    )
  })
  const consume = rate(jobs, performance.now() - t)
  await broker.close()
  const cleanup = await connect(url)
  const channel = await cleanup.createChannel()
  const names = broker.queueNames('conveyor')
  for (const name of [names.work, names.dead, ...names.delays.map((level) => level.name)])
    await channel.deleteQueue(name)
  await cleanup.close()
  return { publish, consume }
}

const r = await raw()
const a = await adapter()
console.log(`${jobs} jobs, ${queueType} queues, ${window} publishes in flight, prefetch ${prefetch}`)
console.log(
  `publish (persistent, confirmed): raw ${r.publish}/s  conveyor ${a.publish}/s  ratio ${(a.publish / r.publish).toFixed(2)}`,
)
console.log(
  `consume + ack:                   raw ${r.consume}/s  conveyor ${a.consume}/s  ratio ${(a.consume / r.consume).toFixed(2)}`,
)
