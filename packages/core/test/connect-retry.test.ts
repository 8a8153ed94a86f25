import { createApp, NotConnectedError } from '@conveyor/core'
import { createMemoryBroker } from '@conveyor/core/adapter'
import { afterEach, describe, expect, it } from 'vitest'

describe('an app whose first connect failed', () => {
  const apps: ReturnType<typeof createApp>[] = []
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()))
  })

  it('connects again on the next call instead of rethrowing the first failure', async () => {
    const broker = createMemoryBroker()
    const connect = broker.connect.bind(broker)
    let down = true
    // The server is down for the first connect and up after.
    Object.assign(broker, {
      connect: () => (down ? Promise.reject(new NotConnectedError('[test] server down')) : connect()),
    })
    const app = createApp({ broker, logger: false })
    apps.push(app)
    const task = app.task('t', () => null)
    await expect(task.enqueue(null)).rejects.toBeInstanceOf(NotConnectedError)
    down = false
    const job = await task.enqueue(null)
    expect((await app.broker.stats(job.queue)).ready).toBe(1)
  })
})
