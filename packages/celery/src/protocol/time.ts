/**
 * Times as Celery writes them: Python's `datetime.isoformat()` in UTC, `2026-12-02T15:45:14.017000+00:00`
 * (Celery 5.2's parser takes this and `Z`; we write what Python writes).
 */
export function toCeleryTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('Z', '000+00:00')
}

/** Parse a Celery time; `undefined` for null/absent, `NaN` for text that is not a time. Naive times are UTC. */
export function fromCeleryTime(value: unknown): number | undefined {
  if (value === null || value === undefined) return undefined
  if (typeof value !== 'string') return Number.NaN
  const hasZone = /(Z|[+-]\d\d:?\d\d)$/.test(value)
  // Python's isoformat keeps microseconds; Date.parse wants at most milliseconds.
  const trimmed = value.replace(/(\.\d{3})\d+/, '$1')
  return Date.parse(hasZone ? trimmed : `${trimmed}Z`)
}
