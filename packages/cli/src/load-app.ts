import { existsSync } from 'node:fs'
import { extname, isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type {
  AlertRule,
  AlertsConfig,
  App,
  CoordinationStore,
  RateLimits,
  ScheduleSpec,
  UrlAdapter,
} from '@conveyor/core'
import { createApp } from '@conveyor/core'
import { CliError, UsageError } from './errors'
import type { CliIo } from './io'

/** What the `--app` module gives the CLI. Only the app is required. */
export interface AppModule {
  readonly app: App
  /** Heartbeats, revokes, rate limits, scheduler tick claims: a shared store (Redis) for several processes. */
  readonly coordination?: CoordinationStore
  readonly schedules?: readonly ScheduleSpec<unknown>[]
  /** Rate limits by task name, enforced by `conveyor worker` through `coordination`. */
  readonly rateLimits?: RateLimits
  /**
   * Hard timeouts by task name (ms), overriding the tasks' own `hardTimeoutMs`: a worker process running a task
   * longer is killed and replaced. Read from the module's `hardTimeouts` export (or its deprecated name
   * `hardTimeLimits`).
   */
  readonly hardTimeouts?: Readonly<Record<string, number>>
  /** Alert rules, notifiers and timing for `conveyor alerts` (an array is taken as the rules). */
  readonly alerts?: AlertsConfig
  /** Absolute path of the module, to hand to child processes. */
  readonly path: string
}

const TS = new Set(['.ts', '.mts', '.cts', '.tsx'])

/** Make `import()` understand TypeScript (tsx), for a .ts app module when the runtime does not already. */
async function registerTypeScript(path: string): Promise<void> {
  try {
    const api = (await import('tsx/esm/api')) as { register: () => unknown }
    api.register()
  } catch {
    throw new CliError(
      `${path} is TypeScript: install tsx (npm i -D tsx) so conveyor can load it, or point --app at the built .js`,
    )
  }
}

const isUnknownExtension = (error: unknown) =>
  (error as { code?: string } | undefined)?.code === 'ERR_UNKNOWN_FILE_EXTENSION'

function isApp(value: unknown): value is App {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as App).worker === 'function' &&
    typeof (value as App).enqueue === 'function' &&
    typeof (value as App).broker === 'object'
  )
}

/**
 * Import the user's app module: its default export or `app` must be a Conveyor app (it chooses the adapter, e.g.
 * from `CONVEYOR_BROKER_URL`); `coordination`, `schedules`, `rateLimits` and `hardTimeouts` are optional.
 */
export async function loadAppModule(specifier: string, cwd = process.cwd()): Promise<AppModule> {
  const path = isAbsolute(specifier) ? specifier : resolve(cwd, specifier)
  if (!existsSync(path)) throw new CliError(`app module not found: ${specifier} (looked at ${path})`)
  let mod: Record<string, unknown>
  try {
    try {
      mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>
    } catch (error) {
      // Plain node on a .ts module: load tsx once and try again (under tsx or vitest the first import works).
      if (!(TS.has(extname(path)) && isUnknownExtension(error))) throw error
      await registerTypeScript(path)
      // A new URL: the failed import stays cached under the plain one.
      mod = (await import(`${pathToFileURL(path).href}?conveyor-tsx`)) as Record<string, unknown>
    }
  } catch (error) {
    if (error instanceof CliError) throw error
    const first = String((error as Error)?.message ?? error).split('\n')[0]
    throw new CliError(`cannot load app module ${specifier}: ${first}`, { cause: error })
  }
  const app = [mod.app, mod.default, (mod.default as Record<string, unknown> | undefined)?.app].find(isApp)
  if (app === undefined) {
    throw new CliError(`${specifier} exports no Conveyor app: export it as default or as \`app\` (createApp(...))`)
  }
  const pick = <T>(name: string): T | undefined =>
    (mod[name] ?? (mod.default as Record<string, unknown> | undefined)?.[name]) as T | undefined
  const coordination = pick<CoordinationStore>('coordination')
  const schedules = pick<readonly ScheduleSpec<unknown>[]>('schedules')
  const rateLimits = pick<RateLimits>('rateLimits')
  // `hardTimeLimits` is the deprecated name of `hardTimeouts` (one release).
  const hardTimeouts =
    pick<Readonly<Record<string, number>>>('hardTimeouts') ?? pick<Readonly<Record<string, number>>>('hardTimeLimits')
  const alerts = pick<AlertsConfig | readonly AlertRule[]>('alerts')
  return {
    app,
    path,
    ...(coordination ? { coordination } : {}),
    ...(schedules ? { schedules } : {}),
    ...(rateLimits ? { rateLimits } : {}),
    ...(hardTimeouts ? { hardTimeouts } : {}),
    ...(alerts ? { alerts: Array.isArray(alerts) ? { rules: alerts } : (alerts as AlertsConfig) } : {}),
  }
}

