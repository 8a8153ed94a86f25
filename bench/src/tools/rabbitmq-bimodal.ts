/**
 * What decides the mode of the bimodal priority-queue drain (issue 18): fill a fresh queue with N messages, drain it
 * at prefetch / concurrency 50, and print one line per drain with jobs/s, the rate of each quarter of the drain
 * (does the mode switch mid-drain?), this process's CPU per job, RabbitMQ's (beam.smp) CPU per job and the share of
 * the drain window each Erlang scheduler thread was busy (from /proc/<beam>/task/*, read-only). Variants change one
 * factor at a time against `raw` (the bench's raw-amqp-same: durable `x-max-priority: 10` queue, envelope-shaped
 * persistent messages with `priority: 0`, filled in pipelined batches of 1,000 with publisher confirms, drained on a
 * new channel of the same connection right after the fill, prefetch 50, one `basic.ack` per message). Variants run
 * in alternating order round by round. Queues are this run's own (`bimodal-<token>-…`) and deleted afterwards.
 *
 *   npx tsx --conditions=conveyor-source bench/src/tools/rabbitmq-bimodal.ts [--runs 6] [--jobs 50000]
 *       [--variants raw,wait3s] [--list] [--msacc]
 *
 * `--list` prints the variants. `--msacc` samples `rabbitmq-diagnostics runtime_thread_stats` (microstate accounting:
 * emulator vs gc time per thread type) for 1 s at the start of each drain — it perturbs the rate, use it for the
 * split. BEAM_PID overrides the beam.smp process found in /proc.
 *
 * Reading a line: the mode shows in RabbitMQ's CPU per job and the dirty-CPU share far better than in jobs/s on a
 * shared machine. Fast: ~35–60 µs/job of beam CPU, dirty_cpu_sch 7–16%; slow: ~60–160 µs/job, dirty_cpu_sch 28–58%
 * (the queue process's garbage collections of its large heap, which ERTS runs on dirty CPU schedulers).
 * The `app-single-*` variants patch `ChannelAcks.prototype.writeAcks` in this process only (one `basic.ack` per
 * message, or for the first 2,000 settlements of a channel): an experiment, no adapter file is changed.
 */
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { createApp } from '@conveyor/core'
import { catalogName, createRabbitMQBroker, DEFAULT_DELAY_LEVELS, queueNames } from '@conveyor/rabbitmq'
import { type Channel, type ConfirmChannel, type ConsumeMessage, connect, type Options } from 'amqplib'
import { ChannelAcks } from '../../../adapters/rabbitmq/src/acks'
import { benchEnv } from '../cli/env'
import { deleteQueues } from '../util/amqp'
import { beamPid } from '../util/broker-cpu'
import { median } from '../util/stats'
import { now, sleep, waitFor } from '../util/time'
import { VARIANTS, type Variant } from './rabbitmq-bimodal-variants'

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '6' },
    jobs: { type: 'string', default: '50000' },
    variants: { type: 'string', default: 'raw,app' },
    list: { type: 'boolean', default: false },
    msacc: { type: 'boolean', default: false },
  },
})
if (values.list) {
  for (const [name, v] of Object.entries(VARIANTS)) console.log(`${name.padEnd(16)} ${v.description}`)
  process.exit(0)
}
const n = Number(values.jobs)
const skip = Math.floor(n * 0.05)
const QUARTER = Math.floor((n - skip) / 4)
const url = benchEnv().amqpUrl
const token = `bimodal-${Date.now().toString(36)}`
const names = values.variants.split(',')
for (const name of names) if (!VARIANTS[name]) throw new Error(`unknown variant ${name} (--list)`)

// ---- beam.smp threads (read-only /proc) ----

function findBeam(): number | undefined {
  return process.env.BEAM_PID ? Number(process.env.BEAM_PID) : beamPid()
}
const beam = findBeam()
const TICK_MS = 10 // CLK_TCK 100

/** CPU ticks (user + system) by thread name, plus `total`. */
function beamTicks(): Map<string, number> {
  const out = new Map<string, number>()
  if (beam === undefined) return out
  let total = 0
  for (const task of readdirSync(`/proc/${beam}/task`)) {
    try {
      const stat = readFileSync(`/proc/${beam}/task/${task}/stat`, 'utf8')
      const close = stat.lastIndexOf(')')
      const comm = stat.slice(stat.indexOf('(') + 1, close)
      const fields = stat.slice(close + 2).split(' ')
      const ticks = Number(fields[11]) + Number(fields[12])
      total += ticks
      const key = /_scheduler$|_schedu?$/.test(comm) || comm.endsWith('scheduler') ? comm : comm.replace(/^\d+_/, '')
      out.set(key, (out.get(key) ?? 0) + ticks)
    } catch {}
  }
  out.set('total', total)
  return out
}

