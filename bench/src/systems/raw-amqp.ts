import { type ConfirmChannel, connect, type Options } from 'amqplib'
import { namespace } from '../util/names'
import { sleep } from '../util/time'
import type { BenchEnv, BenchJob, BenchSystem, Consumer, SystemInstance } from './system'

/** What distinguishes the raw baselines: the queue's arguments and the message each job becomes. */
interface Shape {
  readonly queueArguments: Record<string, number>
  /** Body and properties of one message, made per publish (as a real producer would). */
  message(job: BenchJob): { readonly body: Buffer; readonly properties: Options.Publish }
  /** The job back from a body. */
  job(body: Buffer): BenchJob
}

/** Publish one message and resolve on its publisher confirm. */
async function publish(channel: ConfirmChannel, queue: string, job: BenchJob, shape: Shape): Promise<void> {
  const { body, properties } = shape.message(job)
  // sendToQueue buffers even when it returns false; the confirm callback fires either way.
  await new Promise<void>((resolve, reject) => {
    channel.sendToQueue(queue, body, properties, (error) => (error ? reject(error) : resolve()))
  })
}

async function publishMany(
  channel: ConfirmChannel,
  queue: string,
  jobs: readonly BenchJob[],
  shape: Shape,
): Promise<void> {
  for (const job of jobs) {
    const { body, properties } = shape.message(job)
    if (!channel.sendToQueue(queue, body, properties)) await new Promise((resolve) => channel.once('drain', resolve))
  }
  await channel.waitForConfirms()
}

const BARE_PROPERTIES: Options.Publish = { persistent: true, contentType: 'application/json' }

/** Raw amqplib: durable queue, persistent messages, publisher confirms, prefetch = concurrency, manual ack. */
export const rawAmqp: BenchSystem = rawAmqpSystem(
  'raw-amqp',
  'amqplib: durable plain classic queue, the bare job as JSON, persistent, confirm channel, prefetch = concurrency, manual ack',
  {
    queueArguments: {},
    message: (job) => ({ body: Buffer.from(JSON.stringify(job)), properties: BARE_PROPERTIES }),
    job: (body) => JSON.parse(body.toString('utf8')) as BenchJob,
  },
)

let seq = 0

/**
 * Raw amqplib moving what the adapter moves: a queue declared like the adapter's default classic queue
 * (`x-max-priority: 10`) and, per job, a message of the same size and properties as a Conveyor one (an envelope
 * around the job: id, task, queue, priority, attempt, maxAttempts, createdAt; `messageId`, `priority`, `mandatory`,
 * `timestamp`).
 * The like-for-like baseline for `conveyor-rabbitmq`: the ratio is what Conveyor's client adds. Both the priority
 * queue and the bigger message cost RabbitMQ itself throughput (docs/performance.md).
 */
export const rawAmqpSame: BenchSystem = rawAmqpSystem(
  'raw-amqp-same',
  'amqplib as raw-amqp, on an x-max-priority 10 queue, with messages shaped like Conveyor envelopes',
  { queueArguments: { 'x-max-priority': 10 }, message: envelopeMessage, job: envelopeJob },
)

/**
 * The same messages on a plain queue: beside `raw-amqp` (the bare job), it splits the plain-queue gap of
 * `conveyor-rabbitmq-fifo` into what Conveyor's message costs RabbitMQ and what Conveyor's client adds (reported).
 */
export const rawAmqpSameFifo: BenchSystem = {
  ...rawAmqpSystem(
    'raw-amqp-same-fifo',
    'amqplib as raw-amqp-same, on a plain queue (no x-max-priority): Conveyor-shaped messages, FIFO',
    { queueArguments: {}, message: envelopeMessage, job: envelopeJob },
  ),
  scenarios: ['enqueue', 'process'],
}

/** A job wrapped as Conveyor wraps it: the envelope as body, Conveyor's properties. */
function envelopeMessage(job: BenchJob): { readonly body: Buffer; readonly properties: Options.Publish } {
  const id = `01JBENCH${String(++seq).padStart(18, '0')}`
  const envelope = {
    id,
    task: 'bench.noop',
    payload: job,
    queue: 'q',
    priority: 0,
    attempt: 1,
    maxAttempts: 3,
    createdAt: Date.now(),
  }
  return {
    body: Buffer.from(JSON.stringify(envelope)),
    // Conveyor also stamps the AMQP timestamp (seconds; the management API's head-message age).
    properties: {
      ...BARE_PROPERTIES,
      priority: 0,
      messageId: id,
      mandatory: true,
      timestamp: Math.floor(Date.now() / 1000),
    },
  }
}

function envelopeJob(body: Buffer): BenchJob {
  return (JSON.parse(body.toString('utf8')) as { payload: BenchJob }).payload
}

function rawAmqpSystem(id: string, description: string, shape: Shape): BenchSystem {
  return {
    id,
    broker: 'rabbitmq',
    family: 'raw',
    description,
    create: (env, attachTo) => createRaw(env, shape, attachTo),
  }
}

async function createRaw(env: BenchEnv, shape: Shape, attachTo: string | undefined): Promise<SystemInstance> {
  const ns = attachTo ?? namespace('amqp')
  const queue = `${ns}.q`
  // noDelay: amqplib leaves Nagle on by default, which parks small frames for up to 40 ms (delayed ACK).
  const connection = await connect(env.amqpUrl, { noDelay: true, clientProperties: { connection_name: ns } })
  const channel = await connection.createConfirmChannel()
  await channel.assertQueue(queue, { durable: true, arguments: shape.queueArguments })
  const consumers = new Set<Consumer>()
  return {
    namespace: ns,
    enqueue: (job) => publish(channel, queue, job, shape),
    enqueueBulk: (jobs) => publishMany(channel, queue, jobs, shape),
    async fill(jobs) {
      for (let i = 0; i < jobs.length; i += 1000) await publishMany(channel, queue, jobs.slice(i, i + 1000), shape)
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
          const job = shape.job(message.content)
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
}
