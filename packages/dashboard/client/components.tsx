import type { ComponentChildren } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import uPlot from 'uplot'
import { ApiError } from './api'

export function Badge({ state }: { state: string }) {
  return <span class={`badge s-${state.replace(/[^a-z-]/g, '')}`}>{state}</span>
}

export function PageHeader({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="page-header">
      <h1>{title}</h1>
      <div class="actions">{children}</div>
    </div>
  )
}

export function ErrorBox({ error }: { error: Error | undefined }) {
  if (!error) return null
  return (
    <div class="error-box" role="alert">
      {error instanceof ApiError ? <code>{error.code}</code> : null} {error.message}
    </div>
  )
}

export function Loading() {
  return <div class="muted pad">Loading…</div>
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>
}

export function Stat({ label, value, tone }: { label: string; value: ComponentChildren; tone?: string }) {
  return (
    <div class={`stat ${tone ?? ''}`}>
      <div class="stat-value">{value}</div>
      <div class="stat-label">{label}</div>
    </div>
  )
}

/** A modal asking to confirm a destructive action. The action runs only on the confirm button. */
export function Confirm(props: {
  title: string
  children: ComponentChildren
  confirmLabel: string
  onConfirm: () => Promise<void> | void
  onCancel: () => void
}) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<Error | undefined>()
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && props.onCancel()
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [])
  return (
    <div class="modal-backdrop">
      <div class="modal" role="dialog" aria-modal="true" aria-label={props.title}>
        <h2>{props.title}</h2>
        <div class="modal-body">{props.children}</div>
        <ErrorBox error={error} />
        <div class="modal-actions">
          <button type="button" class="btn" onClick={props.onCancel} disabled={busy}>
            Cancel
          </button>
          <button
            type="button"
            class="btn danger"
            disabled={busy}
            onClick={async () => {
              setBusy(true)
              try {
                await props.onConfirm()
              } catch (e) {
                setError(e as Error)
                setBusy(false)
              }
            }}
          >
            {props.confirmLabel}
          </button>
        </div>
      </div>
    </div>
  )
}

const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d']

/** A time-series chart (uPlot). `series[i]` pairs with `data[i + 1]`; `data[0]` is epoch seconds. */
export function Chart(props: {
  title: string
  series: readonly { label: string; color?: string }[]
  data: readonly (readonly (number | null)[])[]
  format?: (v: number) => string
  /** Counts: ticks at whole numbers only. */
  integer?: boolean
  /** Shown instead of the chart when there is no series yet. */
  empty?: string
}) {
  const holder = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | undefined>(undefined)
  const key = props.series.map((s) => s.label).join('\u0000')
  useEffect(() => {
    const el = holder.current!
    const fmt = props.format ?? ((v: number) => String(v))
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: 180,
      cursor: { drag: { x: false, y: false } },
      legend: { show: true, live: true },
      scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [
        { stroke: '#6b7280', grid: { stroke: '#eef0f3' }, ticks: { stroke: '#e5e7eb' } },
        {
          stroke: '#6b7280',
          grid: { stroke: '#eef0f3' },
          ticks: { stroke: '#e5e7eb' },
          size: 56,
          values: (_u, vals) => vals.map((v) => fmt(v)),
          ...(props.integer ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 100_000] } : {}),
        },
      ],
      series: [
        {},
        ...props.series.map((s, i) => ({
          label: s.label,
          stroke: s.color ?? PALETTE[i % PALETTE.length],
          width: 1.5,
          fill: `${s.color ?? PALETTE[i % PALETTE.length]}14`,
          points: { show: false },
          value: (_u: uPlot, v: number | null) => (v === null ? '—' : fmt(v)),
        })),
      ],
    }
    plot.current = new uPlot(opts, props.data as uPlot.AlignedData, el)
    const observer = new ResizeObserver(() =>
      plot.current?.setSize({ width: Math.max(200, el.clientWidth), height: 180 }),
    )
    observer.observe(el)
    return () => {
      observer.disconnect()
      plot.current?.destroy()
      plot.current = undefined
    }
  }, [key])
  useEffect(() => {
    plot.current?.setData(props.data as uPlot.AlignedData)
  }, [props.data])
  return (
    <div class="card chart">
      <div class="card-title">{props.title}</div>
      {props.series.length === 0 && props.empty ? <div class="chart-empty">{props.empty}</div> : null}
      <div ref={holder} class={props.series.length === 0 && props.empty ? 'hidden' : ''} />
    </div>
  )
}
