import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sleep } from '@conveyor/test-support'

/**
 * Private RabbitMQ nodes for tests and benches: one node or a cluster, started from Debian's rabbitmq-server in a
 * temp dir with its own node names, ports, data, logs and Erlang cookie. The shared node (rabbit@localhost, 5672) and
 * the shared epmd (4369) are never touched: every command here names one of our nodes with `-n`, and a node is only
 * ever stopped through the pid it wrote to our own pid file.
 */

const SBIN = '/usr/lib/rabbitmq/bin'
/** Our ports live in 10000–11999 (the session's RabbitMQ range), in blocks of 16: 2 per node, 8 for the CLI. */
const PORT_BASE = 10_000
const BLOCK = 16
const BLOCKS = 125

export interface RabbitMQNode {
  /** `conveyor-rmqc-<pid>-<n>@localhost` */
  readonly name: string
  readonly amqpPort: number
  readonly url: string
  /** The beam process, or undefined while the node is down. */
  readonly pid: number | undefined
}

export interface RabbitMQCluster {
  readonly nodes: readonly RabbitMQNode[]
  /** AMQP URLs of every node, in node order. */
  readonly urls: readonly string[]
  readonly dir: string
  /** Run `rabbitmqctl -n <node> …args` (or another CLI tool), resolving with stdout. */
  ctl(node: RabbitMQNode, args: readonly string[], tool?: 'rabbitmqctl' | 'rabbitmq-queues'): Promise<string>
  /** The node that leads a quorum queue (its server-side name), as one of `nodes`. */
  leaderOf(queue: string): Promise<RabbitMQNode>
  /** SIGKILL a node (no shutdown, as a crashed machine). */
  kill(node: RabbitMQNode): void
  /** SIGSTOP a node: its sockets stay open and silent, as a frozen VM or a network partition looks to a client. */
  pause(node: RabbitMQNode): void
  /** SIGCONT a paused node. */
  resume(node: RabbitMQNode): void
  /** Start a killed node again on its data dir (it rejoins the cluster by itself). */
  restart(node: RabbitMQNode): Promise<void>
  /** Kill every node we started and remove the temp dir. */
  stop(): Promise<void>
}

/**
 * `advanced.config` setting how soon RabbitMQ's at-least-once dead-letter worker sends again a move its target refused
 * (3.10's default: 180 s). After a leader kill, a delay queue's new worker can start with the work queue's old leader
 * (the killed node) first in its list; RabbitMQ 3.10.8 then refuses every move until that node is back, and retries
 * only on this timer (docs/clusters.md has the details).
 */
export const dlxRetryConfig = (ms: number): string =>
  `[{rabbit, [{dead_letter_worker_publisher_confirm_timeout, ${ms}}]}].\n`

export interface ClusterOptions {
  /** Nodes; 1 gives a private single node. Defaults to 3. */
  readonly size?: number
  /** Extra `rabbitmq.conf` lines for every node (e.g. `consumer_timeout = 5000`). */
  readonly config?: readonly string[]
  /** An `advanced.config` for every node (Erlang terms), for settings rabbitmq.conf does not have. */
  readonly advancedConfig?: string
  /** How long startup may take before it fails with the nodes' log tails. Defaults to 120 s. */
  readonly timeoutMs?: number
}

interface NodeState {
  name: string
  amqpPort: number
  distPort: number
  url: string
  pid: number | undefined
  readonly dir: string
}

/** Every node any cluster in this process started, killed on exit so a failed run leaves no Erlang VM behind. */
const running = new Set<NodeState>()
/** Temp dirs of clusters not stopped yet, removed on exit too. */
const dirs = new Set<string>()
let exitHook = false
function killAllOnExit(): void {
  if (exitHook) return
  exitHook = true
  const killAll = () => {
    for (const node of running) if (node.pid !== undefined) killPid(node.pid)
    for (const dir of dirs) {
      try {
        rmSync(dir, { recursive: true, force: true, maxRetries: 5 })
      } catch {
        // Best effort at exit: a temp dir left behind must not turn a passing run into a failed one.
      }
    }
  }
  process.once('exit', killAll)
  // A run stopped with Ctrl-C or SIGTERM does not reach 'exit': kill our nodes, then let the signal do what it would
  // have done (our listener is gone by then, so its default or another listener's handling applies).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAll()
      process.kill(process.pid, signal)
    })
  }
}

