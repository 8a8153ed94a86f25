import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/** The header every action (POST) must carry, with the token the page was served with. */
export const CSRF_HEADER = 'x-conveyor-csrf'

/**
 * CSRF defence for actions: a token only the dashboard's own page can read (same-origin policy), sent in a custom
 * header (which a cross-site form cannot set, and a cross-site fetch cannot set without a CORS preflight the
 * dashboard never answers), plus a refusal of requests the browser marks cross-site.
 */
export class Csrf {
  readonly token: string

  constructor(secret: string | undefined) {
    const key = secret ?? randomBytes(32).toString('hex')
    this.token = createHmac('sha256', key).update('conveyor-dashboard-csrf').digest('base64url')
  }

  /** The reason an action request is refused, or undefined when it may go on. */
  check(request: Request): string | undefined {
    const site = request.headers.get('sec-fetch-site')
    if (site !== null && site !== 'same-origin' && site !== 'none') return `cross-site request refused (${site})`
    const given = request.headers.get(CSRF_HEADER) ?? ''
    const a = Buffer.from(given)
    const b = Buffer.from(this.token)
    if (a.length !== b.length || !timingSafeEqual(a, b)) return `missing or wrong ${CSRF_HEADER} header`
    if (!(request.headers.get('content-type') ?? '').toLowerCase().startsWith('application/json')) {
      return 'actions take a JSON body (content-type: application/json)'
    }
    return undefined
  }
}