/** Machine-wide busy share over a window, from /proc/stat (other tenants included). */
function machineTicks(): { busy: number; all: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number)
  const all = cpu.reduce((a, b) => a + b, 0)
  const idle = cpu[3]! + cpu[4]!
  return { busy: all - idle, all }
}

// ---- messages ----

let seq = 0
function message(v: Variant, i: number): { body: Buffer; properties: Options.Publish } {
  const id = `01JBENCH${String(++seq).padStart(18, '0')}`
  const envelope = {
    id,
    task: 'bench.noop',
    payload: { i, t: 0 },
    queue: 'q',
    priority: 0,
    attempt: 1,
    maxAttempts: 3,
    createdAt: Date.now(),
  }
  const properties: Options.Publish = {
    persistent: v.persistent,
    contentType: 'application/json',
    messageId: id,
    mandatory: true,
    timestamp: Math.floor(Date.now() / 1000),
  }
  if (v.priority !== undefined) properties.priority = v.priority
  return { body: Buffer.from(JSON.stringify(envelope)), properties }
}

async function fillRaw(channel: ConfirmChannel, queue: string, v: Variant): Promise<void> {
  if (v.fill === 'raw') {
    for (let i = 0; i < n; i += 1000) {
      for (let j = i; j < Math.min(n, i + 1000); j++) {
        const { body, properties } = message(v, j)
        if (!channel.sendToQueue(queue, body, properties)) await new Promise((r) => channel.once('drain', r))
      }
      await channel.waitForConfirms()
    }
    return
  }
  let next = 0
  const worker = async () => {
    while (next < n) {
      const { body, properties } = message(v, next++)
      await new Promise<void>((resolve, reject) =>
        channel.sendToQueue(queue, body, properties, (error) => (error ? reject(error) : resolve())),
      )
    }
  }
  await Promise.all(Array.from({ length: 64 }, worker))
}

/** Counts completions and times the window from the `skip`-th to the last, with quarter marks. */
class Clock {
  done = 0
  marks: number[] = []
  cpu0 = process.cpuUsage()
  cpu = { user: 0, system: 0 }
  beam0 = new Map<string, number>()
  beam1 = new Map<string, number>()
  machine0 = { busy: 0, all: 0 }
  machine1 = { busy: 0, all: 0 }
  tick(): void {
    this.done++
    if (this.done === skip) {
      this.marks.push(now())
      this.cpu0 = process.cpuUsage()
      this.beam0 = beamTicks()
      this.machine0 = machineTicks()
    } else if (this.done === n) {
      this.marks.push(now())
      this.cpu = process.cpuUsage(this.cpu0)
      this.beam1 = beamTicks()
      this.machine1 = machineTicks()
    } else if (this.done > skip && this.marks.length < 4 && this.done - skip === this.marks.length * QUARTER) {
      this.marks.push(now())
    }
  }
}

interface Sample {
  rate: number
  quarters: number[]
  clientUs: number
  beamUs: number
  schedulers: string
  machineBusy: number
  fillS: number
}

function summarize(clock: Clock, fillMs: number): Sample {
  const m = clock.marks
  const windowMs = m[m.length - 1]! - m[0]!
  const quarters = m.slice(1).map((t, i) => (i < 3 ? QUARTER : n - skip - 3 * QUARTER) / ((t - m[i]!) / 1000))
  const beamDelta = (key: string) => (clock.beam1.get(key) ?? 0) - (clock.beam0.get(key) ?? 0)
  const scheds = [...clock.beam1.keys()]
    .filter((k) => k.endsWith('scheduler'))
    .sort()
    .map((k) => `${k.replace('_scheduler', '')}:${Math.round(((beamDelta(k) * TICK_MS) / windowMs) * 100)}%`)
  const others = [...clock.beam1.keys()]
    .filter((k) => !k.endsWith('scheduler') && k !== 'total')
    .map((k) => [k, beamDelta(k)] as const)
    .filter(([, d]) => d > 0)
    .map(([k, d]) => `${k}:${Math.round(((d * TICK_MS) / windowMs) * 100)}%`)
  const machine = clock.machine1.all - clock.machine0.all
  return {
    rate: ((n - skip) / windowMs) * 1000,
    quarters,
    clientUs: (clock.cpu.user + clock.cpu.system) / (n - skip),
    beamUs: (beamDelta('total') * TICK_MS * 1000) / (n - skip),
    schedulers: [...scheds, ...others].join(' '),
    machineBusy: machine > 0 ? (clock.machine1.busy - clock.machine0.busy) / machine : Number.NaN,
    fillS: fillMs / 1000,
  }
}

