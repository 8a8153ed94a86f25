/**
 * The programmatic side of the `conveyor` command: run it in-process, or embed the supervisor.
 *
 * @packageDocumentation
 * @module @conveyor/cli
 */
export { HELP, runCli } from './cli'
export { ALERTS_HELP, type ModuleAlertsOptions, startModuleAlerts } from './commands/alerts'
export { deadLetterFilter } from './commands/dlq'
export { CliError, EXIT, UsageError } from './errors'
export type { CliIo } from './io'
export { type AppModule, appFor, connectOrFail, loadAppModule } from './load-app'
export { DEFAULT_RESTART, type RestartPolicy, restartDelay } from './supervisor/backoff'
export { type HealthState, startHealthServer } from './supervisor/health'
export type { ChildConfig, ChildMessage, SupervisorMessage } from './supervisor/messages'
export { checkPools, type PoolSpec, parsePool } from './supervisor/pools'
export { type ChildStatus, createSupervisor, type Supervisor, type SupervisorOptions } from './supervisor/supervisor'
