import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { promisify } from 'node:util'
import type { BrokerInspector } from '@conveyor/conformance'
import type { DeadLetter } from '@conveyor/core/adapter'
import {
  catalogName,
  createRabbitMQBroker,
  decodeDeadLetterMessage,
  eventStreamQueue,
  queueNames,
  type RabbitMQBroker,
  type RabbitMQBrokerOptions,
} from '@conveyor/rabbitmq'
import { AMQP_URL, rawChannel, uniquePrefix as sharedUniquePrefix } from '@conveyor/test-support'
import { type Channel, type ChannelModel, connect } from 'amqplib'

/** A unique prefix per test so files run in parallel against one server (`cvt.<label>.<8 hex>`). */
export const uniquePrefix = (label: string): string => sharedUniquePrefix(label, { stem: 'cvt', separator: '.' })

/** Short delay levels so tests run fast. */
export const TEST_DELAY_LEVELS = [50, 200, 1_000]

const created = new Map<string, RabbitMQBroker[]>()

/** A broker on `prefix`, remembered for cleanup (`create`: the adapter's factory, or a mutated copy's). */
export function makeBroker(
  prefix: string,
  options: Partial<RabbitMQBrokerOptions> = {},
  create: typeof createRabbitMQBroker = createRabbitMQBroker,
): RabbitMQBroker {
  const broker = create({
    url: AMQP_URL,
    prefix,
    delayLevels: TEST_DELAY_LEVELS,
    connectionName: `${prefix}:${randomUUID().slice(0, 4)}`,
    publishTimeoutMs: 10_000,
    ...options,
  })
  created.set(prefix, [...(created.get(prefix) ?? []), broker])
  return broker
}

/** Destroy the brokers of `prefix` and delete every queue they knew (and any extra server-side names). */
export async function cleanup(prefix: string, extraQueues: string[] = []): Promise<void> {
  const brokers = created.get(prefix) ?? []
  created.delete(prefix)
  const names = new Set([...extraQueues, catalogName(prefix)])
  for (const broker of brokers) {
    for (const queue of broker.knownQueues()) {
      const n = broker.queueNames(queue)
      for (const name of [n.work, n.dead, ...n.delays.map((level) => level.name)]) names.add(name)
    }
    await broker.destroy().catch(() => {})
  }
  const raw = await rawChannel()
  try {
    for (const name of names) await raw.channel.deleteQueue(name)
  } finally {
    await raw.close()
  }
}

const run = promisify(execFile)

/** Close our own connections by name with rabbitmqctl, as an operator would (never the others'). */
export async function closeConnectionsNamed(name: string): Promise<number> {
  const { stdout } = await run('rabbitmqctl', [
    'list_connections',
    '-q',
    '--no-table-headers',
    'pid',
    'client_properties',
  ])
  const pids = stdout
    .split('\n')
    .filter((line) => line.includes(`"${name}`) || line.includes(`,${name}`) || line.includes(name))
    .map((line) => line.split('\t')[0]!)
    .filter((pid) => pid.startsWith('<'))
  for (const pid of pids)
    await run('rabbitmqctl', ['close_connection', pid, 'conveyor test: closing our own connection'])
  return pids.length
}

/** The conformance suite's hooks: a broker per namespace, a raw AMQP inspector, and cleanup of the namespace. */
export function conformanceHooks(
  queueType: 'classic' | 'quorum',
  options: Partial<RabbitMQBrokerOptions> = {},
  create: typeof createRabbitMQBroker = createRabbitMQBroker,
) {
  return {
    createBroker: ({ namespace }: { namespace: string }) =>
      makeBroker(
        namespace,
        { queueType, logger: false, connectionName: `${namespace}:${queueType}`, ...options },
        create,
      ),
    inspect: async ({ namespace }: { namespace: string }): Promise<BrokerInspector> => {
      const model: ChannelModel = await connect(AMQP_URL)
      model.on('error', () => {})
      // A fresh channel per read: a passive check of a missing queue closes the channel it ran on.
      const onChannel = async <T>(fn: (channel: Channel) => Promise<T>, fallback: T): Promise<T> => {
        const channel = await model.createChannel()
        channel.on('error', () => {})
        try {
          return await fn(channel)
        } catch (error) {
          if ((error as { code?: number }).code === 404) return fallback
          throw error
        } finally {
          await channel.close().catch(() => {})
        }
      }
      return {
        ready: (queue) =>
          onChannel(
            async (channel) =>
              (await channel.checkQueue(queueNames(namespace, queue, TEST_DELAY_LEVELS).work)).messageCount,
            0,
          ),
        deadLetters: (queue) =>
          onChannel(async (channel) => {
            const dead: DeadLetter[] = []
            const name = queueNames(namespace, queue, TEST_DELAY_LEVELS).dead
            for (let m = await channel.get(name); m !== false; m = await channel.get(name)) {
              dead.push(decodeDeadLetterMessage(queue, m))
            }
            return dead // closing the channel puts them all back in order
          }, []),
        close: () => model.close().catch(() => {}),
      }
    },
    cleanup: ({ namespace }: { namespace: string }) => cleanup(namespace),
  }
}

/** Delete an event stream's queue (a test's cleanup); gone already is fine. */
export async function deleteEventStream(prefix: string): Promise<void> {
  const connection = await connect(AMQP_URL)
  const channel = await connection.createChannel()
  await channel.deleteQueue(eventStreamQueue(prefix)).catch(() => undefined)
  await connection.close()
}
