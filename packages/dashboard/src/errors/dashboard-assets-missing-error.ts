import { ConveyorError } from '@conveyor/core'

/** The bundled client is not where the package ships it (a source checkout that was not built). */
export class DashboardAssetsMissingError extends ConveyorError {
  constructor(message: string) {
    super('CONVEYOR_DASHBOARD_ASSETS_MISSING', `[conveyor] [dashboard] ${message}`)
  }
}
