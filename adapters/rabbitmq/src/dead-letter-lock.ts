import type { Channel } from 'amqplib'
import type { Connection } from './connection'
import { DeadLettersBusyError } from './errors/dead-letters-busy-error'

/** AMQP reply code when another connection holds an exclusive queue. */
const RESOURCE_LOCKED = 405

/**
 * One dead-letter operation at a time per queue, across processes. List, replay and purge take the dead letters with
 * `basic.get` and hold them unacknowledged until they are done, so two at once see each other's messages as gone: a
 * replay misses what a listing holds, pages skip or repeat. The lock is an exclusive queue `<dead>.lock`: RabbitMQ
 * lets one connection declare it (others get RESOURCE_LOCKED) and deletes it if that connection dies, so a crashed
 * holder never blocks the others for longer than its connection lives. Operations of one process (one connection,
 * which may re-declare its own exclusive queue) queue behind each other in memory first.
 */
export class DeadLetterLock {
  private readonly tails = new Map<string, Promise<unknown>>()

  constructor(
    private readonly connection: Connection,
    /** Longest wait for another process's operation, in ms. */
    private readonly waitMs: number,
  ) {}

  /** Run `fn` holding the lock of `dead`; the lock is released after `fn` settled (its channel closed). */
  run<T>(dead: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(dead) ?? Promise.resolve()
    const result = previous.then(
      () => this.holding(dead, fn),
      () => this.holding(dead, fn),
    )
    const tail = result.catch(() => undefined)
    this.tails.set(dead, tail)
    void tail.then(() => {
      if (this.tails.get(dead) === tail) this.tails.delete(dead)
    })
    return result
  }

  private async holding<T>(dead: string, fn: () => Promise<T>): Promise<T> {
    const name = `${dead}.lock`
    const channel = await this.acquire(name)
    try {
      return await fn()
    } finally {
      // `fn` closed its own channel first, so the server has put back what it held before anyone else may look.
      await channel.deleteQueue(name).catch(() => undefined)
      await channel.close().catch(() => undefined)
    }
  }

  private async acquire(name: string): Promise<Channel> {
    const deadline = Date.now() + this.waitMs
    for (let pause = 10; ; pause = Math.min(200, pause * 2)) {
      const channel = await this.connection.channel(deadline)
      channel.on('error', () => undefined)
      try {
        await channel.assertQueue(name, { exclusive: true, durable: false, autoDelete: false })
        return channel
      } catch (error) {
        if ((error as { code?: number }).code !== RESOURCE_LOCKED) throw error
        // The server closed the channel with the error.
        if (Date.now() + pause > deadline) {
          throw new DeadLettersBusyError(
            `[conveyor] [rabbitmq] the dead letters in ${name.slice(0, -'.lock'.length)} are busy: another process has been listing, replaying or purging them for over ${this.waitMs} ms`,
            { cause: error },
          )
        }
        await new Promise((resolve) => setTimeout(resolve, pause + Math.random() * pause))
      }
    }
  }
}
