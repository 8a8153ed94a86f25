import { type ChildProcess, fork } from 'node:child_process'
import { existsSync } from 'node:fs'
import type { Server } from 'node:http'
import { fileURLToPath } from 'node:url'
import { type HardLimitKill, type MetricsSnapshot, recordHardLimitKill } from '@conveyor/core/adapter'
import { DEFAULT_RESTART, type RestartPolicy, restartDelay } from './backoff'
import { startHealthServer } from './health'
import { CHILD_CONFIG_ENV, type ChildConfig, type ChildMessage, isChildMessage } from './messages'
import { SupervisorMetrics } from './metrics'
import type { PoolSpec } from './pools'
import { DEFAULT_TERMINATE_GRACE_MS, TerminateWatch } from './terminate'
import type { ChildStatus, Supervisor, SupervisorOptions } from './types'

export type { ChildStatus, Supervisor, SupervisorOptions } from './types'

interface Running {
  readonly task: string
  readonly attempt: number
  readonly startedAt: number
  readonly hardLimitMs?: number
}

/** Kills remembered for replacement children: long enough for a redelivery (lease expiry), bounded in number. */
const KILL_MEMORY_MS = 10 * 60_000
const KILL_MEMORY_MAX = 200

interface Slot {
  readonly pool: PoolSpec
  readonly index: number
  child?: ChildProcess
  state: ChildStatus['state']
  restarts: number
  failures: number
  processed: number
  rssBytes?: number
  readyAt?: number
  recycling: boolean
  killedForLimit: boolean
  lastFatal?: string
  running: Map<string, Running>
  timer?: NodeJS.Timeout
  /** The child's last metrics report. */
  metrics?: MetricsSnapshot
}

/** Where the child entry is: beside the built bundle (dist/worker-child.js) or in the sources under tsx. */
function childEntry(): string {
  for (const candidate of ['./worker-child.js', '../worker-child.js', './worker-child.ts', '../worker-child.ts']) {
    const path = fileURLToPath(new URL(candidate, import.meta.url))
    if (existsSync(path)) return path
  }
  throw new Error('[conveyor] [cli] cannot find the worker-child entry next to the CLI; reinstall @conveyor/cli')
}

/**
 * Runs worker processes: forks each pool's children, restarts one that dies (with doubling backoff when it keeps
 * failing; a child failing at start-up is reported, never restarted in a tight loop), recycles children after N
 * tasks or past a memory limit, kills and replaces one whose task outlives its hard time limit (the delivery comes
 * back through the broker: lease expiry on Redis, channel close on RabbitMQ), and stops them on SIGTERM.
 */
