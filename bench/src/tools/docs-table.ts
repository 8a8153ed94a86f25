/**
 * Regenerate the results table of docs/performance.md from a saved run, without measuring again:
 *
 *   npx tsx bench/src/tools/docs-table.ts [bench/results/latest.json]
 *
 * The same tables and Targets list `npm run bench -- --write-docs` writes, with the targets checked again against
 * that run's medians (so a target changed since is applied to the old numbers too).
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { DOCS, type RunSummary, summaryOf, writeDocsTable } from '../report/docs'
import { renderTables } from '../report/table'
import { checkTargets } from '../report/targets'
import type { Measurement } from '../scenarios/context'

const file = process.argv[2] ?? fileURLToPath(new URL('../../results/latest.json', import.meta.url))
const run = JSON.parse(readFileSync(file, 'utf8')) as RunSummary & { measurements: Measurement[] }
const table = renderTables(run.measurements, checkTargets(run.measurements))
writeDocsTable(table, summaryOf(run))
console.log(`${DOCS}: table from ${file} (${run.date})`)
