import type { ResultBackend } from '../contracts/result-backend'

/**
 * Drop stored records of runs about to run again under the same id (a replay, an enqueue reusing an id). Best effort:
 * a result store that is down does not stop the enqueue; the stale record is then what `result()` finds.
 */
export async function forgetRecords(results: ResultBackend | undefined, ids: readonly string[]): Promise<void> {
  if (results === undefined) return
  await Promise.all(ids.map((id) => results.delete(id).catch(() => undefined)))
}
