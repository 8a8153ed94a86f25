import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { until } from '@conveyor/test-support'
import { Redis } from 'ioredis'
import { exited, freePorts, spawnOwned } from './servers'

export interface LocalSentinelOptions {
  /** `down-after-milliseconds`: how long the master may not answer before the Sentinels call it down. Default 1000. */
  readonly downAfterMs?: number
  /** `failover-timeout`. Default 3000 (Sentinel's own default is 3 minutes). */
  readonly failoverTimeoutMs?: number
  /** Master name the Sentinels monitor. Default `conveyor-test`. */
  readonly masterName?: string
  /** `requirepass` of the data nodes (the Sentinels get it as `auth-pass`; they take no password themselves). */
  readonly password?: string
}

/** A Redis master, its replica and three Sentinels (quorum 2) on loopback ports, each in its own temp directory. */
export interface LocalSentinel {
  readonly masterName: string
  readonly sentinels: { host: string; port: number }[]
  /** The two data nodes' ports (which one is master changes on failover). */
  readonly dataPorts: readonly number[]
  /** The master's port as the Sentinels report it now. */
  masterPort(): Promise<number>
  /** SIGKILL the data node on `port` (no shutdown, nothing saved). */
  kill(port: number): Promise<void>
  /** SIGSTOP (`frozen: true`) or SIGCONT a data node: a replica that stops reading its master's stream. */
  freeze(port: number, frozen: boolean): void
  /** Resolves with the new master's port once the Sentinels have promoted another node than `oldPort`. */
  waitFailover(oldPort: number, timeoutMs?: number): Promise<number>
  /** Start a killed data node again, as a replica of the current master, and wait until it is in sync. */
  revive(port: number): Promise<void>
  /** SIGKILL everything this harness started and remove the directories. */
  stop(): Promise<void>
}

interface Proc {
  readonly port: number
  readonly dir: string
  child: ChildProcess | undefined
}

const dataArgs = (port: number, dir: string, password: string | undefined, replicaOf?: number) => [
  ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
  ...['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0'],
  ...(password === undefined ? [] : ['--requirepass', password, '--masterauth', password]),
  ...(replicaOf === undefined ? [] : ['--replicaof', '127.0.0.1', String(replicaOf)]),
]

