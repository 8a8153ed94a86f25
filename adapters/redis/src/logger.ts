import type { RedisLogger } from './options'

/**
 * The default logger prints one line per report, the cause's message without its stack: outages are expected
 * operating conditions, and CLIs built on the adapter print one-line errors that a stack trace would spoil.
 */
const consoleLogger: RedisLogger = {
  error: (obj, msg) => console.error(oneLine(obj, msg)),
  warn: (obj, msg) => console.warn(oneLine(obj, msg)),
  // Only recovery is logged at info: an operator who saw the outage must see its end.
  info: (obj, msg) => console.info(oneLine(obj, msg)),
}

function oneLine(obj: object, msg: string | undefined): string {
  const err = (obj as { err?: unknown }).err
  const why = err === undefined ? '' : causeOf(err)
  const text = why === '' ? (msg ?? '') : `${msg ?? '[conveyor] [redis]'}: ${why}`
  return text.replace(/\s*\n\s*/g, ' ')
}

/** A cause in a few words. Node's connect errors can be an AggregateError with an empty message (IPv4 and IPv6). */
function causeOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  if (error.message !== '') return error.message
  if (error instanceof AggregateError && error.errors.length > 0) return causeOf(error.errors[0])
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? code : error.name
}

const silent: RedisLogger = { error: () => {}, warn: () => {}, info: () => {} }

export function resolveLogger(logger: RedisLogger | false | undefined): RedisLogger {
  if (logger === false) return silent
  return logger ?? consoleLogger
}

/**
 * Reports connection trouble once per outage rather than once per failed command or job: the first error of an
 * outage is logged, the rest are counted, and recovery is logged with the count.
 */
export class OutageReporter {
  private down = false
  private failures = 0
  private since = 0

  constructor(
    private readonly logger: RedisLogger,
    private readonly what: string,
  ) {}

  get isDown(): boolean {
    return this.down
  }

  failed(error: unknown): void {
    this.failures++
    if (this.down) return
    this.down = true
    this.since = Date.now()
    this.logger.error(
      { err: error },
      `[conveyor] [redis] ${this.what}: connection to Redis lost or failing; retrying until it is back`,
    )
  }

  recovered(): void {
    if (!this.down) return
    const outageMs = Date.now() - this.since
    this.logger.info(
      { failures: this.failures, outageMs },
      `[conveyor] [redis] ${this.what}: Redis is reachable again after ${(outageMs / 1000).toFixed(1)} s; resuming`,
    )
    this.down = false
    this.failures = 0
  }
}
