import { randomUUID } from 'node:crypto'
import type { Delivery } from '@conveyor/core/adapter'
import { createRabbitMQBroker, type RabbitMQBroker } from '@conveyor/rabbitmq'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RabbitMQCluster, startRabbitMQCluster } from './cluster'
import { formatFailoverReport, runFailoverLoad } from './failover-load'
import { envelope, eventually } from './helpers'

/**
 * A real 3-node RabbitMQ cluster (private nodes on 10000–11999, started once for this file): a node that stops
 * answering and a quorum leader killed under load. Starting the cluster takes 20–40 s; a machine where it cannot
 * start fails here with the reason.
 */
describe('rabbitmq 3-node cluster', () => {
  let cluster: RabbitMQCluster
  const brokers: RabbitMQBroker[] = []
  const make = (url: readonly string[], label: string, prefix: string) => {
    const broker = createRabbitMQBroker({
      url,
      prefix,
      queueType: 'quorum',
      delayLevels: [1_000],
      connectionName: `rmqcluster:${label}`,
      publishTimeoutMs: 30_000,
      logger: false,
    })
    brokers.push(broker)
    return broker
  }

  beforeAll(async () => {
    // net_ticktime 10 s (RabbitMQ's default is 60 s): the other nodes give up on a frozen one within 10–15 s.
    cluster = await startRabbitMQCluster({ size: 3, config: ['net_ticktime = 10'] })
  }, 180_000)
  afterAll(async () => {
    await Promise.allSettled(brokers.map((broker) => broker.destroy()))
    await cluster?.stop()
  })

  it('loses no acknowledged job when the quorum leader is killed -9 under load', async () => {
    const report = await runFailoverLoad({
      cluster,
      jobs: 2_000,
      workers: 2,
      log: (line) => console.info(`[rmq failover] ${line}`),
    })
    console.info(`[rmq failover]\n${formatFailoverReport(report)}`)
    expect(report.killed).not.toBe('(none)')
    expect(report.lost).toBe(0)
    expect(report.acknowledged + report.rejected).toBe(report.jobs)
    expect(report.processed).toBeGreaterThanOrEqual(report.acknowledged)
    // Back to three nodes for the next test (the killed node rejoins from its data dir).
    await cluster.restart(cluster.nodes.find((node) => node.name === report.killed)!)
  }, 240_000)

  it('notices a node that stops answering within the heartbeat and resumes on the next node', async () => {
    const [n1, n2, n3] = [cluster.nodes[0]!, cluster.nodes[1]!, cluster.nodes[2]!]
    const prefix = `cvt.rmqcluster.${randomUUID().slice(0, 8)}`
    // The queue is led by node 2 (declared there); the broker under test prefers node 3, which will freeze, so only
    // its connection is hit, not the queue.
    await make([n2.url], 'declarer', prefix).declare({ name: 'hb', type: 'quorum' })
    let lostAt = 0
    const broker = createRabbitMQBroker({
      url: [n3.url, n1.url, n2.url],
      prefix,
      queueType: 'quorum',
      delayLevels: [1_000],
      publishTimeoutMs: 60_000,
      logger: {
        debug() {},
        info() {},
        error() {},
        warn: (_obj, msg) => {
          if (msg?.includes('connection lost')) lostAt ||= Date.now()
        },
      },
    })
    brokers.push(broker)
    const got: Delivery[] = []
    await broker.consume('hb', (delivery) => got.push(delivery), { prefetch: 10 })
    await broker.publish(envelope('hb'))
    await eventually(() => got.length === 1, 10_000, 'the first delivery')
    await got[0]!.ack()

    // A frozen node keeps its sockets open: only heartbeats (5 s by default, two missed) tell the client.
    cluster.pause(n3)
    const frozeAt = Date.now()
    try {
      const sent = envelope('hb')
      await broker.publish(sent)
      await eventually(() => got.some((d) => d.envelope.id === sent.id), 60_000, 'a delivery after the freeze')
      const noticed = (lostAt - frozeAt) / 1000
      const resumed = (Date.now() - frozeAt) / 1000
      console.info(
        `[rmq cluster] frozen node: connection given up after ${noticed.toFixed(1)} s, ` +
          `work resumed on another node after ${resumed.toFixed(1)} s`,
      )
      // Two missed 5 s heartbeats (10–15 s); RabbitMQ's own 60 s heartbeat would take two minutes or more. Resuming
      // also waits for the other nodes to give up on the frozen one (net_ticktime, 10 s in this cluster).
      expect(lostAt).toBeGreaterThan(0)
      expect(noticed).toBeLessThan(30)
    } finally {
      cluster.resume(n3)
    }
  }, 150_000)
})
