import { useEffect, useState } from 'preact/hooks'

/** The current hash route: `#/tasks/abc?state=failed` → path ['tasks', 'abc'], query state=failed. */
export interface Route {
  readonly path: readonly string[]
  readonly query: URLSearchParams
}

function current(): Route {
  const hash = location.hash.replace(/^#\/?/, '')
  const [path = '', query = ''] = hash.split('?', 2)
  return {
    path: path
      .split('/')
      .filter((p) => p !== '')
      .map((p) => {
        try {
          return decodeURIComponent(p)
        } catch {
          return p
        }
      }),
    query: new URLSearchParams(query),
  }
}

export function useRoute(): Route {
  const [route, setRoute] = useState(current)
  useEffect(() => {
    const onChange = () => setRoute(current())
    window.addEventListener('hashchange', onChange)
    return () => window.removeEventListener('hashchange', onChange)
  }, [])
  return route
}

/** A hash link target from path segments (encoded) and query values (empty ones dropped). */
export function href(path: readonly string[], query: Record<string, string | undefined> = {}): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, v)
  const qs = q.toString()
  return `#/${path.map(encodeURIComponent).join('/')}${qs ? `?${qs}` : ''}`
}

export function navigate(to: string): void {
  location.hash = to
}
