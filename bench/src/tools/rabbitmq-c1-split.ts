/**
 * Where RabbitMQ's concurrency-1 drain and bulk enqueue spend client CPU (issue 18), in measures that barely move
 * with the machine's load: per job, this process's CPU time (user and kernel), socket writes (`write`/`writev`
 * calls), socket reads, AMQP methods sent and frames received; and, for drains, the wall-clock split of each cycle
 * (read → next write: the client's turn, and of it the part before the consumer callback, amqplib's; write → next
 * read: the broker's turn with both wake-ups) and the event
 * loop's busy time per job. Modes, alternating round by round on the same queue configuration:
 *
 * - `raw`: amqplib as the bench's raw baseline (prefetch = concurrency, manual ack; bulk: pipelined publishes + waitForConfirms);
 * - `raw-same`: the same with messages shaped like Conveyor's (envelope body, messageId, timestamp, mandatory);
 * - `adapter`: the adapter alone (`broker.consume`, prefetch = concurrency, `delivery.ack()`);
 * - `app`: an app worker at that concurrency (core on top of the adapter); bulk: `task.enqueueMany` of 1,000.
 *
 * Queues are this run's own (`cvsplit-…`) and deleted afterwards.
 *
 *   npx tsx --conditions=conveyor-source bench/src/tools/rabbitmq-c1-split.ts [--jobs 3000] [--rounds 3]
 *       [--levels 1] [--modes raw,adapter,app] [--what drain,bulk] [--confirm-acks true] [--concurrency 1] [--events false]
 *       [--profile <dir>]
 */
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { createRequire } from 'node:module'
import { Socket } from 'node:net'
import { loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { type EventLoopUtilization, performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { createApp } from '@conveyor/core'
import {
  catalogName,
  createRabbitMQBroker,
  DEFAULT_DELAY_LEVELS,
  eventStreamQueue,
  queueNames,
} from '@conveyor/rabbitmq'
import { connect, type Options } from 'amqplib'
import { benchEnv } from '../cli/env'
import { deleteQueues } from '../util/amqp'
import { waitFor } from '../util/time'

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '3000' },
    rounds: { type: 'string', default: '3' },
    levels: { type: 'string', default: '1' },
    modes: { type: 'string', default: 'raw,adapter,app' },
    what: { type: 'string', default: 'drain,bulk' },
    'confirm-acks': { type: 'string', default: 'true' },
    profile: { type: 'string' },
    concurrency: { type: 'string', default: '1' },
    events: { type: 'string', default: 'false' },
  },
})
const n = Number(values.jobs)
const levels = Number(values.levels)
const concurrency = Number(values.concurrency)
const confirmAcks = values['confirm-acks'] !== 'false'
const url = benchEnv().amqpUrl
const token = `cvsplit-${Date.now().toString(36)}`

let writes = 0
let reads = 0
/**
 * Wall-clock split of the concurrency-1 cycle (ms, summed): from a read to the next write (the client's turn: parse,
 * handle, ack) and from a write to the next read (the broker's turn and both wake-ups). Only meaningful for drains.
 */
let clientTurn = 0
let brokerTurn = 0
/** The part of the client's turn before the consumer callback: the read, amqplib's frame parsing and dispatch. */
let parseTurn = 0
let lastRead = 0
let lastWrite = 0
/** AMQP methods sent (a publish counts once) and frames received (a delivery is 3: method, header, body). */
let methodsOut = 0
let framesIn = 0
// Not in amqplib's exports: loaded by its path, the same module instance amqplib itself uses.
const load = createRequire(import.meta.url)
const amqpConnection = load(join(dirname(load.resolve('amqplib')), 'lib/connection.js')).Connection.prototype as Record<
  string,
  (...args: unknown[]) => unknown
>
for (const name of ['sendMethod', 'sendMessage'] as const) {
  const original = amqpConnection[name]!
  amqpConnection[name] = function countedSend(this: unknown, ...args: unknown[]) {
    methodsOut++
    return original.apply(this, args)
  }
}
// The start of the consumer's work: amqplib hands a parsed delivery to the consumer callback here.
const channelProto = load(join(dirname(load.resolve('amqplib')), 'lib/channel.js')).BaseChannel.prototype as Record<
  string,
  (...args: unknown[]) => unknown
