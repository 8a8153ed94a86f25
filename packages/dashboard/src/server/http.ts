import { ConveyorError } from '@conveyor/core'

/** A JSON response the pages can always read (`cache-control: no-store`: these are live numbers). */
export function json(data: unknown, status = 200): Response {
  return Response.json(data, { status, headers: { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' } })
}

/** An error body: `{ error: { code, message } }`. */
export function errorJson(status: number, code: string, message: string): Response {
  return json({ error: { code, message } }, status)
}

/** A request the API refuses, with a stable code. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

/** Turn anything a route threw into a JSON error; the message is text the page shows as text. */
export function errorResponse(error: unknown): Response {
  if (error instanceof HttpError) return errorJson(error.status, error.code, error.message)
  if (error instanceof ConveyorError) return errorJson(500, error.code, error.message)
  return errorJson(500, 'CONVEYOR_DASHBOARD_INTERNAL', (error as Error)?.message ?? String(error))
}

/** The JSON body of an action, as an object (an empty body is `{}`). */
export async function readBody(request: Request): Promise<Record<string, unknown>> {
  const text = await request.text()
  if (text.trim() === '') return {}
  if (text.length > 1_000_000) throw new HttpError(413, 'CONVEYOR_DASHBOARD_BAD_REQUEST', 'request body over 1 MB')
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new HttpError(400, 'CONVEYOR_DASHBOARD_BAD_REQUEST', 'the request body is not JSON')
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'CONVEYOR_DASHBOARD_BAD_REQUEST', 'the request body must be a JSON object')
  }
  return body as Record<string, unknown>
}

/** An integer query parameter within bounds, or the default. */
export function intParam(url: URL, name: string, fallback: number, max: number): number {
  const raw = url.searchParams.get(name)
  if (raw === null || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 0) {
    throw new HttpError(
      400,
      'CONVEYOR_DASHBOARD_BAD_REQUEST',
      `${name} must be an integer ≥ 0, got ${JSON.stringify(raw)}`,
    )
  }
  return Math.min(value, max)
}
