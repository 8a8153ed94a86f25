import { randomUUID } from 'node:crypto'
import type { ConveyorEvent } from '@conveyor/core/adapter'
import { createRabbitMQEventStream } from '@conveyor/rabbitmq'
import { AMQP_URL, startedEvent } from '@conveyor/test-support'
import type { Channel } from 'amqplib'
import { describe, expect, it } from 'vitest'
import { Connection, connectionSource } from '../src/connection'
import { EventReader } from '../src/event-stream-reader'
import { deleteEventStream } from './helpers'

const silent = { debug() {}, info() {}, warn() {}, error() {} }

/**
 * A channel that runs `meanwhile` when a consumer started at a timestamp (a `{ time }` read's look) is cancelled:
 * the moment after that look found nothing and before the read decides where to continue.
 */
function withPause(channel: Channel, meanwhile: () => Promise<void>): Channel {
  const timed = new Set<string>()
  return new Proxy(channel, {
    get(target, key, receiver) {
      if (key === 'consume') {
        return async (...args: Parameters<Channel['consume']>) => {
          const ok = await target.consume(...args)
          const offset = args[2]?.arguments?.['x-stream-offset'] as { '!'?: string } | undefined
          if (typeof offset === 'object' && offset?.['!'] === 'timestamp') timed.add(ok.consumerTag)
          return ok
        }
      }
      if (key === 'cancel') {
        return async (tag: string) => {
          if (timed.delete(tag)) await meanwhile()
          return target.cancel(tag)
        }
      }
      const value = Reflect.get(target, key, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

describe('rabbitmq event stream: a read from { time } that finds nothing', () => {
  it('continues before an event written while it was deciding where to continue', async () => {
    const prefix = `cvt.evtime.${randomUUID().slice(0, 8)}`
    const stream = createRabbitMQEventStream({ url: AMQP_URL, prefix })
    const connection = new Connection(connectionSource({ url: AMQP_URL }), {
      name: 'conveyor:test:time-race',
      part: 'event stream',
      logger: silent,
      setup: async () => undefined,
    })
    try {
      await stream.publish([{ ...startedEvent(1), at: Date.now() - 60_000 } as ConveyorEvent])
      const time = Date.now() + 1000
      const late = { ...startedEvent(2), at: time + 1 } as ConveyorEvent
      let wrote = false
      const paused = {
        channel: async () =>
          withPause(await connection.channel(), async () => {
            if (wrote) return
            wrote = true
            await stream.publish([late])
          }),
      } as unknown as Connection
      const queue = `${prefix}.events.stream`
      const reader = new EventReader({
        connection: paused,
        queue,
        declare: async () => {},
        redeclare: () => {},
        ensureOpen: () => {},
        logger: silent,
      })
      const page = await reader.read({ time })
      expect(wrote).toBe(true)
      expect(page.events).toEqual([])
      const next = await stream.read({ after: page.cursor }, { limit: 10 })
      expect(next.events.map((stored) => stored.event)).toEqual([late])
    } finally {
      await connection.close()
      await stream.close()
      await deleteEventStream(prefix)
    }
  }, 30_000)
})
