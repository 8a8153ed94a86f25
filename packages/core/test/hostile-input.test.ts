import { MalformedMessageError, SerializationError } from '@conveyor/core'
import { decodeEnvelope, type Envelope, MAX_INPUT_DEPTH, safeJsonParse } from '@conveyor/core/adapter'
import { describe, expect, it, vi } from 'vitest'
import { useMemoryApps } from './helpers'

const newApp = useMemoryApps()

const envelope: Envelope = {
  id: 'abc',
  task: 't',
  payload: null,
  queue: 'default',
  priority: 0,
  attempt: 1,
  maxAttempts: 3,
  createdAt: 1_700_000_000_000,
}

/** A nested array `depth` levels deep, as text (no JSON.stringify: that overflows for the deep ones). */
const nestedText = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`
const withPayloadText = (payloadText: string) =>
  JSON.stringify(envelope).replace('"payload":null', `"payload":${payloadText}`)

/** The merge a careless handler might write: copies every own key, recursing into objects. */
function naiveMerge(target: Record<string, unknown>, source: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(source)) {
    const value = source[key]
    if (value !== null && typeof value === 'object') {
      if (target[key] === undefined || typeof target[key] !== 'object') target[key] = {}
      naiveMerge(target[key] as Record<string, unknown>, value as Record<string, unknown>)
    } else {
      target[key] = value
    }
  }
  return target
}

describe('prototype keys, however they are spelled', () => {
  const u = (hex: string) => `\\u00${hex}`
  const spellings = [
    ['__proto__', '"__proto__":{"polluted":"yes"}'],
    ['\\u005f_proto__', `"${u('5f')}_proto__":{"polluted":"yes"}`],
    ['\\u005F\\u005Fproto\\u005F\\u005F', `"${u('5F')}${u('5F')}proto${u('5F')}${u('5F')}":{"polluted":"yes"}`],
    ['__\\u0070roto__', `"__${u('70')}roto__":{"polluted":"yes"}`],
    [
      'fully escaped __proto__',
      `"${[...'__proto__'].map((c) => u(c.charCodeAt(0).toString(16))).join('')}":{"polluted":"yes"}`,
    ],
    ['constructor.prototype', '"constructor":{"prototype":{"polluted":"yes"}}'],
    ['\\u0063onstructor.prototype', `"${u('63')}onstructor":{"prototype":{"polluted":"yes"}}`],
    ['constructor.\\u0070rototype', `"constructor":{"${u('70')}rototype":{"polluted":"yes"}}`],
    ['CONSTRUCTOR escaped upper-case hex', `"${u('63')}${u('6F')}nstructor":{"prototype":{"polluted":"yes"}}`],
  ] as const

  it.each(spellings)('%s in a payload cannot pollute Object.prototype through a naive merge', (_label, member) => {
    for (const text of [`{${member}}`, `{"a":{"b":[{${member}}]}}`, withPayloadText(`{${member}}`)]) {
      const parsed = safeJsonParse(text) as Record<string, unknown>
      naiveMerge({}, parsed)
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined()
      expect(JSON.stringify(parsed)).not.toMatch(/polluted/)
    }
    const decoded = decodeEnvelope(withPayloadText(`{${member},"keep":1}`))
    expect(decoded.payload).toEqual({ keep: 1 })
  })

  it('text that only looks near them parses as plain JSON would (the fast path) and a BOM is skipped', () => {
    // No backslash and no quoted key of those names: the fast path; the same values as secure-json-parse gives.
    expect(safeJsonParse('{"a":"__proto__ as a value","b":["constructor"],"c":1}')).toEqual({
      a: '__proto__ as a value',
      b: ['constructor'],
      c: 1,
    })
    expect(safeJsonParse('\ufeff{"a":1}')).toEqual({ a: 1 })
    // The quoted names as values take the careful path and keep their values.
    expect(safeJsonParse('{"a":"__proto__","b":"constructor"}')).toEqual({ a: '__proto__', b: 'constructor' })
  })

  it('the worker hands the handler a payload without them (memory broker, published raw)', async () => {
    const app = newApp()
    const seen: unknown[] = []
    app.task('t', (input: unknown) => {
      naiveMerge({}, input as Record<string, unknown>)
      seen.push(input)
    })
    await app.worker({ queues: ['default'] }).start()
    await app.broker.publishRaw('default', withPayloadText(`{${spellings[1][1]},"ok":true}`))
    await vi.waitFor(() => expect(seen).toEqual([{ ok: true }]))
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})

describe('nesting depth', () => {
  it(`decodes a payload ${MAX_INPUT_DEPTH} levels deep, refuses one nested thousands of levels deep as malformed`, () => {
    expect(decodeEnvelope(withPayloadText(nestedText(MAX_INPUT_DEPTH))).payload).toBeDefined()
    for (const depth of [1_000, 5_000, 100_000]) {
      expect(() => decodeEnvelope(withPayloadText(nestedText(depth)))).toThrow(MalformedMessageError)
      expect(() => decodeEnvelope(withPayloadText(nestedText(depth)))).toThrow(/deeper than \d+ levels/)
    }
    // Brackets inside strings are data, not nesting.
    expect(decodeEnvelope(withPayloadText(JSON.stringify('['.repeat(10_000)))).payload).toHaveLength(10_000)
  })

  it('a deeply nested message is dead-lettered as malformed and frees its slot, so the next one runs', async () => {
    const app = newApp()
    const done: number[] = []
    const ok = app.task('ok', (input: { i: number }) => {
      done.push(input.i)
    })
    app.task('t', () => {})
    await app.worker({ queues: ['default'], concurrency: 1 }).start()
    for (let i = 0; i < 4; i++) await app.broker.publishRaw('default', withPayloadText(nestedText(6_000)))
    await ok.enqueue({ i: 1 })
    await vi.waitFor(() => expect(done).toEqual([1]))
    await vi.waitFor(async () => expect(await app.broker.deadLetters.count('default')).toBe(4))
    const letters = await app.broker.deadLetters.list('default')
    expect(letters.every((l) => l.reason === 'malformed' && l.raw !== undefined)).toBe(true)
    expect(letters[0]!.error?.message).toMatch(/deeper than/)
    expect(await app.broker.stats('default')).toEqual({ ready: 0, inFlight: 0, delayed: 0, dead: 4 })
  })

  it('enqueue refuses input nested deeper than the limit, or referring to itself, with SerializationError', async () => {
    const app = newApp()
    let deep: unknown = 1
    for (let i = 0; i < MAX_INPUT_DEPTH + 1; i++) deep = [deep]
    const cyclic: Record<string, unknown> = { a: 1 }
    cyclic.self = cyclic
    for (const input of [deep, cyclic, { list: [cyclic] }]) {
      const error = await app.enqueue('t', input).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(SerializationError)
      expect((error as Error).message).toMatch(/input nests deeper than 200 levels or refers to itself/)
    }
    let fine: unknown = 1
    for (let i = 0; i < MAX_INPUT_DEPTH - 1; i++) fine = [fine]
    await app.enqueue('t', fine)
    expect(await app.broker.stats('default')).toMatchObject({ ready: 1 })
  })
})
