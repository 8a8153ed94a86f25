import { Writable } from 'node:stream'
import { pino } from 'pino'

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

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
