// Operations features: coordination (heartbeats, revokes, rate limits, leases, tick claims, idempotency keys),
// worker hooks, scheduling.
export { composeHooks } from './compose-hooks'
export type { CoordinationStore, IdempotencyClaim, Lease, WorkerHeartbeat } from './coordination'
export {
  DEFAULT_HARD_LIMIT_KILL_TTL_MS,
  type HardLimitHooks,
  type HardLimitHooksOptions,
  type HardLimitKill,
  hardLimitHooks,
  hardLimitKey,
  recordHardLimitKill,
} from './hard-limit'
export { type Heartbeat, type HeartbeatOptions, startHeartbeat } from './heartbeat'
export { createMemoryCoordination, type MemoryCoordinationOptions } from './memory-coordination'
export { type RateLimit, type RateLimitHooksOptions, type RateLimits, rateLimitHooks } from './rate-limit'
export { type ReplayDeadLettersOptions, replayDeadLetters } from './replay-dead-letters'
export { DEFAULT_REVOKE_TTL_MS, type RevokeOptions, revokeHooks, revokeTask, terminateKey } from './revoke'
export {
  type MisfirePolicy,
  nextTick,
  nextTicks,
  planTicks,
  type ScheduleSpec,
  type TickPlan,
  validateSchedules,
} from './schedule'
export {
  createScheduler,
  type ScheduleFired,
  type Scheduler,
  type SchedulerClock,
  type SchedulerOptions,
  type ScheduleStatus,
} from './scheduler'
