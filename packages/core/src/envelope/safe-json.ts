import secureJson from 'secure-json-parse'
import { MalformedMessageError } from '../errors/malformed-message-error'
import { jsonTextTooDeep, MAX_JSON_DEPTH } from './json-depth'

// fastify's parser: every spelling of the keys counts, escaped ones (`"\u005f_proto__"`) included.
const PROTOTYPE_SAFE = { protoAction: 'remove', constructorAction: 'remove' } as const

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
    return secureJson.parse(text, null, PROTOTYPE_SAFE)
  } catch (error) {
    throw new MalformedMessageError(`not JSON: ${(error as Error).message}`, { cause: error })
  }
}
