/**
 * Runs tasks one at a time per key, in call order. The dashboard serialises its dead-letter reads and actions per
 * queue with it: on RabbitMQ a listing holds the dead letters it reads (unacknowledged) until it is done, so a replay
 * running at the same moment would not see them.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>()

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve()
    const result = previous.then(task, task)
    const tail = result.catch(() => undefined)
    this.tails.set(key, tail)
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key)
    })
    return result
  }
}
