import { InvalidOptionsError } from '@conveyor/core'
import { createRabbitMQBroker, createRabbitMQResultBackend } from '@conveyor/rabbitmq'
import { AMQP_URL } from '@conveyor/test-support'
import { describe, expect, it } from 'vitest'

/** The longest delay setTimeout honours; above it Node fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1

describe('rabbitmq publishTimeoutMs', () => {
  const makers = {
    broker: (publishTimeoutMs: number) => createRabbitMQBroker({ url: AMQP_URL, publishTimeoutMs, logger: false }),
    'RPC result backend': (publishTimeoutMs: number) =>
      createRabbitMQResultBackend({ url: AMQP_URL, publishTimeoutMs }),
  }
  for (const [what, make] of Object.entries(makers)) {
    it(`is refused above ${MAX_TIMER_MS} ms (a timer that long would fire at once) by the ${what}, naming the value`, async () => {
      for (const value of [MAX_TIMER_MS + 1, Number.POSITIVE_INFINITY]) {
        expect(() => make(value)).toThrow(InvalidOptionsError)
        expect(() => make(value)).toThrow(new RegExp(`publishTimeoutMs .*${value}`))
      }
      const longest = make(MAX_TIMER_MS)
      await ('destroy' in longest ? longest.destroy() : longest.close())
    })
  }
})
