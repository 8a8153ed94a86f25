import { MalformedMessageError } from '../errors/malformed-message-error'

// Only strings that can hold a dangerous key pay for the reviver; the common path is a plain JSON.parse.
const SUSPICIOUS = /"(?:__proto__|constructor|prototype)"\s*:/

function dropPrototypeKeys(key: string, value: unknown): unknown {
  if (key === '__proto__') return undefined
  if (key === 'constructor' && value !== null && typeof value === 'object' && 'prototype' in value) return undefined
  return value
}

/**
 * `JSON.parse` that never revives code and drops keys that could pollute prototypes when the result is later merged
 * into other objects (`__proto__`, and `constructor` objects carrying a `prototype`).
 */
export function safeJsonParse(text: string): unknown {
  try {
    return SUSPICIOUS.test(text) ? JSON.parse(text, dropPrototypeKeys) : JSON.parse(text)
  } catch (error) {
    throw new MalformedMessageError(`not JSON: ${(error as Error).message}`, { cause: error })
  }
}
