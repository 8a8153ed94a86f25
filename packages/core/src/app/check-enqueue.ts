import type { JsonValue } from '../contracts/json'
import { MAX_INPUT_DEPTH, valueTooDeep } from '../envelope/json-depth'
import { InvalidOptionsError } from '../errors/invalid-options-error'
import { PayloadTooLargeError } from '../errors/payload-too-large-error'
import { SerializationError } from '../errors/serialization-error'
import type { EnqueueOptions } from './options'

/** Longest task run id accepted from `enqueue({ id })`. */
export const MAX_ID_LENGTH = 200

/**
 * Check the options of one enqueue, the same way whatever the broker: everything a worker would later call
 * malformed is refused here, with an `InvalidOptionsError` naming the option the caller passed.
 */
export function checkEnqueueOptions(where: string, options: EnqueueOptions): void {
  const bad = (option: string, want: string, got: unknown): never => {
    throw new InvalidOptionsError(`${where}: ${option} must be ${want}, got ${describe(got)}`)
  }
  const { id, parentId, rootId, expiresInMs, maxAttempts } = options
  if (id !== undefined && !(typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH)) {
    bad('id', `a non-empty string of at most ${MAX_ID_LENGTH} characters`, id)
  }
  if (parentId !== undefined && typeof parentId !== 'string') bad('parentId', 'a string', parentId)
  if (rootId !== undefined && typeof rootId !== 'string') bad('rootId', 'a string', rootId)
  if (
    expiresInMs !== undefined &&
    !(typeof expiresInMs === 'number' && Number.isFinite(expiresInMs) && expiresInMs > 0)
  ) {
    bad('expiresInMs', 'a number of milliseconds > 0', expiresInMs)
  }
  if (maxAttempts !== undefined && !(Number.isInteger(maxAttempts) && maxAttempts >= 1)) {
    bad('maxAttempts', 'an integer ≥ 1', maxAttempts)
  }
  checkStringMap(where, 'headers', options.headers)
  checkStringMap(where, 'trace', options.trace)
}

function checkStringMap(where: string, option: string, value: unknown): void {
  if (value === undefined) return
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionsError(`${where}: ${option} must be an object of strings, got ${describe(value)}`)
  }
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') {
      throw new InvalidOptionsError(
        `${where}: ${option}[${JSON.stringify(key)}] must be a string, got ${describe(entry)}; convert it with String()`,
      )
    }
  }
}

/**
 * Check that a task input is JSON that survives the trip through the broker: not a function, Symbol or BigInt, not
 * NaN or Infinity, not nested deeper than `MAX_INPUT_DEPTH`, not referring to itself, and not larger than
 * `maxPayloadBytes` when the app sets it. Throws `SerializationError` (or `PayloadTooLargeError`).
 */
export function checkInput(where: string, input: unknown, maxPayloadBytes: number | undefined): JsonValue {
  if (input === undefined) {
    throw new SerializationError(`${where}: input is undefined; pass JSON data (use null for "no input")`)
  }
  const kind = typeof input
  if (kind === 'function' || kind === 'symbol' || kind === 'bigint') {
    throw new SerializationError(`${where}: input is a ${kind}, which JSON cannot carry; pass plain data`)
  }
  if (kind === 'number' && !Number.isFinite(input)) {
    throw new SerializationError(`${where}: input is ${String(input)}, which JSON cannot carry; pass a finite number`)
  }
  if (valueTooDeep(input, MAX_INPUT_DEPTH)) {
    throw new SerializationError(
      `${where}: input nests deeper than ${MAX_INPUT_DEPTH} levels or refers to itself; pass plain, flatter data`,
    )
  }
  if (maxPayloadBytes !== undefined) {
    let text: string | undefined
    try {
      text = JSON.stringify(input)
    } catch (error) {
      throw new SerializationError(
        `${where}: input cannot be encoded as JSON (${(error as Error).message}); pass plain data`,
        { cause: error },
      )
    }
    const size = Buffer.byteLength(text ?? '', 'utf8')
    if (size > maxPayloadBytes) {
      throw new PayloadTooLargeError(
        `${where}: input is ${size} bytes, over the app's maxPayloadBytes of ${maxPayloadBytes}; store large data elsewhere and pass a reference`,
      )
    }
  }
  return input as JsonValue
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'symbol' || typeof value === 'bigint') return `a ${typeof value}`
  if (Array.isArray(value)) return 'an array'
  if (value !== null && typeof value === 'object') return 'an object'
  return String(value)
}
