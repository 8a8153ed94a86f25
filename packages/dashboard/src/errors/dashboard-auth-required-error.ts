import { ConveyorError } from '@conveyor/core'

/** The dashboard was asked to listen on a non-loopback address without `auth`. */
export class DashboardAuthRequiredError extends ConveyorError {
  constructor(message: string) {
    super('CONVEYOR_DASHBOARD_AUTH_REQUIRED', `[conveyor] [dashboard] ${message}`)
  }
}
