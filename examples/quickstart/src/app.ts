import { type App, createApp, exponential, UnrecoverableError, type UrlAdapter } from '@conveyor/core'
import { createMemoryResultBackend } from '@conveyor/core/adapter'
import { buildReport, createThumbnail, sendEmail } from './tasks'

/** Adapters are loaded only when the URL asks for them, so the demo needs no server by default. */
async function adaptersFor(url: string): Promise<UrlAdapter[]> {
  if (/^rediss?:/.test(url)) return [(await import('@conveyor/redis')).redisAdapter]
  if (/^amqps?:/.test(url)) return [(await import('@conveyor/rabbitmq')).rabbitmqAdapter]
  return []
}

/** What the demo's tasks depend on, so the demo can break and mend it. */
export interface DemoWorld {
  /** Attempts the mail server will still time out on. */
  smtpFailures: number
  /** Months the reporting database has data for. */
  readonly months: Set<string>
}

/** The worker's side: the same app, with the tasks implemented. */
export async function createDemoApp(): Promise<{ app: App; brokerUrl: string; world: DemoWorld }> {
  const brokerUrl = process.env.CONVEYOR_BROKER_URL ?? 'memory://'
  const adapters = await adaptersFor(brokerUrl)
  // Results: a Redis URL when there is one; otherwise in-process (the demo's producer and worker share a process).
  const results =
    process.env.CONVEYOR_RESULTS_URL ?? (brokerUrl.startsWith('redis') ? brokerUrl : createMemoryResultBackend())
  const app = createApp({
    broker: brokerUrl,
    adapters,
    results,
    logger: false,
    defaults: { retry: { backoff: exponential({ baseMs: 200, factor: 2, jitter: 'equal' }) } },
  })

  app.implement(createThumbnail, async ({ image, width }) => ({
    path: `/thumbs/${width}/${image}`,
    bytes: width * 97,
  }))

  // A flaky mail server: the first attempts time out, then it recovers. The retry policy rides it out.
  const world: DemoWorld = { smtpFailures: 2, months: new Set(['2026-10']) }
  app.implement(sendEmail, async (_email, ctx) => {
    if (world.smtpFailures > 0) {
      world.smtpFailures--
      throw new Error(`SMTP timeout talking to mail.example.com (attempt ${ctx.attempt})`)
    }
    return { messageId: `<${ctx.id}@example.com>` }
  })

  // A report for a month that does not exist yet can never succeed: dead-letter it at once.
  app.implement(buildReport, async ({ month }) => {
    if (!world.months.has(month)) throw new UnrecoverableError(`no data for ${month}`)
    return { rows: 31 * 24 }
  })
  return { app, brokerUrl, world }
}