let msacc: Promise<string> | undefined

// The single-ack experiment: the same module instance as '@conveyor/rabbitmq' under --conditions=conveyor-source.
let singleAcks = false
/** With `single-first`: acks go one by one while the channel has settled fewer than this many. */
let singleUntil = Number.POSITIVE_INFINITY
/** Calls of the patched writeAcks (proof the patch reached the adapter's module). */
let patchedWrites = 0
{
  const proto = ChannelAcks.prototype as unknown as {
    writeAcks(this: AcksInternals): void
    sendAck(this: AcksInternals, tag: number, multiple: boolean): void
  }
  interface AcksInternals {
    outstanding: number[]
    pending: Set<number>
    settledOnWire: number
    sendAck(tag: number, multiple: boolean): void
  }
  const original = proto.writeAcks
  proto.writeAcks = function (this: AcksInternals) {
    if (!singleAcks || this.settledOnWire >= singleUntil) return original.call(this)
    patchedWrites++
    const tags = [...this.pending].sort((a, b) => a - b)
    for (const tag of tags) {
      this.sendAck(tag, false)
      this.settledOnWire++
    }
    this.outstanding = this.outstanding.filter((tag) => !this.pending.has(tag))
    this.pending.clear()
  }
}

function threadStats(): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      'rabbitmq-diagnostics',
      ['-q', 'runtime_thread_stats', '--sample-interval', '1'],
      { timeout: 30_000 },
      (error, stdout) => {
        if (error) return resolve(`(runtime_thread_stats: ${error.message.split('\n')[0]})`)
        resolve(
          stdout
            .split('\n')
            .filter((l) => /^(Thread|scheduler|dirty_cpu|async|aux)/i.test(l.trim()))
            .map((l) => `    ${l.trim()}`)
            .join('\n'),
        )
      },
    )
  })
}

/** One drain: a fresh queue (`<prefix>.q`, declared as the adapter declares it), filled, paused, drained, deleted. */
async function runOnce(v: Variant, prefix: string): Promise<Sample> {
  const queue = queueNames(prefix, 'q', DEFAULT_DELAY_LEVELS).work
  const connection = await connect(url, { noDelay: true, clientProperties: { connection_name: prefix } })
  const channel = await connection.createConfirmChannel()
  const args: Record<string, number> = v.maxPriority > 0 ? { 'x-max-priority': v.maxPriority } : {}
  await channel.assertQueue(queue, { durable: true, arguments: args })
  const usesApp = v.fill === 'app' || v.consume === 'app' || v.consume === 'adapter'
  const priorityLevels = v.maxPriority === 0 ? 1 : 10
  const broker = usesApp
    ? createRabbitMQBroker({ url, prefix, connectionName: `${prefix}.app`, logger: false, priorityLevels })
    : undefined
  const app = broker
    ? createApp({ broker, results: false, logger: false, events: false, defaults: { queue: 'q' } })
    : undefined
  const task = app?.task('bench.noop', async (_job: { i: number; t: number }) => undefined)
  const clock = new Clock()
  singleAcks = v.adapterAcks === 'single' || v.adapterAcks === 'single-first'
  singleUntil = v.adapterAcks === 'single-first' ? 2000 : Number.POSITIVE_INFINITY
  let second: Awaited<ReturnType<typeof connect>> | undefined
  try {
    const t0 = now()
    if (v.fill === 'app') {
      for (let i = 0; i < n; i += 1000) {
        await task!.enqueueMany(Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({ i: i + j, t: 0 })))
      }
    } else await fillRaw(channel, queue, v)
    const fillMs = now() - t0
    if (v.waitMs > 0) await sleep(v.waitMs)
    // Where the node's threads spend the drain (microstate accounting: emulator vs gc), sampled for 1 s from ~0.5 s in.
    if (values.msacc) msacc = threadStats()
    if (v.consume === 'app') {
      app!.events.on('task.succeeded', () => clock.tick())
      await app!.worker({ queues: ['q'], concurrency: v.prefetch }).start()
    } else if (v.consume === 'adapter') {
      await broker!.consume('q', (delivery) => void delivery.ack().then(() => clock.tick()), { prefetch: v.prefetch })
    } else {
      second = v.ownConnection
        ? await connect(url, { noDelay: true, clientProperties: { connection_name: `${prefix}.c` } })
        : undefined
      await consumeRaw(await (second ?? connection).createChannel(), queue, v, clock)
    }
    await waitFor(() => clock.done >= n, `${n} completions`, 300_000, 5)
    return summarize(clock, fillMs)
  } finally {
    await app?.close({ timeoutMs: 5_000 })
    await second?.close().catch(() => {})
    await connection.close().catch(() => {})
    const q = queueNames(prefix, 'q', DEFAULT_DELAY_LEVELS)
    await deleteQueues(url, [q.work, q.dead, ...q.delays.map((d) => d.name), catalogName(prefix)])
  }
}

