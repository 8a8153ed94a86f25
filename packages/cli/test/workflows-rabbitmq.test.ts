import { runWorkflowScenarios } from '@conveyor/conformance'
import { chain, createApp, declareTask, WorkflowsUnsupportedError } from '@conveyor/core'
import { createRabbitMQBroker, createRabbitMQResultBackend, queueNames } from '@conveyor/rabbitmq'
import { createRedisResultBackend } from '@conveyor/redis'
import { deletePrefix, REDIS_URL, rawRedis } from '@conveyor/test-support'
import { connect } from 'amqplib'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// Workflows on RabbitMQ: members travel on RabbitMQ, counting happens in the Redis result backend. The RPC result
// backend keeps records in one producer's memory, so workflows refuse to start on it. (In the CLI package because it
// is the one that depends on both adapters; adapters never import each other.)
const AMQP_URL = process.env.CONVEYOR_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'
const LEVELS = [50, 200, 1000]

let redis: Redis
beforeAll(async () => {
  redis = await rawRedis()
})
afterAll(() => redis.quit())

async function deleteQueue(prefix: string, queue: string) {
  const model = await connect(AMQP_URL)
  try {
    const channel = await model.createChannel()
    const names = queueNames(prefix, queue, LEVELS)
    for (const name of [names.work, names.dead, ...names.delays.map((d) => d.name)]) await channel.deleteQueue(name)
  } finally {
    await model.close().catch(() => undefined)
  }
}

runWorkflowScenarios({
  name: 'rabbitmq broker + redis results',
  // 10,000 members take ~30 s here on a loaded 2-core machine: the suite runs 2,000,
  // CONVEYOR_WORKFLOWS_LARGE=10000 the size (and `npm run bench:chord -w bench` times it).
  large: Number(process.env.CONVEYOR_WORKFLOWS_LARGE ?? 2000),
  createApp: ({ namespace }) =>
    createApp({
      broker: createRabbitMQBroker({ url: AMQP_URL, prefix: namespace, delayLevels: LEVELS }),
      results: createRedisResultBackend({ url: REDIS_URL, prefix: namespace, logger: false }),
      logger: false,
      defaults: { queue: 'wf' },
    }),
  cleanup: async ({ namespace }) => {
    await deleteQueue(namespace, 'wf')
    await deletePrefix(redis, namespace)
  },
})

describe('rabbitmq broker + RPC results: workflows', () => {
  it('refuse to start with WorkflowsUnsupportedError, naming the backend and what to use instead', async () => {
    const prefix = `cvt.wf-rpc.${Date.now()}`
    const app = createApp({
      broker: createRabbitMQBroker({ url: AMQP_URL, prefix, delayLevels: LEVELS }),
      results: createRabbitMQResultBackend({ url: AMQP_URL, prefix }),
      logger: false,
    })
    const step = declareTask<number, number>('wf.step', { queue: 'wf' })
    try {
      const error = await app.enqueueWorkflow(chain(step.with(1), step)).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(WorkflowsUnsupportedError)
      expect(error).toMatchObject({ code: 'CONVEYOR_WORKFLOWS_UNSUPPORTED' })
      expect((error as Error).message).toMatch(/rabbitmq-rpc.*createRedisResultBackend/)
      expect(app.results?.capabilities?.workflowCounting).toBe('none')
    } finally {
      await app.close()
    }
  })
})
