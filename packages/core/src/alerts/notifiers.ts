import { InvalidOptionsError } from '../errors/invalid-options-error'
import type { Logger } from '../logging/logger'
import { exponential } from '../retry/backoff'
import { sleep } from '../util/sleep'
import type { AlertNotification, Notifier } from './rules'

/** The one line a human reads: `[FIRING] backlog-emails: queue emails has more than 1000 ready messages (1523)`. */
export function alertText(n: AlertNotification): string {
  const status = n.status === 'firing' ? 'FIRING' : 'RESOLVED'
  const value = Number.isInteger(n.value) ? String(n.value) : n.value.toFixed(3)
  return `[${status}] ${n.rule} (${n.severity}): ${n.summary} (value ${value})`
}

export interface WebhookNotifierOptions {
  readonly url: string
  /** Extra request headers (an auth token). */
  readonly headers?: Readonly<Record<string, string>>
  /** Attempts per notification before it is dropped (logged). Defaults to 5. */
  readonly attempts?: number
  /** First retry delay; doubles per attempt up to 30 s, full jitter. Defaults to 500 ms. */
  readonly retryBaseMs?: number
  /** Per-request timeout. Defaults to 5000 ms. */
  readonly timeoutMs?: number
  /** Notifications waiting to be sent past which the oldest are dropped. Defaults to 1000. */
  readonly maxQueued?: number
  /** Where failures are reported. */
  readonly logger?: Logger
}

/** A webhook notifier; `flush()` waits until everything queued was sent or given up (for shutdown and tests). */
export interface WebhookNotifier extends Notifier {
  flush(): Promise<void>
}

/**
 * POST each notification as JSON: the notification's fields plus `text` (Slack's incoming-webhook field, so a Slack
 * URL works as is). Sending happens in the background, in order: the evaluator hands a notification over and moves
 * on. A failing endpoint (an error or a non-2xx answer) is retried with exponential backoff; after `attempts` the
 * notification is dropped with an error log line. The URL is never logged (it often embeds a token).
 */
export function webhookNotifier(options: WebhookNotifierOptions): WebhookNotifier {
  let target: URL
  try {
    target = new URL(options.url)
  } catch {
    throw new InvalidOptionsError('webhookNotifier: url is not a valid URL')
  }
  const attempts = options.attempts ?? 5
  if (!(Number.isInteger(attempts) && attempts >= 1)) {
    throw new InvalidOptionsError(`webhookNotifier: attempts must be an integer ≥ 1, got ${attempts}`)
  }
  const backoff = exponential({ baseMs: options.retryBaseMs ?? 500, maxMs: 30_000 })
  const timeoutMs = options.timeoutMs ?? 5000
  const maxQueued = options.maxQueued ?? 1000
  const where = `${target.protocol}//${target.host}`
  const queue: AlertNotification[] = []
  let sending: Promise<void> | undefined

  const post = async (n: AlertNotification): Promise<void> => {
    const response = await fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...options.headers },
      body: JSON.stringify({ text: alertText(n), ...n }),
      signal: AbortSignal.timeout(timeoutMs),
    })
    await response.body?.cancel()
    if (!response.ok) throw new Error(`answered ${response.status}`)
  }

  const deliver = async (n: AlertNotification): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await post(n)
        return
      } catch (error) {
        const reason = (error as Error)?.message ?? String(error)
        if (attempt >= attempts) {
          options.logger?.error({ rule: n.rule, status: n.status, webhook: where, reason }, 'alert webhook gave up')
          return
        }
        options.logger?.warn({ rule: n.rule, webhook: where, attempt, reason }, 'alert webhook failed; retrying')
        await sleep(backoff(attempt, error))
      }
    }
  }

  const drain = async () => {
    for (let n = queue.shift(); n !== undefined; n = queue.shift()) await deliver(n)
    sending = undefined
  }

  const notify = ((n: AlertNotification) => {
    queue.push(n)
    if (queue.length > maxQueued) {
      const dropped = queue.shift()!
      options.logger?.error({ rule: dropped.rule, webhook: where }, 'alert webhook backlog full; dropped the oldest')
    }
    sending ??= drain()
  }) as WebhookNotifier
  notify.flush = async () => {
    while (sending !== undefined) await sending
  }
  return notify
}

/** Write each notification as a log line: `error` for firing (or `warn` by severity), `info` for resolved. */
export function logNotifier(logger: Logger): Notifier {
  return (n) => {
    const fields = { alert: n.rule, kind: n.kind, status: n.status, severity: n.severity, value: n.value, ...n.labels }
    if (n.status === 'resolved') logger.info(fields, alertText(n))
    else if (n.severity === 'critical') logger.error(fields, alertText(n))
    else logger.warn(fields, alertText(n))
  }
}
