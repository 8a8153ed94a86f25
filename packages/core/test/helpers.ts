import { Writable } from 'node:stream'
import { createApp } from '@conveyor/core'
import { pino } from 'pino'
import { afterEach } from 'vitest'

/** A pino logger whose lines land in an array, parsed. */
export function captureLogger() {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line))
      done()
    },
  })
  return { logger: pino({ level: 'debug' }, stream), lines }
}

export { sleep } from '@conveyor/test-support'

/** A maker of memory-broker apps for one test file; every app it made is closed after each test. */
export function useMemoryApps() {
  const apps: ReturnType<typeof createApp>[] = []
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()))
  })
  return (options: Partial<Parameters<typeof createApp>[0]> = {}) => {
    const app = createApp({ broker: 'memory://', logger: false, ...options })
    apps.push(app)
    return app
  }
}
