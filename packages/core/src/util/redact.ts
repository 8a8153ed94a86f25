import { inspect } from 'node:util'

/** What replaces a password in anything Conveyor shows. */
export const REDACTED = '***'

// scheme://user:password@host, scheme://password@host (Redis), also when the rest does not parse as a URL: up to the
// last @ before a space or a quote, so a password holding / or @ without percent-encoding (base64 ones hold /) is
// hidden whole. A URL with an @ later on (in its path or query) loses more than its password: the safe side.
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)([^\s"'`]*)@/gi
// user:password@host where the scheme is mistyped (`redis//:pw@host`): whatever sits between a colon and an @.
const LOOSE_USERINFO = /:[^:@/\s"'`]*@/g
// ?password=…, &token=… and friends in query strings.
const SECRET_PARAM = /([?&](?:password|pass|pwd|secret|token|auth|access_token|api_key|apikey|key)=)[^&#\s"'`]*/gi

/**
 * A URL with its credentials hidden, for errors and logs: the password (or a lone user-info part, which Redis reads
 * as a password) becomes `***`, and so do secret-looking query parameters. Works on text that is not a valid URL too.
 */
export function redactUrl(url: string): string {
  return redactSecrets(url)
}

/** Every URL credential inside free text (an error message, a log line) hidden as in `redactUrl`. */
export function redactSecrets(text: string): string {
  return text
    .replace(USERINFO, (_match, scheme: string, info: string) => {
      const colon = info.indexOf(':')
      const user = colon >= 0 ? info.slice(0, colon) : ''
      return `${scheme}${user}:${REDACTED}@`
    })
    .replace(LOOSE_USERINFO, `:${REDACTED}@`)
    .replace(SECRET_PARAM, `$1${REDACTED}`)
}

/** ioredis attaches the failed command to a reply error: for AUTH and HELLO … AUTH its arguments hold the password. */
function sentCredentials(error: unknown): boolean {
  const name = (error as { command?: { name?: unknown } } | null)?.command?.name
  return typeof name === 'string' && /^(auth|hello)$/i.test(name)
}

/**
 * `error` itself when nothing in it (message, stack, own fields such as Node's `input` on an invalid URL) holds a
 * URL credential or a password sent with AUTH; otherwise a plain copy with the credentials hidden, to keep as a
 * `cause` or log as `err`.
 */
export function redactError(error: unknown): unknown {
  const text = inspect(error, { depth: 4 })
  if (redactSecrets(text) === text && !sentCredentials(error)) return error
  const source = error as { name?: unknown; message?: unknown; code?: unknown; stack?: unknown } | null
  const copy = new Error(redactSecrets(String(source?.message ?? error))) as Error & { code?: unknown }
  if (typeof source?.name === 'string') copy.name = source.name
  if (typeof source?.code === 'string') copy.code = source.code
  copy.stack = typeof source?.stack === 'string' ? redactSecrets(source.stack) : copy.stack
  return copy
}
