import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { cpus, freemem, loadavg, platform, release, totalmem } from 'node:os'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)

/** Read from the package's own package.json, found from its entry point (not every package exports it). */
function versionOf(pkg: string): string {
  try {
    let dir = dirname(require.resolve(pkg))
    while (dir !== dirname(dir)) {
      const file = join(dir, 'package.json')
      if (existsSync(file)) {
        const json = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string }
        if (json.name === pkg) return json.version ?? 'unknown'
      }
      dir = dirname(dir)
    }
  } catch {
    // not installed
  }
  return 'unknown'
}

/** What the numbers were measured on: they only compare within one run on one machine. */
export function machineInfo() {
  const list = cpus()
  return {
    cpus: list.length,
    cpuModel: list[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    freeMemoryGiB: Math.round((freemem() / 2 ** 30) * 10) / 10,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    os: `${platform()} ${release()}`,
    node: process.version,
  }
}

export function packageVersions(): Record<string, string> {
  return Object.fromEntries(
    ['@conveyor/core', '@conveyor/redis', '@conveyor/rabbitmq', 'bullmq', 'ioredis', 'amqplib'].map((p) => [
      p,
      versionOf(p),
    ]),
  )
}