>
const originalDispatch = channelProto.dispatchMessage!
channelProto.dispatchMessage = function timedDispatch(this: unknown, ...args: unknown[]) {
  if (lastRead > lastWrite) parseTurn += performance.now() - lastRead
  return originalDispatch.apply(this, args)
}
const originalRecv = amqpConnection.recvFrame!
amqpConnection.recvFrame = function countedRecv(this: unknown, ...args: unknown[]) {
  const frame = originalRecv.apply(this, args)
  if (frame) framesIn++
  return frame
}
const proto = Socket.prototype as unknown as Record<string, (...args: unknown[]) => unknown>
// Every socket write, single or vectored, goes through `_writeGeneric` once (`_writev` calls it too).
const originalWrite = proto._writeGeneric!
proto._writeGeneric = function counted(this: Socket, ...args: unknown[]) {
  writes++
  const now = performance.now()
  if (lastRead > lastWrite) clientTurn += now - lastRead
  lastWrite = now
  return originalWrite.apply(this, args)
}
const originalPush = proto.push!
proto.push = function countedPush(this: Socket, ...args: unknown[]) {
  if (args[0] !== null) {
    reads++
    const now = performance.now()
    if (lastWrite > lastRead) brokerTurn += now - lastWrite
    lastRead = now
  }
  return originalPush.apply(this, args)
}

interface Window {
  readonly cpu: NodeJS.CpuUsage
  readonly writes: number
  readonly reads: number
  readonly methodsOut: number
  readonly framesIn: number
  readonly at: number
  readonly clientTurn: number
  readonly brokerTurn: number
  readonly parseTurn: number
  readonly loop: EventLoopUtilization
}
let session: Session | undefined
const open = (profiled = true): Window => {
  if (profiled && values.profile !== undefined) void startProfile()
  return {
    cpu: process.cpuUsage(),
    writes,
    reads,
    methodsOut,
    framesIn,
    at: performance.now(),
    clientTurn,
    brokerTurn,
    parseTurn,
    loop: performance.eventLoopUtilization(),
  }
}
async function startProfile(): Promise<void> {
  if (session === undefined) {
    session = new Session()
    session.connect()
    await session.post('Profiler.enable')
    await session.post('Profiler.setSamplingInterval', { interval: 50 })
  }
  await session.post('Profiler.start')
}
async function report(label: string, from: Window, jobs: number): Promise<void> {
  const cpu = process.cpuUsage(from.cpu)
  const secs = (performance.now() - from.at) / 1000
  console.log(
    `${label.padEnd(16)} client CPU ${((cpu.user + cpu.system) / jobs).toFixed(1).padStart(6)} µs/job ` +
      `(kernel ${(cpu.system / jobs).toFixed(1).padStart(5)}), writes ${((writes - from.writes) / jobs).toFixed(2)}/job, ` +
      `reads ${((reads - from.reads) / jobs).toFixed(2)}/job, AMQP methods out ${((methodsOut - from.methodsOut) / jobs).toFixed(2)}/job, ` +
      `frames in ${((framesIn - from.framesIn) / jobs).toFixed(2)}/job, ${Math.round(jobs / secs)} jobs/s; ` +
      `turns µs/job: client ${(((clientTurn - from.clientTurn) / jobs) * 1000).toFixed(1)} ` +
      `(amqplib ${(((parseTurn - from.parseTurn) / jobs) * 1000).toFixed(1)}), ` +
      `broker ${(((brokerTurn - from.brokerTurn) / jobs) * 1000).toFixed(1)}; ` +
      `event loop busy ${((performance.eventLoopUtilization(from.loop).active / jobs) * 1000).toFixed(1)} µs/job`,
  )
  if (session !== undefined && values.profile !== undefined) {
    const { profile } = await session.post('Profiler.stop')
    const file = join(values.profile, `${label.replace(/\W+/g, '-')}-${Date.now()}.cpuprofile`)
    writeFileSync(file, JSON.stringify(profile))
    console.log(`  profile: ${file}`)
  }
}

const job = (i: number) => ({ i, t: 0 })

let seq = 0
/** `raw-same`: the message a Conveyor one is (envelope body, messageId, timestamp, mandatory), as raw-amqp-same. */
function sameShape(i: number): { body: Buffer; props: Options.Publish } {
  const id = `01JBENCH${String(++seq).padStart(18, '0')}`
  const envelope = { id, task: 'split.noop', payload: job(i), queue: 'q', priority: 0, attempt: 1, maxAttempts: 3 }
  return {
    body: Buffer.from(JSON.stringify({ ...envelope, createdAt: Date.now() })),
    props: {
      persistent: true,
      contentType: 'application/json',
      messageId: id,
      mandatory: true,
      timestamp: Math.floor(Date.now() / 1000),
    },
  }
}
const BARE = { persistent: true, contentType: 'application/json' }
const bareShape = (i: number) => ({ body: Buffer.from(JSON.stringify(job(i))), props: BARE })

