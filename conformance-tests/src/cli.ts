#!/usr/bin/env node
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { formatCapabilities, formatOutcomes } from './cli/report'
import { runSuite } from './cli/run-suite'

const USAGE = `Usage: conveyor-conformance --adapter <module> [options]

Runs the Conveyor broker conformance suite on your adapter and prints its capability matrix and a pass/fail table.

The module (JavaScript, or TypeScript) exports a broker factory, called with a fresh { namespace } for every test:
  export default function createBroker({ namespace }) { return createMyBroker({ prefix: namespace, leaseMs: 500 }) }
  (or a named export createBroker). Optional named exports: inspect, cleanup, skip — as in runBrokerConformance —
  and createBackend for --results.

Options:
  --adapter <path>      the module (required)
  --name <name>         name shown in reports (default: the broker's own name)
  --only <areas>        comma-separated areas: ${'envelope,ack,retry,dead-letter,delay,priority,crash,concurrency,lifecycle,bad-input'}
  --time-scale <n>      multiply every wait of the suite (slow brokers, busy CI); default 1
  --results             also run the result backend suite on the module's createBackend export
  -h, --help            this text

Exit status: 0 when nothing failed (skips are fine), 1 when a test failed, 2 on a usage or load error.`

/** Area names as typed on the command line → the suite's exported runner. */
const RUNNERS: Record<string, string> = {
  envelope: 'runEnvelopeTests',
  ack: 'runAckTests',
  retry: 'runRetryTests',
  'dead-letter': 'runDeadLetterTests',
  delay: 'runDelayTests',
  priority: 'runPriorityTests',
  crash: 'runCrashTests',
  concurrency: 'runConcurrencyTests',
  lifecycle: 'runLifecycleTests',
  'bad-input': 'runBadInputTests',
}

async function main(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parse>['values']
  try {
    values = parse(argv).values
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`)
    return 2
  }
  if (values.help) {
    console.log(USAGE)
    return 0
  }
  if (values.adapter === undefined) {
    console.error(`--adapter is required\n\n${USAGE}`)
    return 2
  }
  const areas = values.only?.split(',').map((area) => area.trim()) ?? []
  const unknown = areas.filter((area) => !(area in RUNNERS))
  if (unknown.length > 0) {
    console.error(`unknown area(s): ${unknown.join(', ')}; choose from ${Object.keys(RUNNERS).join(', ')}`)
    return 2
  }
  const timeScale = Number(values['time-scale'] ?? '1')
  if (!(Number.isFinite(timeScale) && timeScale > 0)) {
    console.error(`--time-scale must be a positive number, got ${values['time-scale']}`)
    return 2
  }
  const report = await runSuite({
    adapter: resolve(values.adapter),
    ...(values.name !== undefined ? { name: values.name } : {}),
    runners: areas.length > 0 ? areas.map((area) => RUNNERS[area]!) : ['runBrokerConformance'],
    timeScale,
    results: values.results ?? false,
  })
  const name = values.name ?? report.probe?.name ?? 'adapter'
  if (report.probe) console.log(`${formatCapabilities(name, report.probe.capabilities)}\n`)
  if (report.outcomes.length > 0) console.log(formatOutcomes(report.outcomes))
  for (const error of report.errors) console.error(`error: ${error}`)
  if (report.outcomes.length === 0) {
    console.error('no test ran: the adapter module could not be loaded or exported no factory')
    return 2
  }
  return report.outcomes.some((o) => o.state === 'fail') || report.errors.length > 0 ? 1 : 0
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      adapter: { type: 'string' },
      name: { type: 'string' },
      only: { type: 'string' },
      'time-scale': { type: 'string' },
      results: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error)
    process.exit(2)
  },
)
