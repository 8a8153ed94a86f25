import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Measurement, ScenarioContext } from './context'

const CHORD = fileURLToPath(new URL('../workflows/chord.ts', import.meta.url))
const BENCH_DIR = fileURLToPath(new URL('../..', import.meta.url))

/**
 * The 10,000-member chord (issue 16) as part of `npm run bench`: runs the chord bench (`npm run bench:chord`) in its
 * own process, because it drives a Celery worker and its own Conveyor workers and prints its own table (results in
 * bench/results/chord.json). It contributes no rows to the main table; a failed chord (a callback run other than
 * once, a wrong sum) fails the bench.
 */
export async function chordScenario(ctx: ScenarioContext): Promise<Measurement[]> {
  // --quick in the main bench means a 2,000-member chord, one run.
  const args = ['--import', 'tsx', '--conditions=conveyor-source', CHORD, ...(ctx.quick ? ['--quick'] : [])]
  const child = spawn(process.execPath, args, { cwd: BENCH_DIR, stdio: ['ignore', 'inherit', 'inherit'] })
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', resolve)
  })
  if (code !== 0)
    throw new Error(`[bench] the chord bench failed (exit ${code}); run npm run bench:chord alone to see why`)
  return []
}
