import type { DeadLetter } from '@conveyor/core/adapter'

/**
 * A dead-letter predicate from filter words, the same syntax as `conveyor dlq --filter`: `task=<glob>`,
 * `reason=<reason>`, `id=<id>`, or any other text as a case-insensitive substring of the task, reason or error.
 * Every word must match.
 */
export function deadLetterFilter(filter: string | undefined): (dead: DeadLetter) => boolean {
  const words = (filter ?? '').split(/\s+/).filter((w) => w !== '')
  const tests = words.map((word): ((d: DeadLetter) => boolean) => {
    const eq = /^(task|reason|id)=(.*)$/.exec(word)
    if (eq) {
      const key = eq[1]
      const value = eq[2] ?? ''
      if (key === 'task') {
        const re = new RegExp(`^${value.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`)
        return (d) => re.test(d.envelope?.task ?? '')
      }
      if (key === 'reason') return (d) => d.reason === value
      return (d) => d.id === value
    }
    const text = word.toLowerCase()
    return (d) => [d.envelope?.task, d.reason, d.error?.message].some((s) => s?.toLowerCase().includes(text))
  })
  return (d) => tests.every((t) => t(d))
}
