import type { App, CoordinationStore, Scheduler, TaskHistory } from '@conveyor/core'
import type { KeyedLock } from './keyed-lock'
import type { Monitor } from './monitor'

/** What every API route works with. */
export interface ApiContext {
  readonly app: App
  readonly coordination: CoordinationStore | undefined
  readonly history: TaskHistory
  /** The history holds only what this dashboard's process saw (no shared history). */
  readonly historyLocal: boolean
  /** The events are only this process's (no cross-process stream). */
  readonly eventsLocal: boolean
  readonly monitor: Monitor
  /** Serialises dead-letter reads and actions per queue (see `KeyedLock`). */
  readonly deadLetterLock: KeyedLock
  readonly scheduler: Scheduler | undefined
  readonly readOnly: boolean
  readonly title: string
}

/** One matched API route: path parameters (decoded) and the parsed URL. */
export interface RouteInput {
  readonly params: readonly string[]
  readonly url: URL
  readonly request: Request
}

export type RouteHandler = (ctx: ApiContext, input: RouteInput) => Promise<Response>
