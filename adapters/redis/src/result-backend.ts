import { NotConnectedError } from '@conveyor/core'
import { type ResultBackend, type TaskRecord, TERMINAL_STATES } from '@conveyor/core/adapter'
import { closeClient, connectionOf, ensureConnected, openClient, serverName, splitUrl } from './connection'
import { resultChannel, resultKey } from './keys'
import { OutageReporter, resolveLogger } from './logger'
import type { RedisResultBackendOptions } from './options'
import { parseRecord, ResultSubscriber } from './result-subscriber'
import { runScript } from './scripts'
import { createRedisTaskHistory } from './task-history'
import { createRedisWorkflowStore } from './workflow-store'

/**
 * Task records as JSON strings with a TTL. `set` of a terminal state publishes the record on the task's channel in
 * the same script; `wait` subscribes on one shared subscriber connection and then reads the record, so a result
 * written between the two is never missed. Many waiters on one id share one subscription (result-subscriber.ts).
 */
export function createRedisResultBackend(options: RedisResultBackendOptions = {}): ResultBackend {
  const prefix = options.prefix ?? (options.url !== undefined ? splitUrl(options.url).prefix : undefined) ?? 'conveyor'
  const logger = resolveLogger(options.logger)
  const { client, owned } = openClient(options, `conveyor:${prefix}:results`)
  const outage = new OutageReporter(logger, 'result backend', serverName(options))
  const onError = (error: unknown) => outage.failed(error)
  client.on('error', onError)
  let closed = false

  const ensureOpen = () => {
    if (closed) throw new NotConnectedError('[conveyor] [redis] result backend is closed; create a new one')
  }
  const get = async (id: string) => parseRecord(await client.get(resultKey(prefix, id)))
  const waits = new ResultSubscriber({ client, prefix, outage, get })

  return {
    name: 'redis',
    capabilities: { workflowCounting: 'atomic' },
    workflows: createRedisWorkflowStore(client, prefix),
    taskHistory: (historyOptions) =>
      createRedisTaskHistory({
        ...connectionOf(options),
        prefix,
        ...(historyOptions?.retention !== undefined ? { retention: historyOptions.retention } : {}),
      }),
    async connect() {
      ensureOpen()
      await ensureConnected(client)
    },
    async close() {
      if (closed) return
      closed = true
      await waits.close()
      if (owned) await closeClient(client)
      client.off('error', onError)
    },
    async set(record: TaskRecord, setOptions) {
      ensureOpen()
      const terminal = TERMINAL_STATES.has(record.state)
      const ttl = Math.max(1, Math.ceil(setOptions.ttlMs))
      await runScript(
        client,
        'result-set',
        [resultKey(prefix, record.id)],
        [JSON.stringify(record), ttl, terminal ? resultChannel(prefix, record.id) : ''],
      )
    },
    async get(id: string) {
      ensureOpen()
      return get(id)
    },
    async delete(id: string) {
      ensureOpen()
      await client.del(resultKey(prefix, id))
    },
    wait(id: string, waitOptions) {
      ensureOpen()
      return waits.wait(id, waitOptions)
    },
  }
}
