import { randomUUID } from 'node:crypto'
import type { Delivery } from '@conveyor/core/adapter'
import { createRabbitMQBroker, type RabbitMQBroker } from '@conveyor/rabbitmq'
import { envelope, eventually, sleep } from '@conveyor/test-support'
import { connect } from 'amqplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { legacyDelayQueueArguments } from '../src/delay-queues'
import type { RabbitMQLogger } from '../src/options'
import { dlxRetryConfig, type RabbitMQCluster, type RabbitMQNode, startRabbitMQCluster } from './cluster'
import { formatFailoverReport, runFailoverLoad } from './failover-load'

/**
 * Messages a quorum queue still holds, counting those it expired but whose dead-lettering the target has not
 * confirmed yet (RabbitMQ's own view: `rabbit_fifo:overview`, read with `rabbitmqctl eval`; AMQP cannot see them).
 * An at-least-once queue keeps such a message until the target confirms it; an at-most-once one has dropped it.
 */
async function heldBy(cluster: RabbitMQCluster, node: RabbitMQNode, queue: string): Promise<number> {
  const lookup = `rabbit_amqqueue:lookup(rabbit_misc:r(<<"/">>, queue, <<"${queue}">>))`
  const out = await cluster.ctl(node, [
    'eval',
    `{ok, Q} = ${lookup}, ra:local_query(amqqueue:get_pid(Q), fun rabbit_fifo:overview/1).`,
  ])
  const count = /num_messages => (\d+)/.exec(out)
  if (count === null) throw new Error(`no num_messages in the overview of ${queue}: ${out}`)
  return Number(count[1])
}

