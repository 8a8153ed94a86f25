import { randomUUID } from 'node:crypto'
import type { Delivery } from '@conveyor/core/adapter'
import { createRabbitMQBroker, type RabbitMQBroker } from '@conveyor/rabbitmq'
import { envelope, eventually, sleep } from '@conveyor/test-support'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RabbitMQCluster, startRabbitMQCluster } from './cluster'

/**
 * What Conveyor does with a task that runs longer than RabbitMQ's `consumer_timeout` (30 min by default): a private
 * node with a 2 s timeout, checked every 0.5 s (`channel_tick_interval`, 60 s by default), and a 5 s handler.
 * See docs/clusters.md, "Tasks longer than consumer_timeout".
 */
describe('rabbitmq consumer_timeout', () => {
  let node: RabbitMQCluster
  let broker: RabbitMQBroker | undefined

  beforeAll(async () => {
    node = await startRabbitMQCluster({
      size: 1,
      config: ['consumer_timeout = 2000'],
      advancedConfig: '[{rabbit, [{channel_tick_interval, 500}]}].\n',
    })
  }, 120_000)
  afterAll(async () => {
    await broker?.destroy()
    await node?.stop()
  })

  it.each(['classic', 'quorum'] as const)(
    'on a %s queue: the server takes the delivery back, the task runs again, the late ack fails, nothing is lost',
    async (queueType) => {
      const warnings: string[] = []
      broker = createRabbitMQBroker({
        url: node.urls[0]!,
        prefix: `cvt.rmqcluster.ct.${randomUUID().slice(0, 8)}`,
        queueType,
        delayLevels: [1_000],
        logger: { debug() {}, info() {}, error() {}, warn: (obj, msg) => warnings.push(`${msg} ${errorText(obj)}`) },
      })
      const runs: { id: string; deliveryCount: number; settled?: string }[] = []
      const slow = envelope('q')
      await broker.consume(
        'q',
        (delivery: Delivery) => {
          const run: (typeof runs)[number] = { id: delivery.envelope.id, deliveryCount: delivery.deliveryCount }
          runs.push(run)
          // The first run outlives the 2 s timeout; the redelivered one finishes in time.
          const ms = delivery.envelope.id === slow.id && runs.length === 1 ? 5_000 : 10
          void sleep(ms)
            .then(() => delivery.ack())
            .then(
              () => (run.settled = 'acked'),
              (error: unknown) => (run.settled = `ack failed: ${(error as Error).message}`),
            )
        },
        { prefetch: 5 },
      )
      await broker.publish(slow)
      await eventually(() => runs.length === 2 && runs.every((run) => run.settled), 20_000, 'both runs settled')
      console.info(`[consumer_timeout ${queueType}] runs: ${JSON.stringify(runs)}\n  warnings: ${warnings.join(' | ')}`)

      // The timeout closed the consumer's channel: the server requeued the delivery, which ran a second time.
      expect(runs.map((run) => run.id)).toEqual([slow.id, slow.id])
      expect(runs[1]!.deliveryCount).toBe(2)
      expect(runs[1]!.settled).toBe('acked')
      // The first run's handler went on to the end; its ack, on the channel the server closed, is refused.
      expect(runs[0]!.settled).toMatch(/^ack failed/)
      expect(warnings.join('\n')).toMatch(/consumer channel error.*timed out|PRECONDITION_FAILED/i)
      // The consumer came back by itself: later jobs still run, and the queue is empty.
      const after = envelope('q')
      await broker.publish(after)
      await eventually(() => runs.some((run) => run.id === after.id && run.settled === 'acked'), 10_000, 'a later job')
      expect((await broker.stats('q')).ready).toBe(0)
      await broker.destroy()
      broker = undefined
    },
    60_000,
  )
})

const errorText = (obj: object): string => {
  const err = (obj as { err?: unknown }).err
  return err instanceof Error ? err.message : ''
}
