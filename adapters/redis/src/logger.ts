import type { RedisLogger } from './options'

const consoleLogger: RedisLogger = {
  error: (obj, msg) => console.error(msg ?? '', obj),
  warn: (obj, msg) => console.warn(msg ?? '', obj),
  info: () => {},
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
    this.logger.error(
      { err: error },
      `[conveyor] [redis] ${this.what}: connection to Redis lost or failing; retrying until it is back`,
    )
  }

  recovered(): void {
    if (!this.down) return
    this.logger.info({ failures: this.failures }, `[conveyor] [redis] ${this.what}: Redis is reachable again; resuming`)
    this.down = false
    this.failures = 0
  }
}
