import { type Logger as PinoLogger, pino } from 'pino'

/** The logger Conveyor writes to: a pino instance (yours, or one made for you). */
export type Logger = PinoLogger

/** `undefined` → a pino logger at `CONVEYOR_LOG_LEVEL` (default `info`); `false` → silent; a pino instance → it. */
export function resolveLogger(logger: Logger | false | undefined): Logger {
  if (logger === false) return pino({ enabled: false })
  if (logger !== undefined) return logger
  return pino({ name: 'conveyor', level: process.env.CONVEYOR_LOG_LEVEL ?? 'info' })
}