/** `rabbitmqctl a 'b c' d` → ['a', 'b c', 'd'] (single quotes only, as the warning and the docs write it). */
const shellWords = (command: string): string[] =>
  [...command.matchAll(/'([^']*)'|(\S+)/g)].map((match) => match[1] ?? match[2]!)

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
    // The dead-letter worker's retry at 5 s (3.10's default is 180 s), as docs/clusters.md advises for delayed jobs.
    cluster = await startRabbitMQCluster({
      size: 3,
      config: ['net_ticktime = 10'],
      advancedConfig: dlxRetryConfig(5_000),
    })
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

  it('loses no acknowledged delayed job when the leader is killed -9 while jobs pass through the delay queue', async () => {
    const report = await runFailoverLoad({
      cluster,
      jobs: 2_000,
      workers: 2,
      delayMs: 1_000,
      // Back after 5 s, as a supervised node would be: RabbitMQ 3.10's dead-letter worker can be stuck on the killed
      // node until it is back (docs/clusters.md); the cluster's 5 s retry setting then moves what it held.
      restartAfterMs: 5_000,
      drainTimeoutMs: 90_000,
      log: (line) => console.info(`[rmq delayed failover] ${line}`),
    })
    console.info(`[rmq delayed failover]\n${formatFailoverReport(report)}`)
    expect(report.killed).not.toBe('(none)')
    expect(report.delayedAtKill).toBeGreaterThan(0)
    expect(report.lost).toBe(0)
    expect(report.acknowledged + report.rejected).toBe(report.jobs)
    await cluster.restart(cluster.nodes.find((node) => node.name === report.killed)!)
  }, 240_000)

  it('dead-letters delay queues at-least-once; the documented policy gives it to ones an earlier version declared', async () => {
    const n1 = cluster.nodes[0]!
    const warnings: string[] = []
    const logger: RabbitMQLogger = { debug() {}, info() {}, error() {}, warn: (_obj, msg) => warnings.push(msg ?? '') }
    const brokerFor = (prefix: string) => {
      const broker = createRabbitMQBroker({ url: [n1.url], prefix, queueType: 'quorum', delayLevels: [1_000], logger })
      brokers.push(broker)
      return broker
    }
    const prefix = `cvt.rmqcluster.${randomUUID().slice(0, 8)}`
    // `fixed` runs the policy its warning names; `unfixed` (another prefix, out of that policy's pattern) does not.
    const fixed = brokerFor(prefix)
    const unfixed = brokerFor(`${prefix}-unfixed`)
    const delayQueue = (broker: RabbitMQBroker, queue: string) => broker.queueNames(queue).delays[0]!.name
    const model = await connect(n1.url)
    model.on('error', () => {})
    let policy = ''
    try {
      // Declared as Conveyor did before: at-most-once dead-lettering.
      const channel = await model.createChannel()
      for (const broker of [fixed, unfixed]) {
        const names = broker.queueNames('legacy')
        const args = legacyDelayQueueArguments(names.work, names.delays[0]!.ms)
        await channel.assertQueue(names.delays[0]!.name, { durable: true, arguments: args })
      }
      // A new delay queue gets the strategy itself; an earlier version's is kept, with a warning naming the policy.
      await fixed.declare({ name: 'fresh' })
      expect(warnings).toEqual([])
      await fixed.declare({ name: 'legacy' })
      await unfixed.declare({ name: 'legacy' })
      expect(warnings).toHaveLength(2)
      const command = /with a policy: (rabbitmqctl .*) \(docs/.exec(warnings[0]!)?.[1]
      expect(command).toBeDefined()
      // The warning's command as a user would run it (the docs show the same one).
      const [tool, ...args] = shellWords(command!)
      expect(tool).toBe('rabbitmqctl')
      policy = args[args.length - 3]!
      await cluster.ctl(n1, args)

      // A delay queue whose target is gone: at-least-once holds the expired message, at-most-once drops it.
      const queues: [RabbitMQBroker, string][] = [
        [fixed, 'fresh'],
        [fixed, 'legacy'],
        [unfixed, 'legacy'],
      ]
      for (const [broker, queue] of queues) await channel.deleteQueue(broker.queueNames(queue).work)
      for (const [broker, queue] of queues) channel.sendToQueue(delayQueue(broker, queue), Buffer.from('{}'))
      await channel.close()
      await sleep(3_000)
      expect(await heldBy(cluster, n1, delayQueue(fixed, 'fresh'))).toBe(1)
      expect(await heldBy(cluster, n1, delayQueue(fixed, 'legacy'))).toBe(1)
      expect(await heldBy(cluster, n1, delayQueue(unfixed, 'legacy'))).toBe(0)
    } finally {
      if (policy !== '') await cluster.ctl(n1, ['clear_policy', policy]).catch(() => '')
      await model.close().catch(() => {})
    }
  }, 60_000)

  it('notices a node that stops answering within the heartbeat and resumes on the next node', async () => {
    const [n1, n2, n3] = [cluster.nodes[0]!, cluster.nodes[1]!, cluster.nodes[2]!]
    const prefix = `cvt.rmqcluster.${randomUUID().slice(0, 8)}`
    // The queue is led by node 2 (declared there); the broker under test prefers node 3 and freezes the node it
    // connected to (node 3, or node 1 when node 3 was slow to answer on a loaded machine), so only its connection is
    // hit, not the queue.
    await make([n2.url], 'declarer', prefix).declare({ name: 'hb', type: 'quorum' })
    let lostAt = 0
    const connectedTo: string[] = []
    const broker = createRabbitMQBroker({
      url: [n3.url, n1.url, n2.url],
      prefix,
      queueType: 'quorum',
      delayLevels: [1_000],
      publishTimeoutMs: 60_000,
      logger: {
        debug: (obj, msg) => {
          const node = (obj as { node?: unknown }).node
          if (msg?.includes('connected') && typeof node === 'string') connectedTo.push(node)
        },
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
    // The node of its latest connection: once it had connected to node 3 and then to node 1 (a slow first answer),
    // and freezing node 3 cut nothing (work resumed at once, and the test failed).
    const current = connectedTo.at(-1) ?? ''
    const frozen = [n3, n1].find((node) => node.url.endsWith(current.slice(current.lastIndexOf(':'))))
    expect(
      frozen,
      `the broker is connected to node 3 or node 1 (it connected to ${connectedTo.join(', ')})`,
    ).toBeDefined()
    cluster.pause(frozen!)
    const frozeAt = Date.now()
    try {
      const sent = envelope('hb')
      await broker.publish(sent)
      await eventually(() => got.some((d) => d.envelope.id === sent.id), 60_000, 'a delivery after the freeze')
      const noticed = (lostAt - frozeAt) / 1000
      const resumed = (Date.now() - frozeAt) / 1000
      console.info(
        `[rmq cluster] connected to ${connectedTo.join(', ')}; froze ${frozen!.url.slice(frozen!.url.lastIndexOf(':'))}; ` +
          `frozen node: connection given up after ${noticed.toFixed(1)} s, ` +
          `work resumed on another node after ${resumed.toFixed(1)} s`,
      )
      // Two missed 5 s heartbeats (10–15 s); RabbitMQ's own 60 s heartbeat would take two minutes or more. Resuming
      // also waits for the other nodes to give up on the frozen one (net_ticktime, 10 s in this cluster).
      expect(lostAt).toBeGreaterThan(0)
      expect(noticed).toBeLessThan(30)
    } finally {
      cluster.resume(frozen!)
    }
  }, 150_000)
})
