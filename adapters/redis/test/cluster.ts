import type { ChildProcess } from 'node:child_process'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { sleep } from '@conveyor/test-support'
import { Cluster, type ClusterOptions, Redis } from 'ioredis'
import { exited, freePorts, spawnOwned } from './servers'

const run = promisify(execFile)
export interface LocalClusterOptions {
  /** Replicas per master: 0 (3 nodes) or 1 (6 nodes, each master with one replica that can take over). Default 0. */
  readonly replicas?: 0 | 1
  /**
   * `cluster-node-timeout`: how long a master may not answer before its replica takes over. Default 2000; failover
   * tests use 1000 so that a kill is repaired within a few seconds.
   */
  readonly nodeTimeoutMs?: number
  /** Fixed ports (3 or 6 of them) instead of free ones picked at random. */
  readonly ports?: readonly number[]
}

/** A throwaway Redis Cluster (3 masters, optionally 1 replica each) on loopback ports, each node in its own temp dir. */
export interface LocalCluster {
  /** Every node, masters and replicas (any of them is a valid start node for a client). */
  readonly nodes: { host: string; port: number }[]
  /** A new ioredis Cluster client on it. */
  client(options?: ClusterOptions): Cluster
  /** The port of the master serving `key` right now (asked of a live node). */
  masterOf(key: string): Promise<number>
  /** SIGKILL the node on `port`: no shutdown, nothing saved (the node runs without persistence). */
  kill(port: number): Promise<void>
  /**
   * Start a killed node again on its port and directory. It reads its `nodes.conf`, sees that its replica took over
   * its slots, and rejoins as that replica (full sync). Only call it after the failover: a master that comes back
   * empty before its replica took over would be followed by that replica and everything would be gone.
   */
  revive(port: number): Promise<void>
  /** Resolves once every slot has a live master, every live node says `cluster_state:ok` and every replica is synced. */
  waitHealthy(timeoutMs?: number): Promise<void>
  /** SIGKILL every node this harness started and remove their directories. */
  stop(): Promise<void>
}

interface NodeProcess {
  readonly port: number
  readonly dir: string
  readonly args: readonly string[]
  child: ChildProcess | undefined
}

function nodeArgs(port: number, dir: string, nodeTimeoutMs: number): string[] {
  return [
    ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir],
    ...['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'],
    ...['--cluster-node-timeout', String(nodeTimeoutMs)],
    ...['--save', '', '--appendonly', 'no'],
    // A revived node syncs at once instead of after the default 5 s diskless delay.
    ...['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0'],
  ]
}

/** Three masters (and their replicas) on free loopback ports, each with its cluster bus port at +10000. */
export async function startLocalCluster(options: LocalClusterOptions | readonly number[] = {}): Promise<LocalCluster> {
  const settings: LocalClusterOptions = Array.isArray(options) ? { ports: options } : (options as LocalClusterOptions)
  const count = 3 * (1 + (settings.replicas ?? 0))
  for (let attempt = 1; ; attempt++) {
    const ports = settings.ports ?? (await freePorts(count, true))
    try {
      return await startOn(ports, settings)
    } catch (error) {
      // A random port taken between the check and the bind: pick others. Any other failure repeats, so say it.
      if (settings.ports !== undefined || attempt >= 3) throw error
    }
  }
}

async function startOn(ports: readonly number[], settings: LocalClusterOptions): Promise<LocalCluster> {
  if (ports.some((port) => !Number.isInteger(port) || port === 6379)) {
    throw new Error(`cluster nodes need explicit ports other than 6379, got ${ports.join(', ')}`)
  }
  const nodeTimeoutMs = settings.nodeTimeoutMs ?? 2000
  const procs: NodeProcess[] = []
  const stop = async () => {
    for (const proc of procs) proc.child?.kill('SIGKILL')
    await Promise.all(procs.map((proc) => (proc.child ? exited(proc.child) : undefined)))
    for (const proc of procs) rmSync(proc.dir, { recursive: true, force: true })
  }
  try {
    for (const port of ports) {
      const dir = mkdtempSync(join(tmpdir(), `conveyor-cluster-${port}-`))
      const proc: NodeProcess = { port, dir, args: nodeArgs(port, dir, nodeTimeoutMs), child: undefined }
      procs.push(proc)
      proc.child = await spawnOwned(proc.args, port, dir)
    }
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      String(settings.replicas ?? 0),
      '--cluster-yes',
    ])
    await waitHealthy(procs, 20_000)
  } catch (error) {
    await stop()
    throw new Error(`could not start a local Redis Cluster on ports ${ports.join(', ')}: ${(error as Error).message}`, {
      cause: error,
    })
  }
  const nodes = ports.map((port) => ({ host: '127.0.0.1', port }))
  const find = (port: number) => {
    const proc = procs.find((p) => p.port === port)
    if (proc === undefined) throw new Error(`no node of this cluster on port ${port}`)
    return proc
  }
  return {
    nodes,
    client: (options) => new Cluster(nodes, { enableAutoPipelining: true, ...options }),
    masterOf: (key) => masterOf(procs, key),
    // Resolves once the process is gone: a loaded machine can take a while to reap it, and it serves until then.
    kill: async (port) => {
      const { child } = find(port)
      child?.kill('SIGKILL')
      if (child) await exited(child)
    },
    revive: async (port) => {
      const proc = find(port)
      if (proc.child) await exited(proc.child)
      proc.child = await spawnOwned(proc.args, port, proc.dir)
    },
    waitHealthy: (timeoutMs = 20_000) => waitHealthy(procs, timeoutMs),
    stop,
  }
}

