import { readdirSync, readFileSync } from 'node:fs'
import type { Redis } from 'ioredis'
import type { BenchEnv, BrokerKind } from '../systems/system'
import { redisClient } from './redis'

/** Reads how much CPU the broker's server has used so far, in µs. */
export interface BrokerCpu {
  read(): Promise<number>
  close(): Promise<void>
}

/**
 * The CPU time of the server a system runs on, so a sample can say what each job cost the broker as well as the
 * client. Redis reports its own (`INFO cpu`: `used_cpu_user` + `used_cpu_sys`, main thread and I/O threads);
 * RabbitMQ's is the `beam.smp` process's, read from /proc (every Erlang thread: schedulers, dirty schedulers, I/O),
 * which shows the priority queue's slow mode as twice the CPU per job (docs/performance.md). Undefined where there is
 * no server (the memory broker) or it cannot be read (another host, no /proc).
 */
export function brokerCpu(broker: BrokerKind, env: BenchEnv): BrokerCpu | undefined {
  if (broker === 'redis') return redisCpu(redisClient(env.redisUrl, 'bench:broker-cpu'))
  if (broker === 'rabbitmq') {
    const pid = beamPid()
    return pid === undefined ? undefined : { read: async () => ticksOf(pid) * 10_000, close: async () => {} }
  }
  return undefined
}

function redisCpu(redis: Redis): BrokerCpu {
  return {
    async read() {
      const info = await redis.info('cpu')
      const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN)
      return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6
    },
    close: async () => void (await redis.quit()),
  }
}

/**
 * The RabbitMQ server on this machine, or undefined: the `beam.smp` started with `-s rabbit boot`. Not just any
 * `beam.smp`: `rabbitmqctl` and `rabbitmq-diagnostics` run one each for a moment (a full run once picked such a one,
 * which was gone by the next reading and cost that sample). Without one started so (a server run another way), the
 * first `beam.smp` found.
 */
export function beamPid(): number | undefined {
  let any: number | undefined
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'beam.smp') continue
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').includes('-s rabbit boot')) {
        return Number(entry)
      }
      any ??= Number(entry)
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return any
}

/** User + system CPU of a process and all its threads so far, in clock ticks (10 ms). */
function ticksOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[11]) + Number(fields[12])
}
