/**
 * The bimodal RabbitMQ drain (issue 18): fill a classic queue with N jobs — in bulk (`enqueueMany` / pipelined
 * amqplib publishes) or one by one (64 in flight) — then read the queue's state from `rabbitmqctl list_queues` (memory, messages and bytes in RAM, disk reads and writes, flow state) and again after the drain, and drain it at
 * concurrency 50, alternating the fill modes and systems. Prints one line per run. Queues are this run's own
 * (`cvbench-…`) and deleted afterwards.
 *
 *   npx tsx --conditions=conveyor-source bench/src/tools/rabbitmq-backlog.ts [--runs 4] [--jobs 20000]
 *       [--only conveyor-rabbitmq,raw-amqp-same]
 */
import { execFile } from 'node:child_process'
import { parseArgs } from 'node:util'
import { benchEnv } from '../cli/env'
import { jobs } from '../scenarios/context'
import { pickSystems } from '../systems/index'
import type { SystemInstance } from '../systems/system'
import { inFlight } from '../util/pool'
import { now, waitFor } from '../util/time'

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '4' },
    jobs: { type: 'string', default: '20000' },
    only: { type: 'string', default: 'conveyor-rabbitmq,raw-amqp-same' },
  },
})
const n = Number(values.jobs)
const systems = pickSystems(values.only.split(',')).filter((s) => s.broker === 'rabbitmq')
const env = benchEnv()

const ITEMS = ['name', 'messages', 'messages_ram', 'message_bytes_ram', 'memory', 'disk_reads', 'disk_writes', 'state']

/** The queue's row from `rabbitmqctl list_queues` (read-only), for the queue named `<namespace>.q`. */
function queueState(queue: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      'rabbitmqctl',
      ['list_queues', '-q', '--no-table-headers', ...ITEMS],
      { timeout: 30_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout) => {
        if (error) return resolve(`(rabbitmqctl: ${error.message.split('\n')[0]})`)
        const line = stdout.split('\n').find((l) => l.startsWith(`${queue}\t`))
        if (line === undefined) return resolve('(queue not listed)')
        const cells = line.split('\t')
        resolve(
          ITEMS.slice(1)
            .map((item, i) => `${item}=${cells[i + 1]}`)
            .join(' '),
        )
      },
    )
  })
}

async function fillOneByOne(instance: SystemInstance, list: readonly { i: number; t: number }[]) {
  await inFlight(list.length, 64, (i) => instance.enqueue(list[i]!))
}

async function drain(instance: SystemInstance): Promise<number> {
  let done = 0
  let from = 0
  let to = 0
  const skip = Math.floor(n * 0.05)
  const consumer = await instance.consume(50, {
    onDone: () => {
      done++
      if (done === skip) from = now()
      if (done === n) to = now()
    },
  })
  try {
    await waitFor(() => done >= n, `${n} completions`, 300_000, 5)
  } finally {
    await consumer.stop()
  }
  return ((n - skip) / (to - from)) * 1000
}

for (let round = 0; round < Number(values.runs); round++) {
  const modes = round % 2 === 0 ? (['bulk', 'single'] as const) : (['single', 'bulk'] as const)
  for (const mode of modes) {
    for (const system of systems) {
      const instance = await system.create(env)
      try {
        const started = now()
        if (mode === 'bulk') await instance.fill(jobs(n))
        else await fillOneByOne(instance, jobs(n))
        const fillSeconds = (now() - started) / 1000
        const queue = `${instance.namespace}.q`
        const before = await queueState(queue)
        const rate = await drain(instance)
        const after = await queueState(queue)
        console.log(
          `#${round + 1} ${system.id} fill=${mode} (${fillSeconds.toFixed(1)} s): drain ${Math.round(rate)} jobs/s\n    after fill:  ${before}\n    after drain: ${after}`,
        )
      } finally {
        await instance.close()
      }
    }
  }
}
process.exit(0)
