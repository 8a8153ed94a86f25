/// <reference lib="dom" />
import { useEffect, useRef, useState } from 'preact/hooks'

const root = document.getElementById('app') as HTMLElement

/** What the server put in the page: base path, CSRF token, read-only mode. */
export const config = {
  base: root.dataset.base ?? '/',
  csrf: root.dataset.csrf ?? '',
  readOnly: root.dataset.readOnly === 'true',
  title: root.dataset.title ?? 'Conveyor',
}

/** An API error with the server's stable code; its message is shown as text. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

async function parse<T>(response: Response): Promise<T> {
  const body = (await response.json().catch(() => ({}))) as { error?: { code: string; message: string } }
  if (!response.ok) {
    throw new ApiError(response.status, body.error?.code ?? 'HTTP', body.error?.message ?? `HTTP ${response.status}`)
  }
  return body as T
}

export async function get<T>(path: string): Promise<T> {
  return parse<T>(await fetch(`${config.base}api/${path}`, { headers: { accept: 'application/json' } }))
}

/** An action: POST with a JSON body and the CSRF header the server checks. */
export async function post<T>(path: string, body: unknown = {}): Promise<T> {
  return parse<T>(
    await fetch(`${config.base}api/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-conveyor-csrf': config.csrf },
      body: JSON.stringify(body),
    }),
  )
}

export const enc = encodeURIComponent

type LiveListener = (change: { events: number; sample: boolean }) => void
const liveListeners = new Set<LiveListener>()
const statusListeners = new Set<(online: boolean) => void>()
let source: EventSource | undefined

/** One EventSource per page, shared by every component that wants live updates. */
function ensureLive(): void {
  if (source !== undefined) return
  source = new EventSource(`${config.base}api/live`)
  source.addEventListener('open', () => {
    for (const l of statusListeners) l(true)
  })
  source.addEventListener('error', () => {
    for (const l of statusListeners) l(false)
  })
  source.addEventListener('change', (event) => {
    const change = JSON.parse((event as MessageEvent<string>).data)
    for (const l of liveListeners) l(change)
  })
}

export function useLiveStatus(): boolean {
  const [online, setOnline] = useState(false)
  useEffect(() => {
    ensureLive()
    statusListeners.add(setOnline)
    return () => void statusListeners.delete(setOnline)
  }, [])
  return online
}

/** Minimum time between two refetches of one view, whatever the event rate. */
const REFRESH_MS = 1000

/**
 * Load `path` and reload it when the server says something changed: at most once per second and never two requests
 * at once, so a burst of events costs one request and one render per second.
 */
export function useData<T>(path: string | undefined): {
  data: T | undefined
  error: ApiError | Error | undefined
  reload: () => void
} {
  const [data, setData] = useState<T | undefined>(undefined)
  const [error, setError] = useState<ApiError | Error | undefined>(undefined)
  const state = useRef({
    inFlight: false,
    again: false,
    last: 0,
    timer: 0 as unknown as ReturnType<typeof setTimeout> | 0,
    path,
  })
  state.current.path = path

  const load = () => {
    const s = state.current
    if (s.path === undefined) return
    if (s.inFlight) {
      s.again = true
      return
    }
    const wait = s.last + REFRESH_MS - Date.now()
    if (wait > 0) {
      if (!s.timer) {
        s.timer = setTimeout(() => {
          s.timer = 0
          load()
        }, wait)
      }
      return
    }
    s.inFlight = true
    s.last = Date.now()
    const asked = s.path
    get<T>(asked)
      .then((value) => {
        if (state.current.path !== asked) return
        setData(value)
        setError(undefined)
      })
      .catch((e: Error) => state.current.path === asked && setError(e))
      .finally(() => {
        s.inFlight = false
        if (s.again) {
          s.again = false
          load()
        }
      })
  }

  useEffect(() => {
    setData(undefined)
    setError(undefined)
    state.current.last = 0
    load()
  }, [path])

  useEffect(() => {
    ensureLive()
    const listener: LiveListener = () => load()
    liveListeners.add(listener)
    return () => {
      liveListeners.delete(listener)
      if (state.current.timer) clearTimeout(state.current.timer)
    }
  }, [])

  return {
    data,
    error,
    reload: () => {
      state.current.last = 0
      load()
    },
  }
}
