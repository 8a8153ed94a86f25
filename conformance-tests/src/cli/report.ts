import type { BrokerCapabilities } from '@conveyor/core/adapter'
import { capabilityMatrix } from '../capability-matrix'

/** One test's outcome as the CLI prints it. */
export interface TestOutcome {
  readonly id: string
  readonly title: string
  readonly state: 'pass' | 'fail' | 'skip'
  readonly durationMs: number
  /** Skip reason, or the first line of the failure. */
  readonly detail?: string
}

const pad = (text: string, width: number) => (text.length >= width ? text : text + ' '.repeat(width - text.length))

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)))
  return rows
    .map((row) =>
      row
        .map((cell, col) => pad(cell, widths[col]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

/** The capability matrix: each flag, its value, and how many tests the claim turns on or off. */
export function formatCapabilities(name: string, capabilities: BrokerCapabilities): string {
  const rows = [['capability', 'value', 'tests', 'meaning']]
  for (const row of capabilityMatrix(capabilities)) {
    const tests = row.unlocks.length === 0 ? '-' : `${row.claimed ? 'runs' : 'skips'} ${row.unlocks.length}`
    rows.push([row.capability, row.value, tests, row.meaning])
  }
  return `Capabilities claimed by ${name}\n\n${table(rows)}`
}

const MARK = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' } as const

/** The pass/fail table, then totals. */
export function formatOutcomes(outcomes: readonly TestOutcome[]): string {
  const rows = [['result', 'test', 'ms', 'detail']]
  for (const o of outcomes) {
    rows.push([MARK[o.state], o.id, String(Math.round(o.durationMs)), (o.detail ?? '').split('\n')[0]!.slice(0, 160)])
  }
  const count = (state: TestOutcome['state']) => outcomes.filter((o) => o.state === state).length
  const totals = `${count('pass')} passed, ${count('fail')} failed, ${count('skip')} skipped (${outcomes.length} tests)`
  return `${table(rows)}\n\n${totals}`
}