function sentinelConf(port: number, dir: string, masterPort: number, name: string, o: LocalSentinelOptions): string {
  const file = join(dir, 'sentinel.conf')
  writeFileSync(
    file,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${masterPort} 2`,
      `sentinel down-after-milliseconds ${name} ${o.downAfterMs ?? 1000}`,
      `sentinel failover-timeout ${name} ${o.failoverTimeoutMs ?? 3000}`,
      `sentinel parallel-syncs ${name} 1`,
      ...(o.password === undefined ? [] : [`sentinel auth-pass ${name} ${o.password}`]),
      '',
    ].join('\n'),
  )
  return file
}

async function withNode<T>(port: number, use: (node: Redis) => Promise<T>, password?: string): Promise<T> {
  const node = new Redis({ port, host: '127.0.0.1', password, lazyConnect: true, retryStrategy: () => null })
  node.on('error', () => {})
  try {
    await node.connect()
    return await use(node)
  } finally {
    node.disconnect()
  }
}

/** Polls every 100 ms; a check that throws (a node restarting) counts as not yet. */
const untilNode = (what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> =>
  until(() => check().catch(() => false), timeoutMs, what, { everyMs: 100 })

const replicaSynced = (port: number, password: string | undefined) =>
  withNode(port, async (node) => (await node.info('replication')).includes('master_link_status:up'), password)

/** `SENTINEL MASTER <name>` as a record. */
const sentinelMaster = (port: number, name: string) =>
  withNode(port, async (node) => {
    const flat = (await node.call('SENTINEL', 'MASTER', name)) as string[]
    const record: Record<string, string> = {}
    for (let i = 0; i < flat.length; i += 2) record[flat[i]!] = flat[i + 1]!
    return record
  })

/** Master, replica and three Sentinels on free ports in 12000–22000; fails with the reason when they cannot start. */
export async function startLocalSentinel(options: LocalSentinelOptions = {}): Promise<LocalSentinel> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOn(await freePorts(5), options)
    } catch (error) {
      // A random port taken between the check and the bind: pick others. Any other failure repeats, so say it.
      if (attempt >= 3) throw error
    }
  }
}

async function startOn(ports: readonly number[], options: LocalSentinelOptions): Promise<LocalSentinel> {
  const name = options.masterName ?? 'conveyor-test'
  const procs: Proc[] = ports.map((port) => ({
    port,
    dir: mkdtempSync(join(tmpdir(), `conveyor-sentinel-${port}-`)),
    child: undefined,
  }))
  const stop = async () => {
    for (const proc of procs) proc.child?.kill('SIGKILL')
    await Promise.all(procs.map((proc) => (proc.child ? exited(proc.child) : undefined)))
    for (const proc of procs) rmSync(proc.dir, { recursive: true, force: true })
  }
  const [master, replica, ...sentinels] = procs as [Proc, Proc, Proc, Proc, Proc]
  try {
    master.child = await spawnOwned(
      dataArgs(master.port, master.dir, options.password),
      master.port,
      master.dir,
      options.password,
    )
    replica.child = await spawnOwned(
      dataArgs(replica.port, replica.dir, options.password, master.port),
      replica.port,
      replica.dir,
      options.password,
    )
    await untilNode('replica in sync', 10_000, () => replicaSynced(replica.port, options.password))
    for (const s of sentinels) {
      const conf = sentinelConf(s.port, s.dir, master.port, name, options)
      s.child = await spawnOwned([conf, '--sentinel'], s.port, s.dir)
    }
    // Each Sentinel must know the other two (for a quorum) and the replica (to promote it).
    for (const s of sentinels) {
      await untilNode(`sentinel ${s.port} to see its peers and the replica`, 20_000, async () => {
        const m = await sentinelMaster(s.port, name)
        return m['num-other-sentinels'] === '2' && m['num-slaves'] === '1'
      })
    }
  } catch (error) {
    await stop()
    throw new Error(`could not start Redis + Sentinel on ports ${ports.join(', ')}: ${(error as Error).message}`, {
      cause: error,
    })
  }
  const masterPort = async () => {
    for (const s of sentinels) {
      const m = await sentinelMaster(s.port, name).catch(() => undefined)
      if (m?.port !== undefined) return Number(m.port)
    }
    throw new Error('no Sentinel answered')
  }
  const find = (port: number) => {
    const proc = [master, replica].find((p) => p.port === port)
    if (proc === undefined) throw new Error(`no data node of this setup on port ${port}`)
    return proc
  }
  return {
    masterName: name,
    sentinels: sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })),
    dataPorts: [master.port, replica.port],
    masterPort,
    // Resolves once the process is gone: a loaded machine can take a while to reap it, and it serves until then.
    kill: async (port) => {
      const { child } = find(port)
      child?.kill('SIGKILL')
      if (child) await exited(child)
    },
    freeze: (port, frozen) => {
      find(port).child?.kill(frozen ? 'SIGSTOP' : 'SIGCONT')
    },
    async waitFailover(oldPort, timeoutMs = 20_000) {
      let now = oldPort
      await untilNode('Sentinel failover', timeoutMs, async () => {
        now = await masterPort()
        return (
          now !== oldPort &&
          (await withNode(now, async (node) => (await node.role())[0] === 'master', options.password))
        )
      })
      return now
    },
    async revive(port) {
      const proc = find(port)
      if (proc.child) await exited(proc.child)
      const current = await masterPort()
      proc.child = await spawnOwned(
        dataArgs(port, proc.dir, options.password, current),
        port,
        proc.dir,
        options.password,
      )
      await untilNode(`revived node ${port} in sync`, 15_000, () => replicaSynced(port, options.password))
    },
    stop,
  }
}
