import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'

let dir: string | undefined
let session: Session | undefined

/**
 * `--profile`: CPU-profile only the measured window of each Conveyor sample (not the fill, not start-up), one
 * `.cpuprofile` per sample in `dir`; summarise with `tsx src/tools/cpu-top.ts <file>` or open in Chrome DevTools.
 */
export function enableProfiling(directory: string): void {
  dir = directory
}

/** Run `fn`, profiled when profiling is on and `label` names a Conveyor system. */
export async function profiled<T>(label: string, fn: () => Promise<T>): Promise<T> {
  if (dir === undefined || !label.includes('conveyor')) return fn()
  if (session === undefined) {
    session = new Session()
    session.connect()
    await session.post('Profiler.enable')
  }
  await session.post('Profiler.start')
  try {
    return await fn()
  } finally {
    const { profile } = await session.post('Profiler.stop')
    const file = join(dir, `${label.replace(/[^\w.-]+/g, '_')}.cpuprofile`)
    writeFileSync(file, JSON.stringify(profile))
    process.stderr.write(`  profile: ${file}\n`)
  }
}
