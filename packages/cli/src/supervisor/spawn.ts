import { type ChildProcess, fork } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { HardLimitKill } from '@conveyor/core/adapter'
import { CHILD_CONFIG_ENV, type ChildConfig } from './messages'
import type { Slot, SupervisorState } from './state'

/** Where the child entry is: beside the built bundle (dist/worker-child.js) or in the sources under tsx. */
export function childEntry(): string {
  for (const candidate of ['./worker-child.js', '../worker-child.js', './worker-child.ts', '../worker-child.ts']) {
    const path = fileURLToPath(new URL(candidate, import.meta.url))
    if (existsSync(path)) return path
  }
  throw new Error('[conveyor] [cli] cannot find the worker-child entry next to the CLI; reinstall @conveyor/cli')
}

/** What the child filling `slot` is told to run; `kills` are recent hard-limit kills it must fail on redelivery. */
export function childConfig(state: SupervisorState, slot: Slot, kills: readonly HardLimitKill[]): ChildConfig {
  const { options, hardTimeoutMs } = state
  return {
    app: options.app,
    pool: slot.pool.name,
    queues: slot.pool.queues,
    concurrency: slot.pool.concurrency,
    ...(options.prefetch !== undefined ? { prefetch: options.prefetch } : {}),
    drainTimeoutMs: state.drainTimeoutMs,
    statsIntervalMs: state.statsIntervalMs,
    ...(options.events !== undefined ? { events: options.events } : {}),
    ...(state.metrics ? { metrics: true } : {}),
    ...(options.maxTasksPerChild !== undefined ? { maxTasksPerChild: options.maxTasksPerChild } : {}),
    ...(options.maxMemoryMb !== undefined ? { maxMemoryMb: options.maxMemoryMb } : {}),
    ...(hardTimeoutMs !== undefined ? { hardTimeoutMs } : {}),
    ...(kills.length > 0 ? { kills } : {}),
  }
}

/** Fork a worker child with its config in the environment. */
export function forkChild(entry: string, config: ChildConfig, execArgv: readonly string[]): ChildProcess {
  // Detached: a terminal's Ctrl+C reaches the supervisor only, which forwards one orderly stop.
  return fork(entry, [], {
    env: { ...process.env, [CHILD_CONFIG_ENV]: JSON.stringify(config) },
    execArgv: [...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    detached: true,
  })
}

/** A fresh child fills the slot: what was known of the previous one goes. */
export function fillSlot(slot: Slot, child: ChildProcess): void {
  slot.child = child
  slot.state = 'starting'
  slot.recycling = false
  slot.killedForLimit = false
  slot.readyAt = undefined
  slot.running.clear()
}