/** The adapters installed beside the CLI, so `--broker redis://…` works without an app module. */
async function installedAdapters(): Promise<UrlAdapter[]> {
  const found: UrlAdapter[] = []
  for (const [pkg, name] of [
    ['@conveyor/redis', 'redisAdapter'],
    ['@conveyor/rabbitmq', 'rabbitmqAdapter'],
  ] as const) {
    try {
      const mod = (await import(pkg)) as Record<string, unknown>
      const adapter = mod[name] as UrlAdapter | undefined
      if (adapter) found.push(adapter)
    } catch {
      // Not installed: its URLs get core's "no adapter for redis://" message.
    }
  }
  return found
}

/** A coordination store on the broker's own Redis (same prefix), when the broker URL is Redis and the adapter installed. */
async function redisCoordinationFor(url: string): Promise<CoordinationStore | undefined> {
  if (!/^(rediss?|redis\+sentinel):/i.test(url)) return undefined
  try {
    const mod = (await import('@conveyor/redis')) as {
      createRedisCoordination?: (options: { url: string }) => CoordinationStore
    }
    return mod.createRedisCoordination?.({ url })
  } catch {
    return undefined
  }
}

/**
 * The app a command works on: `--app` (or `CONVEYOR_APP`), else an app made for `--broker` (or
 * `CONVEYOR_BROKER_URL`) with the installed adapters — and, with `sharedCoordination`, a coordination store on the
 * broker's Redis (for commands whose effect must hold across processes: idempotency keys).
 */
export async function appFor(
  command: string,
  values: {
    app?: string | undefined
    broker?: string | undefined
    /** A result backend URL beside `broker` (ignored with an app module, which brings its own). */
    results?: string | undefined
    sharedCoordination?: boolean
  },
  io: CliIo,
): Promise<AppModule> {
  const specifier = values.app ?? io.env.CONVEYOR_APP
  if (specifier) return loadAppModule(specifier, io.cwd)
  const url = values.broker ?? io.env.CONVEYOR_BROKER_URL
  const results = values.results ?? io.env.CONVEYOR_RESULTS_URL
  if (!url) {
    throw new UsageError(`${command}: say which broker: --app <module>, --broker <url>, or CONVEYOR_BROKER_URL`)
  }
  try {
    const coordination = values.sharedCoordination ? await redisCoordinationFor(url) : undefined
    const app = createApp({
      broker: url,
      ...(results ? { results } : {}),
      adapters: await installedAdapters(),
      logger: false,
      // What this process does (an enqueue, a dead-letter replay) shows in the stream and the history.
      events: true,
      ...(coordination ? { coordination } : {}),
    })
    return { app, path: '', ...(coordination ? { coordination } : {}) }
  } catch (error) {
    throw new CliError(`${(error as Error).message.replace(/^\[conveyor\] /, '')}`, { cause: error })
  }
}

/**
 * Connect the app's broker, or fail with one line naming it, within `timeoutMs`.
 *
 * Adapters report connection trouble on the console (with stacks) and keep retrying; a CLI command must instead fail
 * with one line. So console output is held while connecting: replayed when the connection works, dropped (its first
 * error becomes the reason) when it does not.
 */
export async function connectOrFail(app: App, timeoutMs = 5000): Promise<void> {
  const held: { method: 'error' | 'warn' | 'log' | 'info'; args: unknown[] }[] = []
  const original = { error: console.error, warn: console.warn, log: console.log, info: console.info }
  for (const method of ['error', 'warn', 'log', 'info'] as const) {
    console[method] = (...args: unknown[]) => void held.push({ method, args })
  }
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    await Promise.race([Promise.all([app.broker.connect(), app.results?.connect()]), timeout])
  } catch (error) {
    await app.broker.destroy().catch(() => undefined)
    // The first error an adapter reported (as itself or as pino-style `{ err }`) says more than "connection closed".
    const reported = held
      .flatMap((h) => h.args)
      .map((a) => (a && typeof a === 'object' && 'err' in a ? (a as { err: unknown }).err : a))
      .find((a): a is Error => a instanceof Error)
    const cause = reported ?? (error as Error)
    const reason = String(cause?.message ?? cause)
      .replace(/^\[conveyor\] /, '')
      .split('\n')[0]
    throw new CliError(`cannot reach the ${app.broker.name} broker: ${reason}`, { cause: error })
  } finally {
    clearTimeout(timer)
    Object.assign(console, original)
  }
  for (const h of held) console[h.method](...h.args)
}
