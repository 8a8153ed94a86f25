import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { connect } from 'amqplib'

const run = promisify(execFile)

/** Delete the named queues (deleting an absent queue is a no-op). Only ever called with this run's own names. */
export async function deleteQueues(url: string, names: readonly string[]): Promise<void> {
  if (names.length === 0) return
  const connection = await connect(url, { clientProperties: { connection_name: 'cvbench-cleanup' } })
  try {
    for (const name of names) {
      // A channel error (e.g. PRECONDITION on an exclusive queue) closes the channel: one channel per delete.
      const channel = await connection.createChannel()
      await channel.deleteQueue(name).catch(() => undefined)
      await channel.close().catch(() => undefined)
    }
  } finally {
    await connection.close()
  }
}

/** Delete the named exchanges. */
export async function deleteExchanges(url: string, names: readonly string[]): Promise<void> {
  if (names.length === 0) return
  const connection = await connect(url, { clientProperties: { connection_name: 'cvbench-cleanup' } })
  try {
    for (const name of names) {
      const channel = await connection.createChannel()
      await channel.deleteExchange(name).catch(() => undefined)
      await channel.close().catch(() => undefined)
    }
  } finally {
    await connection.close()
  }
}

/**
 * Queues and exchanges on the server whose name carries `token`, listed with rabbitmqctl: a safety net that finds
 * what an adapter declared under names the bench did not predict. Empty when rabbitmqctl is not available.
 */
export async function listByToken(token: string): Promise<{ queues: string[]; exchanges: string[] }> {
  const list = async (what: 'list_queues' | 'list_exchanges'): Promise<string[]> => {
    try {
      const { stdout } = await run('rabbitmqctl', ['-q', what, 'name'], { timeout: 30_000 })
      return stdout
        .split('\n')
        .map((line) => line.trim())
        .filter((name) => name.includes(token))
    } catch {
      return []
    }
  }
  return { queues: await list('list_queues'), exchanges: await list('list_exchanges') }
}