/** Resolves once none of `pids` is alive any more (or after `timeoutMs`). */
async function gone(pids: readonly number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }
  while (pids.some(alive) && Date.now() < deadline) await sleep(100)
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // Already gone.
  }
}

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = createServer()
    probe.once('error', () => resolve(false))
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)))
  })

/** A random free block of 16 ports in our range (concurrent test files and helpers each get their own). */
async function freeBlock(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = PORT_BASE + BLOCK * Math.floor(Math.random() * BLOCKS)
    const ports = Array.from({ length: BLOCK }, (_, i) => base + i)
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base
  }
  throw new Error('[rabbitmq cluster] no free block of 16 ports in 10000–11999')
}

/** Start `size` nodes and join them into one cluster; rejects with the reason (and log tails) if they cannot start. */
export async function startRabbitMQCluster(options: ClusterOptions = {}): Promise<RabbitMQCluster> {
  const size = options.size ?? 3
  const timeoutMs = options.timeoutMs ?? 120_000
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-rmqc-'))
  dirs.add(dir)
  const base = await freeBlock()
  const tag = `conveyor-rmqc-${process.pid}-${base}`
  // One cookie for our nodes and our CLI calls, in our own HOME: the shared install's cookie is not ours to read.
  writeFileSync(join(dir, '.erlang.cookie'), `${tag.replace(/\W/g, '').toUpperCase()}COOKIE`, { mode: 0o400 })
  writeFileSync(join(dir, 'env.conf'), '')
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n')
  const env = (node?: NodeState): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: dir,
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    ERL_EPMD_ADDRESS: '127.0.0.1',
    // Without our own env file the node would read /etc/rabbitmq/rabbitmq-env.conf, which names the shared node.
    RABBITMQ_CONF_ENV_FILE: join(dir, 'env.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CTL_DIST_PORT_MIN: String(base + 8),
    RABBITMQ_CTL_DIST_PORT_MAX: String(base + 15),
    ...(node === undefined
      ? {}
      : {
          RABBITMQ_NODENAME: node.name,
          RABBITMQ_NODE_PORT: String(node.amqpPort),
          RABBITMQ_DIST_PORT: String(node.distPort),
          RABBITMQ_CONFIG_FILE: join(node.dir, 'rabbitmq.conf'),
          RABBITMQ_ADVANCED_CONFIG_FILE: join(node.dir, 'advanced.config'),
          RABBITMQ_MNESIA_BASE: join(node.dir, 'mnesia'),
          RABBITMQ_LOG_BASE: join(node.dir, 'log'),
          RABBITMQ_PID_FILE: join(node.dir, 'pid'),
          RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
        }),
  })
  const nodes: NodeState[] = Array.from({ length: size }, (_, i) => {
    const nodeDir = join(dir, `node${i + 1}`)
    mkdirSync(nodeDir)
    const amqpPort = base + 2 * i
    writeFileSync(
      join(nodeDir, 'rabbitmq.conf'),
      [`listeners.tcp.local = 127.0.0.1:${amqpPort}`, 'loopback_users = none', ...(options.config ?? [])].join('\n'),
    )
    if (options.advancedConfig !== undefined) writeFileSync(join(nodeDir, 'advanced.config'), options.advancedConfig)
    return {
      name: `${tag}-${i + 1}@localhost`,
      amqpPort,
      distPort: base + 2 * i + 1,
      url: `amqp://guest:guest@127.0.0.1:${amqpPort}`,
      pid: undefined,
      dir: nodeDir,
    }
  })
  killAllOnExit()

  const run = (file: string, args: readonly string[], node: NodeState | undefined, timeout = 60_000) =>
    new Promise<string>((resolve, reject) => {
      execFile(join(SBIN, file), args, { env: env(node), timeout }, (error, stdout, stderr) => {
        if (error) reject(new Error(`${file} ${args.join(' ')}: ${error.message.trim()} ${stderr.trim()}`.trim()))
        else resolve(stdout)
      })
    })
  const ctl = (node: NodeState, args: readonly string[], tool: 'rabbitmqctl' | 'rabbitmq-queues' = 'rabbitmqctl') =>
    run(tool, ['-n', node.name, ...args], undefined)

  const boot = async (node: NodeState) => {
    await run('rabbitmq-server', ['-detached'], node)
    const deadline = Date.now() + timeoutMs
    // The node writes its pid file early in boot: take it as soon as it is there, so a failed boot is still killed.
    while (node.pid === undefined && Date.now() < deadline) {
      try {
        node.pid = Number(readFileSync(join(node.dir, 'pid'), 'utf8').trim()) || undefined
      } catch {
        await sleep(100)
      }
    }
    if (node.pid !== undefined) running.add(node)
    await ctl(node, ['await_startup', '--timeout', String(Math.ceil(timeoutMs / 1000))])
  }

  const stop = async () => {
    const killed: number[] = []
    for (const node of nodes) {
      if (node.pid !== undefined) {
        killPid(node.pid)
        killed.push(node.pid)
      }
      node.pid = undefined
      running.delete(node)
    }
    await gone(killed, 10_000)
    // Files can still appear while the tree is removed (ENOTEMPTY seen twice on a loaded machine, after the nodes
    // were killed): retry, and if it still fails leave the tree to the exit hook rather than fail the test on it.
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 25, retryDelay: 200 })
      dirs.delete(dir)
    } catch (error) {
      console.warn(`[cluster] could not remove ${dir} yet (${(error as Error).message}); removing it on exit`)
    }
  }

  try {
    await Promise.all(nodes.map(boot))
    // Join one at a time: two nodes joining the same seed at once can race in mnesia.
    for (const node of nodes.slice(1)) {
      await ctl(node, ['stop_app'])
      await ctl(node, ['join_cluster', nodes[0]!.name])
      await ctl(node, ['start_app'])
    }
  } catch (error) {
    const logs = nodes.map((node) => `${node.name}: ${logTail(node.dir)}`).join('\n')
    await stop()
    throw new Error(`[rabbitmq cluster] could not start ${size} node(s): ${(error as Error).message}\n${logs}`, {
      cause: error,
    })
  }

  const signal = (node: NodeState, name: NodeJS.Signals) => {
    if (node.pid !== undefined) process.kill(node.pid, name)
  }
  const byName = (name: string) => {
    const node = nodes.find((n) => n.name === name)
    if (!node) throw new Error(`[rabbitmq cluster] "${name}" is not one of our nodes`)
    return node
  }
  return {
    nodes,
    urls: nodes.map((node) => node.url),
    dir,
    ctl: (node, args, tool) => ctl(byName(node.name), args, tool),
    async leaderOf(queue) {
      const alive = nodes.find((node) => node.pid !== undefined)!
      const out = await ctl(alive, ['list_queues', 'name', 'leader', '--quiet', '--no-table-headers'])
      for (const line of out.split('\n')) {
        const [name, leader] = line.trim().split(/\s+/)
        if (name === queue && leader) return byName(leader)
      }
      throw new Error(`[rabbitmq cluster] no leader listed for "${queue}":\n${out}`)
    },
    kill(node) {
      const state = byName(node.name)
      if (state.pid !== undefined) killPid(state.pid)
      state.pid = undefined
      running.delete(state)
    },
    pause: (node) => signal(byName(node.name), 'SIGSTOP'),
    resume: (node) => signal(byName(node.name), 'SIGCONT'),
    async restart(node) {
      const state = byName(node.name)
      if (state.pid !== undefined) return
      rmSync(join(state.dir, 'pid'), { force: true })
      await boot(state)
    },
    stop,
  }
}

/** The last lines of a node's logs, for a startup failure message. */
function logTail(nodeDir: string): string {
  try {
    const logDir = join(nodeDir, 'log')
    const lines = readdirSync(logDir)
      .filter((file) => file.endsWith('.log'))
      .flatMap((file) => readFileSync(join(logDir, file), 'utf8').trim().split('\n'))
    return lines.slice(-8).join('\n  ')
  } catch {
    return '(no log)'
  }
}
