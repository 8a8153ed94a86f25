import { ConveyorError } from '@conveyor/core'

/** The command line is wrong (unknown flag, missing argument): exit code 2, with a pointer to `--help`. */
export class UsageError extends ConveyorError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONVEYOR_USAGE', `[cli] ${message}`, options)
  }
}

/** The command could not do its job (bad app module, unreachable broker): exit code 1, one line. */
export class CliError extends ConveyorError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONVEYOR_CLI', `[cli] ${message}`, options)
  }
}

/** Exit codes a shell script can rely on. */
export const EXIT = Object.freeze({ ok: 0, failure: 1, usage: 2 })
