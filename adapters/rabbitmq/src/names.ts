/** Server-side names of everything one logical queue needs. */
export interface QueueNames {
  /** The work queue consumers read. */
  readonly work: string
  /** The dead-letter queue, `<work>.dead`. */
  readonly dead: string
  /** One TTL queue per delay level, `<work>.delay.<level>`, ascending. */
  readonly delays: readonly { readonly ms: number; readonly name: string }[]
}

/** `100ms`, `2s`, `5m`, `3h`: readable level names for the management UI. */
export function formatLevel(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`
  if (ms % 60_000 === 0) return `${ms / 60_000}m`
  if (ms % 1_000 === 0) return `${ms / 1_000}s`
  return `${ms}ms`
}

export function queueNames(prefix: string, queue: string, levels: readonly number[]): QueueNames {
  const work = prefix === '' ? queue : `${prefix}.${queue}`
  return {
    work,
    dead: `${work}.dead`,
    delays: levels.map((ms) => ({ ms, name: `${work}.delay.${formatLevel(ms)}` })),
  }
}

/**
 * The delay queue to park a message in: the largest level not longer than the remaining delay, so a message is never
 * delivered early. Undefined when the remainder is shorter than the smallest level (the consumer holds it instead).
 */
export function pickLevel<T extends { readonly ms: number }>(levels: readonly T[], remainingMs: number): T | undefined {
  let picked: T | undefined
  for (const level of levels) {
    if (level.ms <= remainingMs) picked = level
    else break
  }
  return picked
}
