/**
 * A worker in its own process, attached to a queue the parent bench created. It reports on stdout, one JSON object
 * per line: `ready` once consuming, `started` when a job's handler starts (crash mode: the handler then hangs until
 * the parent SIGKILLs this process), `progress` every second in rss mode (after a GC, so RSS is not garbage).
 *
 * argv: <system id> <namespace> <crash|rss> [concurrency]
 */

import { benchEnv } from '../cli/env'
import { SYSTEMS } from '../systems/index'

const [systemId, ns, mode, concurrencyArg] = process.argv.slice(2)
const say = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`)

async function main() {
  const system = SYSTEMS.find((s) => s.id === systemId)
  if (!system || !ns || (mode !== 'crash' && mode !== 'rss')) {
    throw new Error('usage: worker.ts <system id> <namespace> <crash|rss> [concurrency]')
  }
  const instance = await system.create(benchEnv(), ns)
  let processed = 0
  const concurrency = Number(concurrencyArg ?? (mode === 'crash' ? 1 : 50))
  await instance.consume(concurrency, {
    onStart: (job) => {
      if (mode === 'crash') say({ event: 'started', i: job.i, pid: process.pid })
    },
    onDone: () => {
      processed++
    },
    ...(mode === 'crash' ? { hold: () => new Promise<void>(() => undefined) } : {}),
  })
  say({ event: 'ready', pid: process.pid })
  if (mode === 'rss') {
    const gc = (globalThis as { gc?: () => void }).gc
    setInterval(() => {
      gc?.()
      const usage = process.memoryUsage()
      say({ event: 'progress', processed, rss: usage.rss, heapUsed: usage.heapUsed })
    }, 1_000)
  }
}

main().catch((error: unknown) => {
  say({ event: 'error', message: (error as Error).message })
  process.exit(1)
})
