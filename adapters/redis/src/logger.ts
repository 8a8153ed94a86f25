import { redactError } from '@conveyor/core/adapter'
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
 * One server's outage as one logger reports it. The parts of an app that reach the same Redis (broker, result
 * backend) share it, so an outage is one line when lost and one when back, naming every part it hit, instead of one
 * pair per part.
 */
class ServerOutage {
  private down = false
  private failures = 0
  private since = 0
  private readonly parts = new Set<string>()

  constructor(
    private readonly logger: RedisLogger,
    private readonly server: string,
  ) {}

  get isDown(): boolean {
    return this.down
  }

  failed(part: string, error: unknown): void {
    this.failures++
    this.parts.add(part)
    if (this.down) return
    this.down = true
    this.since = Date.now()
    this.logger.error(
      { err: redactError(error), server: this.server, parts: [...this.parts] },
      `[conveyor] [redis] ${this.who()}: connection to Redis lost or failing; retrying until it is back`,
    )
  }

  recovered(): void {
    if (!this.down) return
    const outageMs = Date.now() - this.since
    this.logger.info(
      { failures: this.failures, outageMs, server: this.server, parts: [...this.parts] },
      `[conveyor] [redis] ${this.who()}: Redis is reachable again after ${(outageMs / 1000).toFixed(1)} s; resuming`,
    )
    this.down = false
    this.failures = 0
    this.parts.clear()
  }

  /** `broker, result backend at 127.0.0.1:6379`: the server as host and port only, never its credentials. */
  private who(): string {
    return `${[...this.parts].join(', ')} at ${this.server}`
  }
}

/** Outages per logger, then per server. */
const outages = new WeakMap<RedisLogger, Map<string, ServerOutage>>()

/**
 * Reports connection trouble once per outage rather than once per failed command or job: the first error of an
 * outage is logged, the rest are counted, and recovery is logged with the count and the outage's length. Reporters
 * of different parts for the same server and logger report together.
 */
export class OutageReporter {
  private readonly outage: ServerOutage

  constructor(
    logger: RedisLogger,
    private readonly part: string,
    server: string,
  ) {
    let byServer = outages.get(logger)
    if (byServer === undefined) {
      byServer = new Map()
      outages.set(logger, byServer)
    }
    let outage = byServer.get(server)
    if (outage === undefined) {
      outage = new ServerOutage(logger, server)
      byServer.set(server, outage)
    }
    this.outage = outage
  }

  get isDown(): boolean {
    return this.outage.isDown
  }

  failed(error: unknown): void {
    this.outage.failed(this.part, error)
  }

  recovered(): void {
    this.outage.recovered()
  }
}