async function consumeRaw(consuming: Channel, queue: string, v: Variant, clock: Clock): Promise<void> {
  await consuming.prefetch(v.prefetch)
  // Conveyor-style coalescing: the tags settled during a tick go as one `multiple` ack (in order here: no-op handler).
  const settled: number[] = []
  let scheduled = false
  let lastAcked = 0
  const holder = { fields: { deliveryTag: 0 } } as unknown as ConsumeMessage
  const flush = () => {
    scheduled = false
    settled.sort((a, b) => a - b)
    let upTo = lastAcked
    for (const tag of settled) if (tag === upTo + 1) upTo = tag
    if (upTo > lastAcked) {
      holder.fields.deliveryTag = upTo
      consuming.ack(holder, upTo - lastAcked > 1)
    }
    for (const tag of settled) if (tag > upTo) consuming.ack({ fields: { deliveryTag: tag } } as ConsumeMessage, false)
    lastAcked = Math.max(upTo, ...settled)
    settled.length = 0
  }
  await consuming.consume(
    queue,
    (msg) => {
      if (msg === null) return
      JSON.parse(msg.content.toString('utf8'))
      void Promise.resolve().then(() => {
        if (v.consume === 'raw') consuming.ack(msg)
        else {
          settled.push(msg.fields.deliveryTag)
          if (!scheduled) {
            scheduled = true
            process.nextTick(flush)
          }
        }
        clock.tick()
      })
    },
    { noAck: false },
  )
}

const fmt = (x: number) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1))
console.log(
  `jobs ${n}, runs ${values.runs}, variants ${names.join(',')}, beam pid ${beam ?? 'not found'}, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
)
for (const name of names) console.log(`  ${name}: ${VARIANTS[name]!.description}`)
const results = new Map<string, Sample[]>(names.map((name) => [name, []]))
for (let round = 0; round < Number(values.runs); round++) {
  const order = names.map((_, i) => names[(i + round) % names.length]!)
  for (const name of order) {
    const v = VARIANTS[name]!
    const s = await runOnce(v, `${token}-${name}-${round}`)
    results.get(name)!.push(s)
    const stats = msacc ? await msacc : undefined
    msacc = undefined
    console.log(
      `${name.padEnd(15)} #${round + 1} ${fmt(s.rate).padStart(7)} jobs/s  quarters ${s.quarters.map((q) => (q / 1000).toFixed(1)).join('/')}k  ` +
        `client ${s.clientUs.toFixed(1)} µs/job  beam ${s.beamUs.toFixed(1)} µs/job  [${s.schedulers}]  machine ${(s.machineBusy * 100).toFixed(0)}% busy  fill ${s.fillS.toFixed(1)} s  load ${loadavg()[0]!.toFixed(2)}`,
    )
    if (stats !== undefined) console.log(stats)
    if (v.adapterAcks !== undefined && v.adapterAcks !== 'multiple')
      console.log(`  (patched writeAcks called ${patchedWrites} times)`)
    patchedWrites = 0
    await sleep(500)
  }
}
console.log(
  '\nvariant          median jobs/s  range            per drain (k)                          beam µs/job median',
)
for (const [name, samples] of results) {
  const rates = samples.map((s) => s.rate)
  console.log(
    `${name.padEnd(16)} ${fmt(median(rates)).padStart(9)}  ${fmt(Math.min(...rates))}–${fmt(Math.max(...rates))}`.padEnd(
      52,
    ) +
      `${rates
        .map((r) => (r / 1000).toFixed(1))
        .join(', ')
        .padEnd(40)} ${median(samples.map((s) => s.beamUs)).toFixed(1)}`,
  )
}
process.exit(0)