const alive = (proc: NodeProcess) => proc.child !== undefined && proc.child.exitCode === null && !proc.child.signalCode

async function withNode<T>(port: number, use: (node: Redis) => Promise<T>): Promise<T> {
  const node = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null })
  node.on('error', () => {})
  try {
    await node.connect()
    return await use(node)
  } finally {
    node.disconnect()
  }
}

interface NodeLine {
  readonly port: number
  readonly flags: readonly string[]
  readonly ranges: readonly [number, number][]
}

/** `CLUSTER NODES` as seen by one node. */
function parseNodes(text: string): NodeLine[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [, address = '', flags = '', , , , , , ...slots] = line.split(' ')
      const ranges = slots
        .filter((slot) => !slot.startsWith('['))
        .map((slot) => {
          const [from, to = from] = slot.split('-')
          return [Number(from), Number(to)] as [number, number]
        })
      return { port: Number(address.split('@')[0]?.split(':')[1]), flags: flags.split(','), ranges }
    })
}

/** A master not flagged failing whose process we have not killed (the others notice a kill only after the timeout). */
const liveMaster = (procs: readonly NodeProcess[]) => {
  const dead = new Set(procs.filter((proc) => !alive(proc)).map((proc) => proc.port))
  return (node: NodeLine) =>
    node.flags.includes('master') &&
    !node.flags.includes('fail') &&
    !node.flags.includes('fail?') &&
    !dead.has(node.port)
}

async function masterOf(procs: readonly NodeProcess[], key: string): Promise<number> {
  const asked = procs.find(alive)
  if (asked === undefined) throw new Error('no live node to ask')
  return withNode(asked.port, async (node) => {
    const slot = Number(await node.cluster('KEYSLOT', key))
    const master = parseNodes((await node.cluster('NODES')) as string).find(
      (line) => liveMaster(procs)(line) && line.ranges.some(([from, to]) => slot >= from && slot <= to),
    )
    if (master === undefined) throw new Error(`no live master serves slot ${slot}`)
    return master.port
  })
}

/** Every live node reports ok, every slot is served by a live master, and every live replica is in sync. */
async function healthy(procs: readonly NodeProcess[]): Promise<string | undefined> {
  for (const proc of procs.filter(alive)) {
    const why = await withNode(proc.port, async (node) => {
      if (!((await node.cluster('INFO')) as string).includes('cluster_state:ok')) return 'cluster_state not ok'
      const lines = parseNodes((await node.cluster('NODES')) as string)
      const served = lines
        .filter(liveMaster(procs))
        .reduce((n, line) => n + line.ranges.reduce((m, [a, b]) => m + b - a + 1, 0), 0)
      if (served !== 16_384) return `${served} of 16384 slots have a live master`
      const replication = await node.info('replication')
      if (replication.includes('role:slave') && !replication.includes('master_link_status:up')) {
        return 'replica not in sync yet'
      }
      return undefined
    }).catch((error: Error) => error.message)
    if (why !== undefined) return `node ${proc.port}: ${why}`
  }
  return undefined
}

async function waitHealthy(procs: readonly NodeProcess[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const why = await healthy(procs)
    if (why === undefined) return
    if (Date.now() > deadline) throw new Error(`cluster not healthy after ${timeoutMs} ms (${why})`)
    await sleep(100)
  }
}
