import type { App, CoordinationStore, ScheduleSpec, TaskHistory } from '@conveyor/core'
import type { DashboardEvents } from './feed/types'

/**
 * Who may use the dashboard. Without it, only clients on a loopback address (127.0.0.0/8, ::1) are served, and
 * `serveDashboard` refuses to listen on any other address.
 */
export type DashboardAuth =
  /** HTTP basic auth: the browser asks for a user name and password. */
  | { readonly basic: { readonly username: string; readonly password: string } }
  /** `Authorization: Bearer <token>` on every request (for a reverse proxy or an API client that adds it). */
  | { readonly bearer: string }
  /** The host application's own check (its session, its SSO): resolve true to let the request through. */
  | { readonly authorize: (request: Request) => boolean | Promise<boolean> }

/** Options of `createDashboard`. Only `app` is required. */
export interface DashboardOptions {
  /** The app whose broker, result backend and tasks the dashboard shows. The dashboard never closes it. */
  readonly app: App
  /** Heartbeats (workers page), revokes and schedule ticks. A shared store (Redis) to see other processes. */
  readonly coordination?: CoordinationStore
  /** Periodic tasks to show on the schedules page (the same array the scheduler runs). */
  readonly schedules?: readonly ScheduleSpec<unknown>[]
  /**
   * Where live events come from. Defaults to the app's event stream (`app.events.subscribe`: every process), or,
   * when the app has none, to this process's `app.events` listeners.
   */
  readonly events?: DashboardEvents
  /**
   * Where task runs are listed. Defaults to the app's history (`app.history`, kept by the result backend), or, when
   * it has none, a bounded in-memory history (10,000 runs) folded from `events` since the dashboard started.
   */
  readonly history?: TaskHistory
  /** The path the dashboard is mounted under, e.g. `/admin/conveyor`. Defaults to `/`. */
  readonly basePath?: string
  readonly auth?: DashboardAuth
  /**
   * Host names a dashboard without `auth` answers to, besides `localhost`, `*.localhost` and loopback addresses.
   * Without auth the page is for this machine only: a request for any other name (a web page that pointed its own
   * name at 127.0.0.1 — DNS rebinding — to read the dashboard and post its actions) is refused, as Vite's
   * `server.allowedHosts` does. Add the names you browse it by (an `/etc/hosts` alias); with `auth`, every name is
   * answered.
   */
  readonly allowedHosts?: readonly string[]
  /** Show everything, change nothing: no purge, replay or revoke (the buttons are hidden, the API refuses). */
  readonly readOnly?: boolean
  /**
   * Signs the CSRF token. Defaults to a random secret per process; give every replica behind one load balancer the
   * same value so that a page served by one replica may post to another.
   */
  readonly secret?: string
  /** Queues to show besides those the broker lists (brokers that cannot list queues need them). */
  readonly queues?: readonly string[]
  /** How often queue depths are sampled for the charts. Defaults to 5 s (an hour of charts is 720 samples). */
  readonly sampleIntervalMs?: number
  /** Pages are told about new events at most this often. Defaults to 500 ms. */
  readonly liveIntervalMs?: number
  /** Shown in the page title and header. Defaults to `Conveyor`. */
  readonly title?: string
}
