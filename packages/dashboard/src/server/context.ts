import type { App, CoordinationStore, Scheduler } from '@conveyor/core'
import type { DashboardHistory } from '../feed/types'
import type { Monitor } from './monitor'

/** What every API route works with. */
export interface ApiContext {
  readonly app: App
  readonly coordination: CoordinationStore | undefined
  readonly history: DashboardHistory
  readonly monitor: Monitor
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