export function createSupervisor(options: SupervisorOptions): Supervisor {
  const log = options.logger.child({ supervisor: process.pid })
  const restart: RestartPolicy = { ...DEFAULT_RESTART, ...options.restart }
  const drainTimeoutMs = options.drainTimeoutMs ?? 25_000
  const hardTimeoutMs = options.hardTimeoutMs ?? options.hardTimeLimitMs
  const statsIntervalMs = options.statsIntervalMs ?? 2000
  const entry = childEntry()
  const slots: Slot[] = options.pools.flatMap((pool) =>
    Array.from({ length: pool.processes }, (_, index) => ({
      pool,
      index,
      state: 'starting' as const,
      restarts: 0,
      failures: 0,
      processed: 0,
      recycling: false,
      killedForLimit: false,
      running: new Map<string, Running>(),
    })),
  )
  let stopping: 'graceful' | 'hard' | undefined
  let health: Server | undefined
  let watchdog: NodeJS.Timeout | undefined
  let finish: (code: number) => void = () => undefined
  const done = new Promise<number>((resolve) => {
    finish = resolve
  })
  let signals = 0
  let kills: (HardLimitKill & { at: number })[] = []
  const metrics = options.metricsPort !== undefined ? new SupervisorMetrics() : undefined

  const spawn = (slot: Slot) => {
    slot.timer = undefined
    if (stopping) return
    const config: ChildConfig = {
      app: options.app,
      pool: slot.pool.name,
      queues: slot.pool.queues,
      concurrency: slot.pool.concurrency,
      ...(options.prefetch !== undefined ? { prefetch: options.prefetch } : {}),
      drainTimeoutMs,
      statsIntervalMs,
      ...(metrics ? { metrics: true } : {}),
      ...(options.maxTasksPerChild !== undefined ? { maxTasksPerChild: options.maxTasksPerChild } : {}),
      ...(options.maxMemoryMb !== undefined ? { maxMemoryMb: options.maxMemoryMb } : {}),
      ...(hardTimeoutMs !== undefined ? { hardTimeoutMs } : {}),
      ...(kills.length > 0 ? { kills: kills.map(({ at: _, ...kill }) => kill) } : {}),
    }
    // Detached: a terminal's Ctrl+C reaches the supervisor only, which forwards one orderly stop.
    const child = fork(entry, [], {
      env: { ...process.env, [CHILD_CONFIG_ENV]: JSON.stringify(config) },
      execArgv: [...(options.execArgv ?? process.execArgv)],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      detached: true,
    })
    slot.child = child
    slot.state = 'starting'
    slot.recycling = false
    slot.killedForLimit = false
    slot.readyAt = undefined
    slot.running.clear()
    log.info({ pool: slot.pool.name, slot: slot.index, pid: child.pid }, 'worker process started')
    child.on('message', (message) => {
      if (isChildMessage(message)) onMessage(slot, child, message)
    })
    child.on('error', (error) => log.error({ err: error, pool: slot.pool.name }, 'worker process error'))
    child.on('exit', (code, signal) => onExit(slot, child, code, signal))
  }

  const onMessage = (slot: Slot, child: ChildProcess, message: ChildMessage) => {
    if (slot.child !== child) return
    switch (message.type) {
      case 'ready': {
        slot.state = stopping ? 'stopping' : 'ready'
        slot.readyAt = Date.now()
        log.info(
          { pool: slot.pool.name, pid: child.pid, worker: message.workerId, queues: message.queues },
          'worker ready',
        )
        // Healthy for long enough: forget earlier failures, so a later crash starts from the shortest backoff.
        setTimeout(() => {
          if (slot.child === child && slot.state === 'ready') slot.failures = 0
        }, restart.stableMs).unref()
        break
      }
      case 'task-start':
        slot.running.set(message.id, {
          task: message.task,
          attempt: message.attempt,
          startedAt: Date.now(),
          ...(message.hardLimitMs !== undefined ? { hardLimitMs: message.hardLimitMs } : {}),
        })
        break
      case 'task-end':
        slot.running.delete(message.id)
        slot.processed++
        break
      case 'stats':
        slot.rssBytes = message.rssBytes
        if (message.metrics) slot.metrics = message.metrics
        break
      case 'recycle':
        slot.recycling = true
        log.info({ pool: slot.pool.name, pid: child.pid, reason: message.reason }, 'recycling worker process')
        break
      case 'fatal':
        slot.lastFatal = message.message
        break
    }
  }

  const onExit = (slot: Slot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null) => {
    if (slot.child !== child) return
    slot.child = undefined
    slot.running.clear()
    metrics?.retire(slot.metrics)
    slot.metrics = undefined
    const wasReady = slot.readyAt !== undefined
    if (stopping) {
      slot.state = 'exited'
      log.info({ pool: slot.pool.name, pid: child.pid, code, signal }, 'worker process exited')
      if (slots.every((s) => s.child === undefined)) void finishAll()
      return
    }
    slot.restarts++
    if (slot.recycling || slot.killedForLimit) {
      // Planned: replace at once, not a failure.
      spawn(slot)
      return
    }
    slot.failures++
    const delay = restartDelay(restart, slot.failures)
    slot.state = 'backoff'
    const fields = { pool: slot.pool.name, pid: child.pid, code, signal, failures: slot.failures, retryInMs: delay }
    if (!wasReady) {
      const message = `worker process failed at start-up${slot.lastFatal ? `: ${slot.lastFatal}` : ''}`
      if (slot.failures >= restart.reportAfter) {
        log.error({ ...fields, error: slot.lastFatal }, `${message} (${slot.failures} times in a row); backing off`)
      } else log.warn({ ...fields, error: slot.lastFatal }, message)
    } else {
      log.error(fields, 'worker process died; restarting (its unfinished deliveries come back through the broker)')
    }
    slot.timer = setTimeout(() => spawn(slot), delay)
  }

  const checkLimits = () => {
    const now = Date.now()
    for (const slot of slots) {
      const child = slot.child
      if (child === undefined || slot.killedForLimit) continue
      // Every attempt of this process that is over its limit fails; the others it was running only crash (they
      // come back as redeliveries and run again).
      const over: HardLimitKill[] = []
      for (const [id, run] of slot.running) {
        if (run.hardLimitMs !== undefined && now - run.startedAt > run.hardLimitMs) {
          over.push({ id, task: run.task, attempt: run.attempt, limitMs: run.hardLimitMs })
        }
      }
      if (over.length === 0) continue
      slot.killedForLimit = true
      for (const kill of over) {
        log.error(
          {
            pool: slot.pool.name,
            pid: child.pid,
            taskId: kill.id,
            task: kill.task,
            attempt: kill.attempt,
            hardLimitMs: kill.limitMs,
          },
          'task exceeded its hard time limit; killing and replacing its worker process (the attempt fails)',
        )
      }
      void killForLimit(child, over)
    }
  }

  /**
   * Tell every child (and the coordination store) before killing: the delivery may come back at once (RabbitMQ
   * requeues on channel close), and whichever worker gets it must already know to fail that attempt.
   */
  const killForLimit = async (child: ChildProcess, over: readonly HardLimitKill[]) => {
    const now = Date.now()
    const fresh = kills.filter((k) => now - k.at < KILL_MEMORY_MS)
    kills = [...fresh, ...over.map((kill) => ({ ...kill, at: now }))].slice(-KILL_MEMORY_MAX)
    for (const slot of slots) {
      if (!(slot.child?.connected && slot.child !== child)) continue
      for (const kill of over) slot.child.send({ type: 'hard-limit-killed', ...kill })
    }
    const store = options.coordination
    if (store) {
      // Bounded: a slow store must not keep the stuck task running; the IPC broadcast covers this supervisor.
      const recorded = Promise.all(over.map((kill) => recordHardLimitKill(store, kill))).catch((error: unknown) =>
        log.warn({ err: error }, 'could not record a hard-limit kill in the coordination store'),
      )
      await Promise.race([recorded, new Promise((r) => setTimeout(r, 1000).unref())])
    }
    child.kill('SIGKILL')
  }

  const finishAll = async () => {
    if (watchdog) clearInterval(watchdog)
    for (const slot of slots) if (slot.timer) clearTimeout(slot.timer)
    await new Promise<void>((resolve) => (health ? health.close(() => resolve()) : resolve()))
    await metrics?.close()
    log.info('supervisor stopped')
    finish(0)
  }

  const send = (slot: Slot, type: 'stop' | 'stop-now') => {
    const child = slot.child
    if (child?.connected) child.send({ type })
    else if (child) child.kill('SIGTERM')
  }

  const supervisor: Supervisor = {
    done,
    async start() {
      if (options.healthPort !== undefined) {
        health = await startHealthServer(options.healthPort, {
          live: () => stopping === undefined,
          ready: () => stopping === undefined && slots.every((s) => s.state === 'ready'),
          describe: () => ({ workers: supervisor.status() }),
        })
        log.info({ port: options.healthPort }, 'health endpoints /healthz and /readyz listening')
      }
      if (metrics) {
        await metrics.listen(options.metricsPort!, () =>
          metrics.render(
            slots.map((slot) => slot.metrics),
            supervisor.status(),
          ),
        )
        log.info({ port: options.metricsPort }, 'Prometheus metrics at /metrics')
      }
      for (const slot of slots) spawn(slot)
      const terminations = options.coordination
        ? new TerminateWatch(options.coordination, options.terminateGraceMs ?? DEFAULT_TERMINATE_GRACE_MS, log)
        : undefined
      let ticks = 0
      watchdog = setInterval(() => {
        checkLimits()
        // Every 300 ms: one store read per running task, only with a coordination store.
        if (terminations && ++ticks % 3 === 0) void terminations.poll(slots)
      }, 100)
      watchdog.unref()
    },
    async stop() {
      if (stopping) return done.then(() => undefined)
      stopping = 'graceful'
      log.info({ drainTimeoutMs }, 'stopping: workers finish running tasks (signal again to stop now)')
      for (const slot of slots) {
        if (slot.timer) clearTimeout(slot.timer)
        if (slot.child) {
          slot.state = 'stopping'
          send(slot, 'stop')
        } else slot.state = 'exited'
      }
      if (slots.every((s) => s.child === undefined)) void finishAll()
      // Children stop themselves at the drain deadline; this is the backstop if one hangs.
      const deadline = setTimeout(() => void supervisor.stopNow(), drainTimeoutMs + 3000)
      deadline.unref()
      await done
      clearTimeout(deadline)
    },
    async stopNow() {
      if (stopping === 'hard') return done.then(() => undefined)
      const wasStopping = stopping !== undefined
      stopping = 'hard'
      log.warn('stopping now: running tasks go back to the queue')
      for (const slot of slots) {
        if (slot.timer) clearTimeout(slot.timer)
        if (slot.child) send(slot, 'stop-now')
      }
      if (!wasStopping && slots.every((s) => s.child === undefined)) void finishAll()
      const kill = setTimeout(() => {
        for (const slot of slots) slot.child?.kill('SIGKILL')
      }, 3000)
      kill.unref()
      await done
      clearTimeout(kill)
    },
    handleSignals() {
      const onSignal = (signal: NodeJS.Signals) => {
        signals++
        log.info({ signal }, 'signal received')
        void (signals === 1 ? supervisor.stop() : supervisor.stopNow())
      }
      process.on('SIGTERM', onSignal)
      process.on('SIGINT', onSignal)
      void done.then(() => {
        process.off('SIGTERM', onSignal)
        process.off('SIGINT', onSignal)
      })
    },
    status() {
      return slots.map((slot) => ({
        pool: slot.pool.name,
        slot: slot.index,
        ...(slot.child?.pid !== undefined ? { pid: slot.child.pid } : {}),
        state: slot.state,
        restarts: slot.restarts,
        failures: slot.failures,
        running: slot.running.size,
        processed: slot.processed,
        ...(slot.rssBytes !== undefined ? { rssBytes: slot.rssBytes } : {}),
      }))
    },
  }
  return supervisor
}