async function rawRound(mode: string, round: number, what: string): Promise<void> {
  const shape = mode === 'raw-same' ? sameShape : bareShape
  const queue = `${token}.${mode}${round}.q`
  const connection = await connect(url, { noDelay: true })
  const channel = await connection.createConfirmChannel()
  const args = levels > 1 ? { 'x-max-priority': levels } : {}
  await channel.assertQueue(queue, { durable: true, arguments: args })
  const bulk = async (from: number, count: number) => {
    for (let i = from; i < from + count; i++) {
      const { body, props } = shape(i)
      if (!channel.sendToQueue(queue, body, props)) {
        await new Promise((resolve) => channel.once('drain', resolve))
      }
    }
    await channel.waitForConfirms()
  }
  await bulk(0, 500)
  let window = open(what.includes('bulk'))
  for (let i = 0; i < n; i += 1000) await bulk(i, Math.min(1000, n - i))
  if (what.includes('bulk')) await report(`${mode} bulk`, window, n)
  if (what.includes('drain')) {
    const consuming = await connection.createChannel()
    await consuming.prefetch(concurrency)
    let done = 0
    const skip = 500
    await consuming.consume(queue, (message) => {
      if (message === null) return
      JSON.parse(message.content.toString('utf8'))
      void Promise.resolve().then(() => {
        consuming.ack(message)
        done++
        if (done === skip) window = open()
      })
    })
    await waitFor(() => done >= n + 500, `${mode} drain`, 180_000, 5)
    await report(`${mode} drain`, window, n)
    await consuming.close()
  }
  await channel.deleteQueue(queue)
  await connection.close()
}

async function conveyorRound(mode: 'adapter' | 'app', round: number, what: string): Promise<void> {
  const prefix = `${token}.${mode}${round}`
  const broker = createRabbitMQBroker({ url, prefix, logger: false, priorityLevels: levels, confirmAcks })
  const events = values.events === 'true'
  const app = createApp({ broker, results: false, logger: false, events, defaults: { queue: 'q' } })
  const task = app.task('split.noop', async (_job: { i: number; t: number }) => undefined)
  await task.enqueueMany(Array.from({ length: 500 }, (_, i) => job(i)))
  let window = open(what.includes('bulk'))
  for (let i = 0; i < n; i += 1000) {
    await task.enqueueMany(Array.from({ length: Math.min(1000, n - i) }, (_, j) => job(i + j)))
  }
  if (what.includes('bulk')) await report(`${mode} bulk`, window, n)
  if (what.includes('drain')) {
    let done = 0
    const skip = 500
    const count = () => {
      done++
      if (done === skip) window = open()
    }
    if (mode === 'adapter') {
      await broker.consume('q', (delivery) => void delivery.ack().then(count), { prefetch: concurrency })
    } else {
      app.events.on('task.succeeded', count)
      await app.worker({ queues: ['q'], concurrency }).start()
    }
    await waitFor(() => done >= n + 500, `${mode} drain`, 180_000, 5)
    await report(`${mode} drain`, window, n)
  }
  await app.close({ timeoutMs: 5_000 })
  const names = queueNames(prefix, 'q', DEFAULT_DELAY_LEVELS)
  const queues = [names.work, names.dead, ...names.delays.map((d) => d.name), catalogName(prefix)]
  await deleteQueues(url, events ? [...queues, eventStreamQueue(prefix)] : queues)
}

const modes = values.modes.split(',')
const loadNow = loadavg().map((l) => l.toFixed(1))
console.log(
  `jobs ${n}, concurrency ${concurrency}, events ${values.events}, priorityLevels ${levels}, confirmAcks ${confirmAcks}, load ${loadNow.join(' ')}`,
)
for (let round = 0; round < Number(values.rounds); round++) {
  for (const mode of modes) {
    if (mode.startsWith('raw')) await rawRound(mode, round, values.what)
    else await conveyorRound(mode as 'adapter' | 'app', round, values.what)
  }
}
process.exit(0)
