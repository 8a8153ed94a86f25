import { MalformedMessageError } from '@conveyor/core'
import { decodeEnvelope, type Envelope, encodeEnvelope, safeJsonParse } from '@conveyor/core/adapter'
import { describe, expect, it } from 'vitest'

const envelope: Envelope = {
  id: 'abc',
  task: 'email.send',
  payload: { to: 'ü@example.com', nested: { list: [1, 'two', null, { deep: true }] }, emoji: '📦' },
  queue: 'emails',
  priority: 5,
  attempt: 1,
  maxAttempts: 3,
  createdAt: 1_700_000_000_000,
  notBefore: 1_700_000_005_000,
  headers: { 'x-source': 'test' },
}

describe('envelope codec', () => {
  it('round-trips an envelope exactly', () => {
    expect(decodeEnvelope(encodeEnvelope(envelope))).toEqual(envelope)
  })

  it.each([
    ['not JSON', '{nope'],
    ['an array', '[1,2]'],
    ['no id', JSON.stringify({ ...envelope, id: undefined })],
    ['a priority out of range', JSON.stringify({ ...envelope, priority: 12 })],
    ['attempt 0', JSON.stringify({ ...envelope, attempt: 0 })],
    ['headers that are not strings', JSON.stringify({ ...envelope, headers: { a: 1 } })],
  ])('rejects %s with MalformedMessageError naming the problem', (_label, text) => {
    let caught: unknown
    try {
      decodeEnvelope(text)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(MalformedMessageError)
    expect((caught as MalformedMessageError).code).toBe('CONVEYOR_MALFORMED_MESSAGE')
    expect((caught as Error).message).toMatch(/^\[conveyor\] /)
  })

  it('refuses to encode what JSON cannot carry', () => {
    expect(() => encodeEnvelope({ ...envelope, payload: { n: 10n } as never })).toThrow(/cannot be encoded/)
  })

  it('never lets payload keys pollute prototypes', () => {
    const text =
      '{"a":1,"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"b":{"__proto__":{"x":1}}}'
    const parsed = safeJsonParse(text) as Record<string, unknown>
    const merged = Object.assign({}, parsed)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect((merged as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype)
    expect(Object.keys(parsed)).toEqual(['a', 'b'])
    expect(Object.getPrototypeOf(parsed.b)).toBe(Object.prototype)
    expect((parsed.b as Record<string, unknown>).x).toBeUndefined()
  })

  it('keeps ordinary keys that merely look similar', () => {
    expect(safeJsonParse('{"constructor":"a string is harmless","proto":1}')).toEqual({
      constructor: 'a string is harmless',
      proto: 1,
    })
  })
})
