import { createApp, InvalidOptionsError } from '@conveyor/core'
import { createRouter } from '@conveyor/core/adapter'
import { describe, expect, it, vi } from 'vitest'

describe('router', () => {
  const route = createRouter([
    { match: 'email.send', queue: 'emails-exact', priority: 9 },
    { match: 'email.*', queue: 'emails' },
    { match: /^report\.(daily|weekly)$/, queue: 'reports', priority: 2 },
    { match: (task, input) => task === 'image.resize' && (input as { big?: boolean })?.big === true, queue: 'heavy' },
    { match: 'image.?ize', queue: 'images' },
  ])

  it('refuses a route whose priority or queue an enqueue would refuse, when the app is made', () => {
    // A routed priority of 10, 2.5 or -1 used to reach the broker (the memory broker threw a TypeError with no code)
    // and a routed queue name with a space went through.
    for (const bad of [{ priority: 10 }, { priority: 2.5 }, { priority: -1 }, { queue: 'reports queue' }]) {
      expect(
        () => createApp({ broker: 'memory://', logger: false, routes: [{ match: 'report.*', ...bad }] }),
        JSON.stringify(bad),
      ).toThrow(InvalidOptionsError)
    }
    expect(() =>
      createRouter([
        { match: 'a', queue: 'ok' },
        { match: 'b', priority: 12 },
      ]),
    ).toThrow(/routes\[1\]: priority/)
  })

  it('tries rules in order and the first match wins', () => {
    expect(route('email.send', {})).toEqual({ match: 'email.send', queue: 'emails-exact', priority: 9 })
    expect(route('email.digest', {})?.queue).toBe('emails')
  })

  it('matches globs on the whole name, RegExps as given', () => {
    expect(route('report.daily', {})?.queue).toBe('reports')
    expect(route('report.monthly', {})).toBeUndefined()
    expect(route('xemail.send', {})).toBeUndefined()
    expect(route('image.size', {})?.queue).toBe('images')
  })

  it('lets predicates look at the input, every time', () => {
    expect(route('image.resize', { big: true })?.queue).toBe('heavy')
    expect(route('image.resize', { big: false })).toBeUndefined()
    expect(route('image.resize', { big: true })?.queue).toBe('heavy')
  })

  it('rejects a rule that routes nowhere', () => {
    expect(() => createRouter([{ match: 'x' }])).toThrow(InvalidOptionsError)
  })
})

describe('where enqueue sends a task', () => {
  it('enqueue options beat task options, which beat routes, which beat the default queue', async () => {
    const app = createApp({
      broker: 'memory://',
      logger: false,
      routes: [{ match: 'a.*', queue: 'routed', priority: 4 }],
      defaults: { queue: 'fallback', priority: 1 },
    })
    const routed = app.task('a.routed', () => null)
    const own = app.task('a.own', () => null, { queue: 'own', priority: 7 })
    const plain = app.task('plain', () => null)
    const jobs = await Promise.all([
      routed.enqueue(null),
      own.enqueue(null),
      plain.enqueue(null),
      own.enqueue(null, { queue: 'override', priority: 0 }),
    ])
    expect(jobs.map((j) => j.queue)).toEqual(['routed', 'own', 'fallback', 'override'])
    const received = new Map<string, number>()
    for (const queue of ['routed', 'own', 'fallback', 'override']) {
      await app.broker.consume(
        queue,
        (delivery) => {
          received.set(queue, delivery.envelope.priority)
          void delivery.ack()
        },
        { prefetch: 1 },
      )
    }
    await vi.waitFor(() => expect(received.size).toBe(4))
    expect(Object.fromEntries(received)).toEqual({ routed: 4, own: 7, fallback: 1, override: 0 })
    await app.close()
  })
})
