import { createHash, timingSafeEqual } from 'node:crypto'
import type { DashboardAuth } from '../options'

/** What the host knows about the connection a request came on (the Node handler fills it from the socket). */
export interface ConnectionInfo {
  readonly remoteAddress?: string
}

/** Whether an address is on the loopback interface: 127.0.0.0/8, ::1, and IPv4-mapped 127.x. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false
  const bare = address.replace(/^\[|\]$/g, '').toLowerCase()
  if (bare === '::1' || bare === 'localhost') return true
  const v4 = bare.startsWith('::ffff:') ? bare.slice('::ffff:'.length) : bare
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4)
}

/** Compare secrets in constant time (hashing first makes the lengths equal). */
function same(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

function basicCredentials(header: string | null): { username: string; password: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? '')
  if (!match) return undefined
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon === -1) return undefined
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

/** Whether a dashboard without auth answers to this host name: loopback names and addresses, and those allowed. */
function answersTo(hostname: string, allowedHosts: readonly string[]): boolean {
  const name = hostname.toLowerCase()
  return isLoopback(name) || name.endsWith('.localhost') || allowedHosts.some((host) => host.toLowerCase() === name)
}

/** `undefined` when the request may go on, else the response refusing it. */
export async function checkAuth(
  auth: DashboardAuth | undefined,
  request: Request,
  connection: ConnectionInfo,
  allowedHosts: readonly string[] = [],
): Promise<Response | undefined> {
  if (auth === undefined) {
    if (!isLoopback(connection.remoteAddress)) {
      return refuse(
        403,
        'the dashboard has no auth configured, so it serves loopback clients only: configure basic auth, a bearer token or authorize()',
      )
    }
    if (answersTo(new URL(request.url).hostname, allowedHosts)) return undefined
    return refuse(
      403,
      'the dashboard has no auth configured, so it answers to localhost and loopback addresses only: browse it at one, add the host name to allowedHosts, or configure auth',
    )
  }
  if ('basic' in auth) {
    const given = basicCredentials(request.headers.get('authorization'))
    // Both compared every time, so a wrong user name takes as long as a wrong password.
    const userOk = same(given?.username ?? '', auth.basic.username)
    const passwordOk = same(given?.password ?? '', auth.basic.password)
    if (given !== undefined && userOk && passwordOk) return undefined
    return refuse(401, 'wrong or missing user name or password', {
      'www-authenticate': 'Basic realm="Conveyor", charset="UTF-8"',
    })
  }
  if ('bearer' in auth) {
    const match = /^Bearer\s+(.+)$/i.exec(request.headers.get('authorization') ?? '')
    if (match && same(match[1]!.trim(), auth.bearer)) return undefined
    return refuse(401, 'wrong or missing bearer token', { 'www-authenticate': 'Bearer realm="Conveyor"' })
  }
  let allowed = false
  try {
    allowed = (await auth.authorize(request)) === true
  } catch {
    allowed = false
  }
  return allowed ? undefined : refuse(403, 'not authorized')
}

function refuse(status: number, message: string, headers: Record<string, string> = {}): Response {
  return Response.json(
    {
      error: { code: status === 401 ? 'CONVEYOR_DASHBOARD_UNAUTHENTICATED' : 'CONVEYOR_DASHBOARD_FORBIDDEN', message },
    },
    { status, headers: { ...headers, 'cache-control': 'no-store' } },
  )
}
