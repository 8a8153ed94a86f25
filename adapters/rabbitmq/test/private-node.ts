import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A RabbitMQ node of a test's own (the shared one on 5672 runs without plugins and must not be reconfigured). */
export interface PrivateNode {
  readonly amqpUrl: string
  /** The management API, credentials included. */
  readonly managementUrl: string
  stop(): Promise<void>
}

const SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server'

/**
 * Start a RabbitMQ node with the management plugin on ports `base` (AMQP), `base + 1` (Erlang distribution) and
 * `base + 2` (management), all in 10000–11999 (the range private RabbitMQ nodes use on shared machines), with its
 * data in a temp dir. Statistics are collected every 500 ms (5 s by default) so tests see changes quickly.
 * Resolves when the management API answers (15–30 s on a loaded machine).
 */
export async function startPrivateNode(base: number, label: string, timeoutMs = 90_000): Promise<PrivateNode> {
  const dir = mkdtempSync(join(tmpdir(), `conveyor-rmq-${label}-`))
  writeFileSync(
    join(dir, 'rabbitmq.conf'),
    [
      `listeners.tcp.default = 127.0.0.1:${base}`,
      `management.tcp.ip = 127.0.0.1`,
      `management.tcp.port = ${base + 2}`,
      'collect_statistics_interval = 500',
      'loopback_users = none',
    ].join('\n'),
  )
  writeFileSync(join(dir, 'enabled_plugins'), '[rabbitmq_management].\n')
  const node = `conveyor-${label}-${process.pid}@localhost`
  const child: ChildProcess = spawn(SERVER, [], {
    cwd: dir,
    // Its own process group, so stop() ends the Erlang VM and its helpers (epmd is shared and left alone).
    detached: true,
    stdio: 'ignore',
    env: {
      ...process.env,
      RABBITMQ_NODENAME: node,
      RABBITMQ_NODE_PORT: String(base),
      RABBITMQ_DIST_PORT: String(base + 1),
      RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
      RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(dir, 'log'),
      RABBITMQ_LOGS: join(dir, 'log', 'node.log'),
      RABBITMQ_PLUGINS_EXPAND_DIR: join(dir, 'plugins'),
      RABBITMQ_PID_FILE: join(dir, 'pid'),
    },
  })
  const managementUrl = `http://guest:guest@127.0.0.1:${base + 2}`
  const stop = async () => {
    if (child.pid !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      try {
        process.kill(-child.pid, 'SIGTERM')
      } catch {}
      const killed = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL')
        } catch {}
      }, 15_000)
      await exited
      clearTimeout(killed)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  const deadline = Date.now() + timeoutMs
  const auth = `Basic ${Buffer.from('guest:guest').toString('base64')}`
  for (;;) {
    if (child.exitCode !== null) {
      await stop()
      throw new Error(`private RabbitMQ node exited with ${child.exitCode} before it was up`)
    }
    try {
      const response = await fetch(`http://127.0.0.1:${base + 2}/api/overview`, {
        headers: { authorization: auth },
        signal: AbortSignal.timeout(2000),
      })
      if (response.ok) break
    } catch {}
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`private RabbitMQ node not up on ${base} within ${timeoutMs} ms`)
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  return { amqpUrl: `amqp://guest:guest@127.0.0.1:${base}`, managementUrl, stop }
}
