import { DEFAULT_RESTART, deadLetterFilter, parsePool, restartDelay, UsageError } from '@conveyor/cli'
import type { DeadLetter } from '@conveyor/core/adapter'
import { describe, expect, it } from 'vitest'

describe('pools', () => {
  it('parses name=queues:concurrency', () => {
    expect(parsePool('high=critical:10', 5, 2)).toEqual({
      name: 'high',
      queues: ['critical'],
      concurrency: 10,
      processes: 2,
    })
    expect(parsePool('bulk=reports,exports', 5, 1)).toEqual({
      name: 'bulk',
      queues: ['reports', 'exports'],
      concurrency: 5,
      processes: 1,
    })
    for (const bad of ['high', '=q', 'high=:3', 'high=q:x']) expect(() => parsePool(bad, 1, 1)).toThrow(UsageError)
  })
})

describe('restart backoff', () => {
  it('doubles from the base up to the cap', () => {
    expect([1, 2, 3, 4].map((n) => restartDelay(DEFAULT_RESTART, n))).toEqual([500, 1000, 2000, 4000])
    expect(restartDelay(DEFAULT_RESTART, 40)).toBe(30_000)
    expect(restartDelay(DEFAULT_RESTART, 0)).toBe(0)
  })
})

describe('dead-letter filters', () => {
  const dead = (task: string, reason: string, message = ''): DeadLetter => ({
    id: `${task}-${reason}`,
    queue: 'q',
    envelope: { id: 'x', task, payload: null, queue: 'q', priority: 0, attempt: 1, maxAttempts: 1, createdAt: 0 },
    reason,
    error: { name: 'Error', message },
    attempts: 1,
    deliveryCount: 1,
    createdAt: 0,
    deadAt: 0,
  })
  it('matches task globs, reasons, ids and free text, all at once', () => {
    const all = [
      dead('email.send', 'max-attempts', 'SMTP 554'),
      dead('email.bounce', 'unrecoverable'),
      dead('pdf', 'max-attempts'),
    ]
    const pick = (...f: string[]) => all.filter(deadLetterFilter(f)).map((d) => d.id)
    expect(pick('task=email.*')).toEqual(['email.send-max-attempts', 'email.bounce-unrecoverable'])
    expect(pick('task=email.*', 'reason=max-attempts')).toEqual(['email.send-max-attempts'])
    expect(pick('smtp')).toEqual(['email.send-max-attempts'])
    expect(pick('id=pdf-max-attempts')).toEqual(['pdf-max-attempts'])
    expect(pick()).toHaveLength(3)
  })
})
