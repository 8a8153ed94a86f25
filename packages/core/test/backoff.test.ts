import { exponential, fixed, InvalidOptionsError } from '@conveyor/core'
import { describe, expect, it } from 'vitest'

const sequence = (backoff: (attempt: number, error: unknown) => number, n: number) =>
  Array.from({ length: n }, (_, i) => backoff(i + 1, new Error('x')))

describe('exponential backoff', () => {
  it('grows by the factor from the base and stops at the cap', () => {
    const backoff = exponential({ baseMs: 100, factor: 3, maxMs: 2000, jitter: 'none' })
    expect(sequence(backoff, 6)).toEqual([100, 300, 900, 2000, 2000, 2000])
  })

  it('defaults to factor 2', () => {
    expect(sequence(exponential({ baseMs: 10, jitter: 'none' }), 4)).toEqual([10, 20, 40, 80])
  })

  it('full jitter stays within [0, d] and reaches both ends', () => {
    expect(sequence(exponential({ baseMs: 1000, jitter: 'full', random: () => 0 }), 3)).toEqual([0, 0, 0])
    expect(sequence(exponential({ baseMs: 1000, jitter: 'full', random: () => 0.999999 }), 3)).toEqual([
      1000, 2000, 4000,
    ])
    const backoff = exponential({ baseMs: 1000, maxMs: 8000, jitter: 'full' })
    for (let i = 0; i < 2000; i++) {
      const attempt = (i % 6) + 1
      const d = backoff(attempt, null)
      expect(d).toBeGreaterThanOrEqual(0)
      expect(d).toBeLessThanOrEqual(Math.min(8000, 1000 * 2 ** (attempt - 1)))
    }
  })

  it('equal jitter stays within [d/2, d]', () => {
    const backoff = exponential({ baseMs: 1000, jitter: 'equal' })
    const seen = new Set<number>()
    for (let i = 0; i < 1000; i++) {
      const d = backoff(3, null)
      expect(d).toBeGreaterThanOrEqual(2000)
      expect(d).toBeLessThanOrEqual(4000)
      seen.add(Math.floor(d / 500))
    }
    // Random, not constant: the values spread over the range.
    expect(seen.size).toBeGreaterThan(2)
  })

  it('rejects options that cannot work with a coded error', () => {
    expect(() => exponential({ baseMs: -1 })).toThrow(InvalidOptionsError)
    expect(() => exponential({ baseMs: 1, factor: 0.5 })).toThrow(/factor/)
    expect(() => exponential({ baseMs: 1, jitter: 'most' as never })).toThrow(/jitter/)
    try {
      exponential({ baseMs: Number.NaN })
    } catch (error) {
      expect((error as InvalidOptionsError).code).toBe('CONVEYOR_INVALID_OPTIONS')
    }
  })
})

describe('fixed backoff', () => {
  it('returns the same delay every time, jittered when asked', () => {
    expect(sequence(fixed(250), 4)).toEqual([250, 250, 250, 250])
    expect(sequence(fixed(250, { jitter: 'full', random: () => 0.5 }), 2)).toEqual([125, 125])
    expect(() => fixed(-5)).toThrow(InvalidOptionsError)
  })
})
