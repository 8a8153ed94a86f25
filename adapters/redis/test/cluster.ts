import type { ChildProcess } from 'node:child_process'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Cluster, Redis } from 'ioredis'
import { freePorts, spawnRedisServer, waitForPing } from './servers'

const run = promisify(execFile)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A throwaway 3-master Redis Cluster on loopback ports, each node in its own temp directory. */
export interface LocalCluster {
  readonly nodes: { host: string; port: number }[]
  /** A new ioredis Cluster client on it. */
  client(): Cluster
  stop(): Promise<void>
}

/** Three masters on free loopback ports (each with its cluster bus port at +10000), or on `given` ports. */
export async function startLocalCluster(given?: readonly number[]): Promise<LocalCluster> {
  const ports = given ?? (await freePorts(3, true))
  if (ports.some((port) => !Number.isInteger(port) || port === 6379)) {
    throw new Error(`cluster nodes need explicit ports other than 6379, got ${ports.join(', ')}`)
  }
  const children: ChildProcess[] = []
  const dirs: string[] = []
  const stop = async () => {
    for (const child of children) child.kill('SIGKILL')
    await sleep(50)
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  }
  try {
    for (const port of ports) {
      const dir = mkdtempSync(join(tmpdir(), `conveyor-cluster-${port}-`))
      dirs.push(dir)
      children.push(
        spawnRedisServer(
          [
            '--port',
            String(port),
            '--bind',
            '127.0.0.1',
            '--dir',
            dir,
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            '2000',
            '--save',
            '',
            '--appendonly',
            'no',
          ],
          dir,
        ),
      )
    }
    for (const port of ports) await waitForPing(port)
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ])
    // Every node must agree the cluster is up before clients use it.
    for (const port of ports) {
      const node = new Redis({ port, host: '127.0.0.1' })
      try {
        const deadline = Date.now() + 15_000
        while (!((await node.cluster('INFO')) as string).includes('cluster_state:ok')) {
          if (Date.now() > deadline) throw new Error(`cluster node ${port} never reached cluster_state:ok`)
          await sleep(100)
        }
      } finally {
        node.disconnect()
      }
    }
  } catch (error) {
    await stop()
    throw new Error(`could not start a local Redis Cluster on ports ${ports.join(', ')} (ports in use?)`, {
      cause: error,
    })
  }
  const nodes = ports.map((port) => ({ host: '127.0.0.1', port }))
  return { nodes, client: () => new Cluster(nodes, { enableAutoPipelining: true }), stop }
}
