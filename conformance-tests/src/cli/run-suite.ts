import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { BrokerCapabilities } from '@conveyor/core/adapter'
import type { TestOutcome } from './report'

export interface SuiteRun {
  /** Absolute path of the adapter module. */
  readonly adapter: string
  /** Name shown in reports; the broker's own `name` when absent. */
  readonly name?: string
  /** Area runners to call (`runAckTests`…), or the aggregate. */
  readonly runners: readonly string[]
  readonly timeScale: number
  /** Also run the result backend suite with the module's `createBackend`. */
  readonly results: boolean
}

/** The conformance entry point next to this file: `index.js` when built, `index.ts` when run from source. */
function suiteEntry(): string {
  for (const candidate of ['../index.js', '../index.ts', './index.js']) {
    const path = fileURLToPath(new URL(candidate, import.meta.url))
    if (existsSync(path)) return path
  }
  throw new Error('[conveyor] [conformance] cannot find the suite entry (index.js) next to the CLI')
}

/** The test file the CLI hands to vitest: the adapter's three lines, written for it. */
function testFile(run: SuiteRun, entry: string, capabilitiesFile: string): string {
  const adapter = JSON.stringify(pathToFileURL(run.adapter).href)
  const suite = JSON.stringify(pathToFileURL(entry).href)
  const name = run.name !== undefined ? JSON.stringify(run.name) : 'probe.name'
  const options = `{
  name: ${name},
  createBroker,
  inspect: adapter.inspect,
  cleanup: adapter.cleanup,
  skip: adapter.skip,
  timeScale: ${run.timeScale},
}`
  const calls = run.runners.map((runner) => `suite.${runner}(options)`).join('\n')
  const results = run.results
    ? `
if (typeof adapter.createBackend !== 'function') throw new Error('[conveyor] [conformance] --results needs the adapter module to export createBackend')
suite.runResultBackendConformance({ name: ${name}, createBackend: adapter.createBackend, cleanup: adapter.cleanupBackend, skip: adapter.skipBackend, timeScale: ${run.timeScale} })`
    : ''
  return `import { writeFileSync } from 'node:fs'
import * as adapter from ${adapter}
import * as suite from ${suite}
const createBroker = adapter.createBroker ?? adapter.default
if (typeof createBroker !== 'function') throw new Error('[conveyor] [conformance] the adapter module must export a broker factory: export default (ctx) => broker, or export function createBroker(ctx)')
// The capability matrix comes from a probe instance (created, never connected, destroyed).
const probe = await createBroker({ namespace: 'cf_probe_${Date.now().toString(36)}' })
writeFileSync(${JSON.stringify(capabilitiesFile)}, JSON.stringify({ name: probe.name, capabilities: probe.capabilities }))
await probe.destroy()
const options = ${options}
${calls}${results}
`
}

interface LooseTask {
  readonly type: string
  readonly name: string
  readonly tasks?: readonly LooseTask[]
  readonly mode?: string
  readonly result?: {
    readonly state?: string
    readonly duration?: number
    readonly note?: string
    readonly errors?: readonly { readonly message?: string }[]
  }
}

function collect(tasks: readonly LooseTask[], out: TestOutcome[]): void {
  for (const task of tasks) {
    if (task.tasks) collect(task.tasks, out)
    if (task.type !== 'test') continue
    const match = /^\[([^\]]+)\] (.*)$/.exec(task.name)
    const state = task.result?.state === 'pass' ? 'pass' : task.result?.state === 'fail' ? 'fail' : 'skip'
    const detail = state === 'fail' ? task.result?.errors?.[0]?.message : task.result?.note
    out.push({
      id: match?.[1] ?? task.name,
      title: match?.[2] ?? task.name,
      state,
      durationMs: task.result?.duration ?? 0,
      ...(detail !== undefined ? { detail } : {}),
    })
  }
}

/**
 * Run the suite on the adapter through vitest's node API and return every test's outcome. The workspace packages
 * are aliased to the copies this CLI itself resolves, so the suite, core and the adapter share one `@conveyor/core`.
 */
export interface SuiteReport {
  readonly outcomes: TestOutcome[]
  /** Errors outside tests (the adapter module failed to load, unhandled rejections). */
  readonly errors: string[]
  /** What the adapter's probe instance claimed, when it could be created. */
  readonly probe?: { readonly name: string; readonly capabilities: BrokerCapabilities }
}

export async function runSuite(run: SuiteRun): Promise<SuiteReport> {
  const { startVitest } = await import('vitest/node')
  const dir = await mkdtemp(join(tmpdir(), 'conveyor-conformance-'))
  const file = join(dir, 'adapter.conformance.test.mjs')
  const capabilitiesFile = join(dir, 'capabilities.json')
  await writeFile(file, testFile(run, suiteEntry(), capabilitiesFile))
  // Exact matches: a plain '@conveyor/core' key would also rewrite '@conveyor/core/adapter' as a path under it.
  const alias: { find: RegExp; replacement: string }[] = []
  for (const entry of ['@conveyor/core', '@conveyor/core/adapter']) {
    try {
      alias.push({
        find: new RegExp(`^${entry.replaceAll('/', '\\/')}$`),
        replacement: fileURLToPath(import.meta.resolve(entry)),
      })
    } catch {
      // The adapter brings its own @conveyor/core; nothing to align.
    }
  }
  try {
    const vitest = await startVitest(
      'test',
      [],
      {
        root: dir,
        config: false,
        watch: false,
        include: [file],
        reporters: [{}],
        testTimeout: 60_000 * run.timeScale,
        hookTimeout: 60_000 * run.timeScale,
        pool: 'forks',
      },
      { resolve: { alias }, server: { fs: { strict: false } } },
    )
    const outcomes: TestOutcome[] = []
    collect(vitest.state.getFiles() as unknown as LooseTask[], outcomes)
    const errors = vitest.state
      .getUnhandledErrors()
      .map((error) => String((error as { message?: unknown }).message ?? error))
    for (const f of vitest.state.getFiles()) {
      for (const e of f.result?.errors ?? []) errors.push(String(e.message))
    }
    await vitest.close()
    const probe = existsSync(capabilitiesFile)
      ? (JSON.parse(await readFile(capabilitiesFile, 'utf8')) as SuiteReport['probe'])
      : undefined
    return { outcomes, errors, ...(probe ? { probe } : {}) }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
