import { runBrokerConformance, runResultBackendConformance } from '@conveyor/conformance'
import { createApp, fixed, UnrecoverableError } from '@conveyor/core'
import type { DeadLetter, Delivery } from '@conveyor/core/adapter'
import { envelope, uniquePrefix } from '@conveyor/test-support'
import type { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openClient } from '../src/connection'
import { createRedisBroker, createRedisResultBackend, prefixPattern, queueKeys } from '../src/index'
import { rethrowTyped } from '../src/scripts'
import { type LocalCluster, startLocalCluster } from './cluster'
import { rawInspector, until } from './helpers'

// One local 3-master cluster for the whole file: the adapter's own tests and the full conformance suite run on it.
let cluster: LocalCluster
let raw: Cluster

beforeAll(async () => {
  cluster = await startLocalCluster()
  raw = cluster.client()
}, 60_000)
afterAll(async () => {
  raw?.disconnect()
  await cluster?.stop()
})

/** SCAN every master for the prefix's keys (no KEYS, no FLUSHALL). */
async function deleteOnCluster(prefix: string) {
  for (const node of raw.nodes('master')) {
    for (const pattern of [prefixPattern(prefix), `${prefix}:*`]) {
      let cursor = '0'
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
        cursor = next
        for (const key of keys) await node.unlink(key)
      } while (cursor !== '0')
    }
  }
}

describe('redis cluster', () => {
  it('spreads queues over the masters, each queue on one slot, and round-trips through a Cluster client', async () => {
    const prefix = uniquePrefix('cluster')
    const client = cluster.client()
    const broker = createRedisBroker({ client, prefix, leaseMs: 2000, logger: false })
    const queues = Array.from({ length: 12 }, (_, i) => `q${i}`)
    const got: Delivery[] = []
    for (const queue of queues) {
      await broker.publish(envelope(queue, { payload: queue, priority: 5 }))
      await broker.consume(queue, (d) => got.push(d), { prefetch: 5 })
    }
    // Generous: twelve consumers starting on a cluster of a machine loaded far beyond its cores (seen > 5 s).
    await until(() => got.length === queues.length, 15_000)
    expect(got.map((d) => d.envelope.payload).sort()).toEqual([...queues].sort())
    for (const d of got) await d.ack()
    // All keys of a queue hash to one slot; different queues land on different masters.
    const owners = new Set<string>()
    for (const queue of queues) {
      const k = queueKeys(prefix, queue)
      const all = [...k.ready, k.delayed, k.inflight, k.leases, k.dead, k.deadRecords, k.wake, k.seq]
      const slots = new Set(await Promise.all(all.map((key) => raw.cluster('KEYSLOT', key))))
      expect(slots.size).toBe(1)
      owners.add(raw.slots[Number([...slots][0])]![0]!)
    }
    expect(owners.size).toBeGreaterThan(1)
    await broker.close()
    // A client the adapter did not create stays open.
    expect(client.status).toBe('ready')
    client.disconnect()
    await deleteOnCluster(prefix)
  })

  it('retries and dead-letters through the core app on the cluster', async () => {
    const prefix = uniquePrefix('cluster-app')
    const nodes = cluster.nodes
    const app = createApp({
      broker: createRedisBroker({ cluster: { nodes }, prefix, leaseMs: 2000, logger: false }),
      results: createRedisResultBackend({ cluster: { nodes }, prefix, logger: false }),
      logger: false,
      defaults: { queue: 'jobs', retry: { maxAttempts: 3, backoff: fixed(30) } },
    })
    let runs = 0
    const flaky = app.task('flaky', async () => {
      runs++
      if (runs < 3) throw new Error('flake')
      return runs
    })
    const doomed = app.task('doomed', async () => {
      throw new UnrecoverableError('never')
    })
    const worker = app.worker({ queues: ['jobs'], concurrency: 4 })
    await worker.start()
    expect(await (await flaky.enqueue(null)).result({ timeoutMs: 5000 })).toBe(3)
    const job = await doomed.enqueue(null)
    await expect(job.result({ timeoutMs: 5000 })).rejects.toThrow()
    await until(async () => (await app.broker.deadLetters.count('jobs')) === 1, 5000)
    const [dead] = await app.broker.deadLetters.list('jobs')
    expect((dead as DeadLetter).reason).toBe('unrecoverable')
    expect(await app.broker.deadLetters.replay('jobs')).toBe(1)
    await worker.stop({ timeoutMs: 1000 })
    await app.close()
    await deleteOnCluster(prefix)
  })

  // ioredis's Cluster emits 'drain' once per node when it disconnects, so after 'end' its status goes back to 'close'
  // and a command sent then waits in its offline queue forever: a dead-letter replay racing a destroy never settled
  // (the conformance case paths.interrupted-moves, under load).
  it('a call made after destroy or close rejects as not connected instead of waiting forever', async () => {
    const prefix = uniquePrefix('cluster-ended')
    const settles = (call: () => Promise<unknown>) =>
      Promise.race([
        call().then(
          () => 'resolved',
          (error: { code?: string }) => error.code,
        ),
        new Promise((resolve) => setTimeout(() => resolve('still waiting after 2 s'), 2000)),
      ])
    for (const end of ['destroy', 'close'] as const) {
      const broker = createRedisBroker({ cluster: { nodes: cluster.nodes }, prefix, leaseMs: 1000, logger: false })
      await broker.publish(envelope('q', { payload: end }))
      await broker[end]()
      // Until every node has ended, past the status going from 'end' back to 'close'.
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect([end, await settles(() => broker.deadLetters.count('q'))]).toEqual([end, 'CONVEYOR_NOT_CONNECTED'])
      expect([end, await settles(() => broker.deadLetters.replay('q', { ids: ['x'] }))]).toEqual([
        end,
        'CONVEYOR_NOT_CONNECTED',
      ])
    }
    // What refuses them underneath, for the parts that do not check their own state first.
    for (const end of ['disconnect', 'quit'] as const) {
      const { client } = openClient({ cluster: { nodes: cluster.nodes } }, 'conveyor:test')
      await client.set(`${prefix}:k`, end)
      await client[end]()
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect([end, await settles(() => client.get(`${prefix}:k`).catch(rethrowTyped))]).toEqual([
        end,
        'CONVEYOR_NOT_CONNECTED',
      ])
    }
    await deleteOnCluster(prefix)
  })
})

runBrokerConformance({
  name: 'redis cluster',
  createBroker: ({ namespace }) =>
    createRedisBroker({ cluster: { nodes: cluster.nodes }, prefix: namespace, leaseMs: 1000, logger: false }),
  inspect: ({ namespace }) => rawInspector(raw, namespace, async () => {}),
  cleanup: ({ namespace }) => deleteOnCluster(namespace),
})

runResultBackendConformance({
  name: 'redis cluster',
  createBackend: ({ namespace }) =>
    createRedisResultBackend({ cluster: { nodes: cluster.nodes }, prefix: namespace, logger: false }),
  cleanup: ({ namespace }) => deleteOnCluster(namespace),
})
