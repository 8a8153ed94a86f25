import type { App } from '@conveyor/core'
import type { CliIo } from '../io'
import { type AppModule, appFor, connectOrFail } from '../load-app'

/** Options every broker-facing command accepts. */
export const connectionOptions = {
  app: { type: 'string', short: 'A' },
  broker: { type: 'string', short: 'b' },
  json: { type: 'boolean' },
} as const

export const CONNECTION_HELP = `  -A, --app <module>     app module (default export or \`app\`); or CONVEYOR_APP
  -b, --broker <url>     broker URL when there is no app module; or CONVEYOR_BROKER_URL
      --json             machine-readable output
  -h, --help             this help`

/** Load the app, connect its broker (one clear line when it cannot), run `fn`, close the app whatever happens. */
export async function withApp<T>(
  command: string,
  values: Parameters<typeof appFor>[1],
  io: CliIo,
  fn: (mod: AppModule, app: App) => Promise<T>,
): Promise<T> {
  const mod = await appFor(command, values, io)
  await connectOrFail(mod.app)
  try {
    return await fn(mod, mod.app)
  } finally {
    await mod.app.close({ timeoutMs: 0 }).catch(() => undefined)
    await mod.coordination?.close().catch(() => undefined)
  }
}
