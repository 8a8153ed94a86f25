// Opt-in soak: 10,000 jobs published and consumed while an operator closes the broker's connections with
// rabbitmqctl (only ours, by connection name), on classic and quorum queues. Everything must be processed.
//   node --import tsx --conditions=conveyor-source adapters/rabbitmq/scripts/soak.ts [jobs]
import { envelope, eventually } from '@conveyor/test-support'
import { cleanup, closeConnectionsNamed, makeBroker, uniquePrefix } from '../test/helpers'

const jobs = Number(process.argv[2] ?? 10_000)

for (const queueType of ['classic', 'quorum'] as const) {
  const prefix = uniquePrefix(`soak-${queueType}`)
  const name = `${prefix}:soak`
  const producer = makeBroker(prefix, { queueType, connectionName: `${name}:producer`, logger: false })
  const consumer = makeBroker(prefix, { queueType, connectionName: `${name}:consumer`, logger: false })
  await producer.declare({ name: 'q' })
  const sent = Array.from({ length: jobs }, () => envelope('q'))
  const done = new Set<string>()
  let deliveries = 0
  const started = Date.now()
  await consumer.consume(
    'q',
    (delivery) => {
      deliveries++
      done.add(delivery.envelope.id)
      delivery.ack().catch(() => {})
    },
    { prefetch: 50 },
  )
  let next = 0
  const publishing = Promise.all(
    Array.from({ length: 200 }, async () => {
      while (next < sent.length) await producer.publish(sent[next++]!)
    }),
  )
  await eventually(() => done.size >= jobs * 0.3, 60_000, 'a third of the jobs')
  const closed = await closeConnectionsNamed(name)
  await publishing
  await eventually(() => done.size === jobs, 120_000, `all ${jobs} jobs (have ${done.size})`)
  const seconds = (Date.now() - started) / 1000
  const missing = sent.filter((e) => !done.has(e.id)).length
  console.log(
    `${queueType}: ${jobs} jobs, closed ${closed} connections mid-stream, ${missing} lost, ` +
      `${deliveries - jobs} redelivered, ${seconds.toFixed(1)} s`,
  )
  await producer.close()
  await consumer.close()
  await cleanup(prefix)
}
