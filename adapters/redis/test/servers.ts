import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { sleep } from '@conveyor/test-support'
import { Redis } from 'ioredis'

/** A private redis-server for tests that restart or reconfigure a server (never the shared one on 6379). */
export interface PrivateRedis {
  readonly port: number
  readonly dir: string
  /** Graceful SHUTDOWN (data saved), then start again on the same port and directory. */
  restart(downMs?: number): Promise<void>
  /** Stop the server and remove its directory. */
  stop(): Promise<void>
}

/**
 * Throw unless `port` is a real port number. ioredis connects to 6379 when given `port: undefined`, and 6379 is the
 * shared server: a helper that could PING it as "ours" and later SHUTDOWN it must never run with a bad port.
 */
function assertPort(port: unknown): asserts port is number {
  if (!(Number.isInteger(port) && (port as number) > 0 && (port as number) < 65_536 && port !== 6379)) {
    throw new Error(`private redis-server helpers need an explicit port other than 6379, got ${String(port)}`)
  }
}

/** Resolve once a server answers PING on `port`. */
export async function waitForPing(port: number, timeoutMs = 10_000, password?: string): Promise<void> {
  assertPort(port)
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const probe = new Redis({
      port,
      host: '127.0.0.1',
      ...(password === undefined ? {} : { password }),
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    })
    probe.on('error', () => {})
    try {
      await probe.connect()
      await probe.ping()
      return
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`, { cause: error })
      await sleep(50)
    } finally {
      probe.disconnect()
    }
  }
}

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = createServer()
    probe.once('error', () => resolve(false))
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)))
  })

/**
 * `count` distinct free loopback ports (and, for cluster nodes, their bus ports at +10000), picked at random so that
 * concurrent test runs never fight over a port and a server left behind by a killed run is in nobody's way. All of
 * them lie below Linux's ephemeral range (32768+): a port found free there could be taken by any outgoing
 * connection of the busy test run before the server binds it.
 */
export async function freePorts(count: number, withBus = false): Promise<number[]> {
  const ports: number[] = []
  while (ports.length < count) {
    const port = 12_000 + Math.floor(Math.random() * 10_000)
    if (ports.includes(port) || ports.includes(port + 10_000) || ports.includes(port - 10_000)) continue
    if ((await portFree(port)) && (!withBus || (await portFree(port + 10_000)))) ports.push(port)
  }
  return ports
}

/** Start `redis-server` with `args`; fails loudly when it is not installed. */
export function spawnRedisServer(args: readonly string[], cwd: string): ChildProcess {
  const child = spawn('redis-server', [...args], { cwd, stdio: 'ignore' })
  child.on('error', (error) => {
    throw new Error('redis-server is not installed: apt-get install redis-server', { cause: error })
  })
  return child
}

export const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once('exit', () => resolve()))

/** The directory the server answering on `port` runs in: tells our server from another test's on a reused port. */
async function servingDir(port: number, password?: string): Promise<string | undefined> {
  const probe = new Redis({ port, host: '127.0.0.1', password, lazyConnect: true, retryStrategy: () => null })
  probe.on('error', () => {})
  try {
    await probe.connect()
    try {
      const [, dir] = (await probe.config('GET', 'dir')) as [string, string]
      return dir
    } catch {
      // A Sentinel has no CONFIG command; its INFO names the config file it was started with, in its directory.
      const file = /config_file:(.*)\r?\n/.exec(await probe.info('server'))?.[1]
      return file === undefined ? undefined : dirname(file)
    }
  } catch {
    return undefined
  } finally {
    probe.disconnect()
  }
}

/**
 * Spawn on `port` and wait until the server answering there is this one (its `dir` is ours). A port picked free can
 * still be taken before redis-server binds it — by another test's server, restarting on it — and a PING alone would
 * then hand this test someone else's server, which goes away under it.
 */
export async function spawnOwned(
  args: readonly string[],
  port: number,
  dir: string,
  password?: string,
): Promise<ChildProcess> {
  const child = spawnRedisServer(args, dir)
  const deadline = Date.now() + 10_000
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server on port ${port} exited at start (port taken?)`)
    }
    try {
      await waitForPing(port, 200, password)
      if ((await servingDir(port, password)) === dir) return child
    } catch {}
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`redis-server on port ${port} did not start`)
    }
    await sleep(50)
  }
}

/** A private server on a free port (or `port`). */
export async function startPrivateRedis(port?: number, extra: readonly string[] = []): Promise<PrivateRedis> {
  const given = port
  for (let attempt = 1; ; attempt++) {
    const chosen = given ?? (await freePorts(1))[0]!
    try {
      return await startOn(chosen, extra)
    } catch (error) {
      if (given !== undefined || attempt >= 5) throw error
    }
  }
}

async function startOn(port: number, extra: readonly string[]): Promise<PrivateRedis> {
  assertPort(port)
  const dir = mkdtempSync(join(tmpdir(), `conveyor-redis-${port}-`))
  // Append-only file: a graceful SHUTDOWN flushes it, so a restart loses nothing that was acknowledged.
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    ...extra,
  ]
  let child: ChildProcess
  try {
    child = await spawnOwned(args, port, dir)
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
  const shutdown = async () => {
    const admin = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null })
    admin.on('error', () => {})
    try {
      await admin.connect()
      // Only ever shut down the server this helper started: it runs in our own directory.
      const [, serving] = (await admin.config('GET', 'dir')) as [string, string]
      if (serving === dir) await admin.shutdown().catch(() => {})
      else child.kill('SIGKILL')
    } catch {
      child.kill('SIGKILL')
    } finally {
      admin.disconnect()
    }
    await exited(child)
  }
  return {
    port,
    dir,
    async restart(downMs = 300) {
      await shutdown()
      await sleep(downMs)
      child = await spawnOwned(args, port, dir)
    },
    async stop() {
      await shutdown()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
