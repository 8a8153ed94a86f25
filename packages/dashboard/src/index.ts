export { createDashboard, type Dashboard } from './dashboard'
export { DashboardAssetsMissingError } from './errors/dashboard-assets-missing-error'
export { DashboardAuthRequiredError } from './errors/dashboard-auth-required-error'
export { inProcessEvents } from './feed/in-process'
export { MemoryHistory, type MemoryHistoryOptions } from './feed/memory-history'
export type {
  DashboardEvent,
  DashboardEvents,
  DashboardHistory,
  RunAttempt,
  RunDetail,
  RunPage,
  RunQuery,
  RunSummary,
} from './feed/types'
export type { DashboardAuth, DashboardOptions } from './options'
export { type ServedDashboard, type ServeOptions, serveDashboard } from './serve'
export type { ConnectionInfo } from './server/auth'
export { CSRF_HEADER } from './server/csrf'
