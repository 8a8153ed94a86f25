// Decoding the messages a real Celery 5.2 sent (copies of shared/fixtures/celery) and encoding ours the same way.
import { readFileSync } from 'node:fs'
import { InvalidOptionsError } from '@conveyor/core'
import { describe, expect, it } from 'vitest'
import {
  CeleryDecodeError,
  CeleryPayloadError,
  celeryToEnvelope,
  createCeleryAmqpBroker,
  createCeleryRedisBroker,
  decodeKombu,
  encodeKombu,
  envelopeToCelery,
  fromKombuPriority,
  kombuListKeys,
  toKombuPriority,
} from '../src/index'

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')
const context = { queue: 'capture', priority: 0, maxAttempts: () => 1, now: 1_000 }

describe('Celery protocol v2 codec', () => {
  it('celery-codec-1: decodes the captured Kombu Redis message into args/kwargs and ids', () => {
    const message = decodeKombu(fixture('captured-redis-message.json').trim())
    const envelope = celeryToEnvelope(message, context)
    expect(envelope).toMatchObject({
      id: '4e31b319-99ca-4e1e-88b4-78cd839ea649',
      task: 'ts.multiply',
      payload: { args: [6, 7], kwargs: { note: 'hi' } },
      attempt: 1,
      rootId: '4e31b319-99ca-4e1e-88b4-78cd839ea649',
      headers: { 'celery-reply-to': '671ba951-a16d-3812-98d8-55e04ec5427e', 'celery-origin': 'gen13825@vm' },
    })
    expect(envelope.notBefore).toBeUndefined()
  })

  it('celery-codec-2: decodes the captured AMQP message, expires as epoch ms', () => {
    const captured = JSON.parse(fixture('captured-amqp-message.json'))
    const envelope = celeryToEnvelope(
      {
        headers: captured.headers,
        properties: captured.properties,
        contentType: captured.properties.content_type,
        contentEncoding: captured.properties.content_encoding,
        body: captured.body,
      },
      context,
    )
    expect(envelope.expiresAt).toBe(Date.parse('2026-12-02T15:45:14.017Z'))
    expect(envelope.payload).toEqual({ args: [6, 7], kwargs: { note: 'hi' } })
  })

  it('celery-codec-3: encodes as Celery does and reads back field for field', () => {
    const envelope = {
      id: 'abc',
      task: 'proj.add',
      payload: { args: [1, 2], kwargs: { x: 1 } },
      queue: 'q',
      priority: 7,
      attempt: 3,
      maxAttempts: 5,
      createdAt: 5,
      notBefore: Date.parse('2030-01-01T00:00:00.123Z'),
    }
    const message = envelopeToCelery(envelope, toKombuPriority(7))
    expect(message.headers).toMatchObject({
      retries: 2,
      eta: '2030-01-01T00:00:00.123000+00:00',
      timelimit: [null, null],
    })
    const raw = JSON.parse(encodeKombu(message, 'q'))
    expect(raw.properties).toMatchObject({ priority: 2, body_encoding: 'base64', delivery_info: { routing_key: 'q' } })
    const back = celeryToEnvelope(decodeKombu(JSON.stringify(raw)), { ...context, queue: 'q', maxAttempts: () => 5 })
    expect(back).toMatchObject({ id: 'abc', attempt: 3, notBefore: envelope.notBefore, payload: envelope.payload })
  })

  it('celery-codec-4: Kombu Redis priority is inverted and stepped (0 runs first, lists per step)', () => {
    expect(toKombuPriority(9)).toBe(0)
    expect(fromKombuPriority(0)).toBe(9)
    expect(kombuListKeys('q')).toEqual(['q', 'q\x06\x163', 'q\x06\x166', 'q\x06\x169'])
  })

  it('celery-codec-5: protocol v1, pickle, canvas and garbage are refused with a reason', () => {
    const base = { properties: { correlation_id: 'x' }, contentEncoding: 'utf-8' }
    const reason = (fn: () => unknown) => {
      try {
        fn()
      } catch (error) {
        return error instanceof CeleryDecodeError ? error.reason : 'other'
      }
      return 'none'
    }
    const v1 = { ...base, headers: {}, contentType: 'application/json', body: '{"task":"t","id":"1","args":[]}' }
    expect(reason(() => celeryToEnvelope(v1 as never, context))).toBe('unsupported-protocol')
    const pickle = { ...base, headers: { task: 't', id: '1' }, contentType: 'application/x-python-serialize', body: '' }
    expect(reason(() => celeryToEnvelope(pickle as never, context))).toBe('unsupported-content-type')
    const chain = { ...base, headers: { task: 't', id: '1' }, contentType: 'application/json' }
    const body = '[[], {}, {"chain": [{"task": "next"}]}]'
    expect(reason(() => celeryToEnvelope({ ...chain, body } as never, context))).toBe('unsupported-canvas')
    expect(reason(() => decodeKombu('garbage'))).toBe('malformed')
    expect(reason(() => decodeKombu('{"body": 1}'))).toBe('malformed')
  })

  it('celery-options-1: options that cannot work are refused with a stable code naming them', () => {
    expect(() => createCeleryRedisBroker({ leaseMs: -1 })).toThrow(/leaseMs/)
    expect(() => createCeleryRedisBroker({ maxAttempts: 0 })).toThrow(InvalidOptionsError)
    expect(() => createCeleryAmqpBroker({ maxPriority: 0 })).toThrow(/maxPriority/)
  })

  it('celery-codec-6: an input that is not { args, kwargs } is refused before publishing', () => {
    const envelope = {
      id: 'a',
      task: 't',
      payload: { x: 1 },
      queue: 'q',
      priority: 0,
      attempt: 1,
      maxAttempts: 1,
      createdAt: 0,
    }
    expect(() => envelopeToCelery(envelope, 0)).toThrow(CeleryPayloadError)
  })
})
