/**
 * Deepest nesting of arrays and objects Conveyor accepts in a task input. Deeper data cannot be trusted to survive
 * the trip: `JSON.stringify` overflows the stack at a few thousand levels, and it runs again wherever a message is
 * retried, dead-lettered or shown, so a message that decodes but cannot be encoded again would never leave its queue.
 */
export const MAX_INPUT_DEPTH = 200

/**
 * Deepest nesting accepted in any JSON Conveyor reads (envelopes, dead-letter records, results): the input's limit
 * plus room for the wrappers around it (the envelope, the stored form, a dead-letter record).
 */
export const MAX_JSON_DEPTH = MAX_INPUT_DEPTH + 8

const OPEN_BRACKET = 0x5b
const OPEN_BRACE = 0x7b
const CLOSE_BRACKET = 0x5d
const CLOSE_BRACE = 0x7d
const QUOTE = 0x22
const BACKSLASH = 0x5c

/**
 * Whether JSON text nests arrays/objects deeper than `max`, read from the text before it is parsed. Text shorter
 * than `max` characters cannot, so ordinary messages skip the scan entirely.
 */
export function jsonTextTooDeep(text: string, max: number): boolean {
  if (text.length <= max) return false
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === BACKSLASH) i++
      else if (c === QUOTE) inString = false
    } else if (c === QUOTE) {
      inString = true
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > max) return true
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
      depth--
    }
  }
  return false
}

/**
 * Whether a value nests arrays/objects deeper than `max` levels (the value itself is level 1). A value that refers
 * to itself counts as too deep. Stops descending at `max`, so it never overflows the stack itself.
 */
export function valueTooDeep(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false
  if (max <= 0) return true
  const children = Array.isArray(value) ? value : Object.values(value)
  for (const child of children) if (valueTooDeep(child, max - 1)) return true
  return false
}
