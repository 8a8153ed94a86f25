import type { DeadLetter, DeadLetterPage, DeadLetterSelection, DeadLetterStore } from '@conveyor/core/adapter'
import { replayedEnvelope, safeJsonParse } from '@conveyor/core/adapter'
import type { Redis } from 'ioredis'
import { envelopeToCelery } from '../protocol/message'
import type { QueueKeys } from './keys'
import { encodeKombu, kombuListIndex, toKombuPriority } from './kombu-layout'

/** Dead letters of Celery queues: a Redis list per queue, oldest first. */
export class RedisCeleryDeadLetters implements DeadLetterStore {
  constructor(
    private readonly client: Redis,
    private readonly keysOf: (queue: string) => QueueKeys,
  ) {}

  async list(queue: string, page: DeadLetterPage = {}): Promise<DeadLetter[]> {
    const offset = page.offset ?? 0
    const limit = page.limit ?? 100
    const items = await this.client.lrange(this.keysOf(queue).dead, offset, offset + limit - 1)
    return items.map((item) => safeJsonParse(item) as DeadLetter)
  }

  count(queue: string): Promise<number> {
    return this.client.llen(this.keysOf(queue).dead)
  }

  async purge(queue: string, ids?: readonly string[]): Promise<number> {
    const key = this.keysOf(queue).dead
    if (ids === undefined) {
      const [[, count]] = (await this.client.multi().llen(key).del(key).exec()) as [[unknown, number]]
      return count
    }
    let removed = 0
    for (const [item] of await this.matching(queue, ids)) removed += await this.client.lrem(key, 1, item)
    return removed
  }

  /** Re-encode each selected entry as a first attempt and move it back onto its Kombu list in one transaction. */
  async replay(queue: string, selection: DeadLetterSelection = {}): Promise<number> {
    const keys = this.keysOf(queue)
    const chosen = (await this.matching(queue, selection.ids)).filter(([, entry]) => entry.envelope !== undefined)
    let replayed = 0
    for (const [item, entry] of chosen.slice(0, selection.limit ?? chosen.length)) {
      const envelope = replayedEnvelope(entry.envelope!, entry.envelope!.queue)
      const kombuPriority = toKombuPriority(envelope.priority)
      const raw = encodeKombu(envelopeToCelery(envelope, kombuPriority), queue)
      const list = keys.lists[kombuListIndex(kombuPriority)]!
      const result = await this.client.multi().lrem(keys.dead, 1, item).lpush(list, raw).exec()
      if (result?.[0]?.[1] === 1) replayed++
    }
    return replayed
  }

  private async matching(queue: string, ids?: readonly string[]): Promise<[string, DeadLetter][]> {
    const items = await this.client.lrange(this.keysOf(queue).dead, 0, -1)
    const wanted = ids === undefined ? undefined : new Set(ids)
    return items
      .map((item): [string, DeadLetter] => [item, safeJsonParse(item) as DeadLetter])
      .filter(([, entry]) => wanted === undefined || wanted.has(entry.id))
  }
}
