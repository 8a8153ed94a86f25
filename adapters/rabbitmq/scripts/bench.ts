// Opt-in benchmark: raw amqplib vs the adapter, side by side in one run, on the same server and message size.
//   node --import tsx --conditions=conveyor-source adapters/rabbitmq/scripts/bench.ts [jobs] [queueType] [rounds]
import { randomUUID } from 'node:crypto'
import { type Envelope, encodeEnvelope } from '@conveyor/core/adapter'
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

/** Client CPU per message (user + system µs): steadier than wall time on a busy machine. */
let cpuMark = process.cpuUsage()
const cpuStart = () => {
  cpuMark = process.cpuUsage()
}
const cpuPerJob = () => {
  const used = process.cpuUsage(cpuMark)
  return Math.round((used.user + used.system) / jobs)
}

interface Result {
  publish: number
  consume: number
  publishCpu: number
  consumeCpu: number
}

async function raw(): Promise<Result> {
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
  cpuStart()
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
  const publishCpu = cpuPerJob()
  const consumer = await model.createChannel()
  await consumer.prefetch(prefetch, false)
  cpuStart()
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
  const consumeCpu = cpuPerJob()
  await consumer.close()
  await channel.deleteQueue(queue)
  await model.close()
  return { publish, consume, publishCpu, consumeCpu }
}

async function adapter(): Promise<Result> {
  const broker = createRabbitMQBroker({ url, prefix, queueType, logger: false, delayLevels: [1_000] })
  await broker.declare({ name: 'conveyor' })
  cpuStart()
  let t = performance.now()
  await inWindows(jobs, (n) => broker.publish(envelopeFor('conveyor', n)))
  const publish = rate(jobs, performance.now() - t)
  const publishCpu = cpuPerJob()
  cpuStart()
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
  const consumeCpu = cpuPerJob()
  await broker.close()
  const cleanup = await connect(url)
  const channel = await cleanup.createChannel()
  const names = broker.queueNames('conveyor')
  for (const name of [names.work, names.dead, ...names.delays.map((level) => level.name)])
    await channel.deleteQueue(name)
  await cleanup.close()
  return { publish, consume, publishCpu, consumeCpu }
}

// Alternate raw and adapter rounds so both see the same server load; report the best round of each.
const rounds = Number(process.argv[4] ?? 3)
const raws: Result[] = []
const ours: Result[] = []
for (let i = 0; i < rounds; i++) {
  raws.push(await raw())
  ours.push(await adapter())
}
const best = (results: Result[], key: keyof Result, low = false) =>
  results.map((r) => r[key]).reduce((a, b) => (low ? Math.min(a, b) : Math.max(a, b)))
console.log(`${jobs} jobs × ${rounds} rounds, ${queueType} queues, ${window} publishes in flight, prefetch ${prefetch}`)
for (const [label, key, cpu] of [
  ['publish (persistent, confirmed)', 'publish', 'publishCpu'],
  ['consume + ack', 'consume', 'consumeCpu'],
] as const) {
  const r = best(raws, key)
  const a = best(ours, key)
  console.log(
    `${label.padEnd(32)} raw ${r}/s  conveyor ${a}/s  ratio ${(a / r).toFixed(2)}  ` +
      `client CPU µs/job raw ${best(raws, cpu, true)} conveyor ${best(ours, cpu, true)}`,
  )
}
