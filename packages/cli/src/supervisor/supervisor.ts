import type { AddressInfo } from 'node:net'
import { DEFAULT_RESTART } from './backoff'
import { HardLimitWatch } from './hard-limits'
import { startHealthServer } from './health'
import { isChildMessage } from './messages'
import { SupervisorMetrics } from './metrics'
import { handleChildMessage } from './reports'
import { handleChildExit } from './restarts'
import { Shutdown } from './shutdown'
import { childConfig, childEntry, fillSlot, forkChild } from './spawn'
import { createSlots, type Slot, type SupervisorState, slotStatus } from './state'
import { DEFAULT_TERMINATE_GRACE_MS, TerminateWatch } from './terminate'
import type { Supervisor, SupervisorOptions } from './types'

export type { ChildStatus, Supervisor, SupervisorOptions } from './types'

/**
 * Runs worker processes: forks each pool's children, restarts one that dies (with doubling backoff when it keeps
 * failing; a child failing at start-up is reported, never restarted in a tight loop), recycles children after N
 * tasks or past a memory limit, kills and replaces one whose task outlives its hard time limit (the delivery comes
 * back through the broker: lease expiry on Redis, channel close on RabbitMQ), and stops them on SIGTERM.
 *
 * The parts live beside it: spawning (spawn.ts), children's reports (reports.ts), restarts (restarts.ts), hard
 * limits (hard-limits.ts), revokes with terminate (terminate.ts), stopping (shutdown.ts).
 */
export function createSupervisor(options: SupervisorOptions): Supervisor {
  const state: SupervisorState = {
    options,
    log: options.logger.child({ supervisor: process.pid }),
    restart: { ...DEFAULT_RESTART, ...options.restart },
    drainTimeoutMs: options.drainTimeoutMs ?? 25_000,
    hardTimeoutMs: options.hardTimeoutMs ?? options.hardTimeLimitMs,
    statsIntervalMs: options.statsIntervalMs ?? 2000,
    slots: createSlots(options.pools),
    metrics: options.metricsPort !== undefined ? new SupervisorMetrics() : undefined,
    stopping: undefined,
  }
  const { log, slots } = state
  const entry = childEntry()
  const limits = new HardLimitWatch(slots, options.coordination, log)
  const shutdown = new Shutdown(state)
  const exitActions = { respawn: (slot: Slot) => spawn(slot), finishAll: () => void shutdown.finishAll() }

  const spawn = (slot: Slot) => {
    slot.timer = undefined
    if (state.stopping) return
    const config = childConfig(state, slot, limits.recent())
    const child = forkChild(entry, config, options.execArgv ?? process.execArgv)
    fillSlot(slot, child)
    log.info({ pool: slot.pool.name, slot: slot.index, pid: child.pid }, 'worker process started')
    child.on('message', (message) => {
      if (isChildMessage(message)) handleChildMessage(state, slot, child, message)
    })
    child.on('error', (error) => log.error({ err: error, pool: slot.pool.name }, 'worker process error'))
    child.on('exit', (code, signal) => handleChildExit(state, slot, child, { code, signal }, exitActions))
  }

  const supervisor: Supervisor = {
    done: shutdown.done,
    async start() {
      if (options.healthPort !== undefined) {
        shutdown.health = await startHealthServer(options.healthPort, {
          live: () => state.stopping === undefined,
          ready: () => state.stopping === undefined && slots.every((s) => s.state === 'ready'),
          describe: () => ({ workers: supervisor.status() }),
        })
        // The bound port: with --health-port 0 the system picks one, and the log is the only place it shows.
        const { port } = shutdown.health.address() as AddressInfo
        log.info({ port }, 'health endpoints /healthz and /readyz listening')
      }
      const metrics = state.metrics
      if (metrics) {
        const port = await metrics.listen(options.metricsPort!, () =>
          metrics.render(
            slots.map((s) => s.metrics),
            supervisor.status(),
          ),
        )
        log.info({ port }, 'Prometheus metrics at /metrics')
      }
      for (const slot of slots) spawn(slot)
      const terminations = options.coordination
        ? new TerminateWatch(options.coordination, options.terminateGraceMs ?? DEFAULT_TERMINATE_GRACE_MS, log)
        : undefined
      let ticks = 0
      shutdown.watchdog = setInterval(() => {
        limits.check()
        // Every 300 ms: one store read per running task, only with a coordination store.
        if (terminations && ++ticks % 3 === 0) void terminations.poll(slots)
      }, 100)
      shutdown.watchdog.unref()
    },
    stop: () => shutdown.stop(),
    stopNow: () => shutdown.stopNow(),
    handleSignals: () => shutdown.handleSignals(),
    status: () => slots.map(slotStatus),
  }
  return supervisor
}
