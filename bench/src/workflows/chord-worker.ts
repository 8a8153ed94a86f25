/**
 * The Conveyor worker process of the chord bench: one worker on the chord queue, `ready` on stdout once consuming.
 * The callback counts its runs in `<ns>:callbacks` (the bench checks it ran exactly once per chord).
 *
 * argv: <redis|rabbitmq> <namespace> <concurrency> <prefetch>
 */
import { Redis } from 'ioredis'
import { benchEnv } from '../cli/env'
import { CHORD_QUEUE, type ChordBroker, chordApp, member, total } from './chord-tasks'

const [broker, ns, concurrency, prefetch] = process.argv.slice(2) as [ChordBroker, string, string, string]
const env = benchEnv()
const raw = new Redis(env.redisUrl)
const app = chordApp(env, broker, ns)
app.implement(member, (n) => n * 2)
app.implement(total, async (values) => {
  await raw.incr(`${ns}:callbacks`)
  return values.reduce((a, b) => a + b, 0)
})
await app.worker({ queues: [CHORD_QUEUE], concurrency: Number(concurrency), prefetch: Number(prefetch) }).start()
process.stdout.write(`${JSON.stringify({ event: 'ready', pid: process.pid })}\n`)
process.on('SIGTERM', () => {
  void app.close({ timeoutMs: 2000 }).finally(() => process.exit(0))
})
