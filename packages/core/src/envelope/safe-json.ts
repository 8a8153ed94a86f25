import secureJson from 'secure-json-parse'
import { MalformedMessageError } from '../errors/malformed-message-error'
import { jsonTextTooDeep, MAX_JSON_DEPTH } from './json-depth'

// fastify's parser: every spelling of the keys counts, escaped ones (`"\u005f_proto__"`) included.
const PROTOTYPE_SAFE = { protoAction: 'remove', constructorAction: 'remove' } as const
/** A byte-order mark, which secure-json-parse strips and JSON.parse refuses. */
const BOM = 0xfeff

/**
 * `JSON.parse` for bytes Conveyor did not write itself. It never revives code; it drops keys that could pollute
 * prototypes when the result is later merged into other objects (`__proto__`, and `constructor` objects carrying a
 * `prototype`, however their names are escaped); and it refuses text nested deeper than `MAX_JSON_DEPTH`. Throws
 * `MalformedMessageError`.
 */
export function safeJsonParse(text: string): unknown {
  if (jsonTextTooDeep(text, MAX_JSON_DEPTH)) {
    throw new MalformedMessageError(`JSON nests arrays/objects deeper than ${MAX_JSON_DEPTH} levels`)
  }
  try {
    // Every spelling of those keys is either the plain one or has a backslash in it: text with neither (nearly all
    // of it, and every envelope Conveyor writes) parses as is. Three substring searches instead of secure-json-parse's
    // two regular expressions over the whole text: about a third of what decoding a delivery cost.
    if (
      text.indexOf('\\') === -1 &&
      text.indexOf('"__proto__"') === -1 &&
      text.indexOf('"constructor"') === -1 &&
      text.charCodeAt(0) !== BOM
    ) {
      return JSON.parse(text)
    }
    return secureJson.parse(text, null, PROTOTYPE_SAFE)
  } catch (error) {
    throw new MalformedMessageError(`not JSON: ${(error as Error).message}`, { cause: error })
  }
}
