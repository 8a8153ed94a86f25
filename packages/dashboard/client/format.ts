/** Human durations: 850 ms, 12.3 s, 4 m 05 s, 3 h 02 m, 2 d 4 h. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—'
  if (ms < 1000) return `${Math.round(ms)} ms`
  const s = ms / 1000
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} m ${String(Math.floor(s % 60)).padStart(2, '0')} s`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, '0')} m`
  return `${Math.floor(h / 24)} d ${h % 24} h`
}

/** `12 s ago`, `in 3 m 00 s`. */
export function ago(at: number | null | undefined, now = Date.now()): string {
  if (at === null || at === undefined) return '—'
  const diff = now - at
  return diff >= 0 ? `${duration(diff)} ago` : `in ${duration(-diff)}`
}

export function time(at: number | null | undefined): string {
  if (at === null || at === undefined) return '—'
  const d = new Date(at)
  const today = new Date().toDateString() === d.toDateString()
  return today ? d.toLocaleTimeString() : d.toLocaleString()
}

export function count(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—'
  return n.toLocaleString('en-US')
}

export function rate(perSecond: number): string {
  if (perSecond === 0) return '0/s'
  if (perSecond < 0.1) return `${(perSecond * 60).toFixed(1)}/min`
  return `${perSecond < 10 ? perSecond.toFixed(1) : Math.round(perSecond)}/s`
}

export function bytes(n: number | undefined): string {
  if (n === undefined) return '—'
  return `${Math.round(n / 1048576)} MB`
}

/** JSON as indented text, for <pre> (always text, never HTML). */
export function pretty(value: unknown): string {
  if (value === undefined) return '—'
  try {
    return JSON.stringify(value, null, 2)
  } catch {
    return String(value)
  }
}

/** JSON text (as events carry values) pretty-printed when it parses, else as it is. Always text. */
export function prettyText(text: string | undefined, truncated?: boolean): string {
  if (text === undefined) return '—'
  if (truncated) return `${text}… (cut)`
  try {
    return JSON.stringify(JSON.parse(text), null, 2)
  } catch {
    return text
  }
}

/** An interval as people say it: 5 min, 2 h, 30 s, 1500 ms. */
export function interval(ms: number | undefined): string {
  if (ms === undefined) return '—'
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`
  if (ms % 60_000 === 0) return `${ms / 60_000} min`
  if (ms % 1000 === 0) return `${ms / 1000} s`
  return `${ms} ms`
}
