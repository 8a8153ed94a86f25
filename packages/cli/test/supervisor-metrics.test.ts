import { createServer } from 'node:net'
import { until } from '@conveyor/test-support'
import { describe, expect, it } from 'vitest'
import { REDIS_APP, redisSandboxes, start } from './helpers'

const sandboxes = redisSandboxes()

/** A port nobody listens on right now. */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })

/** Scrape `/metrics` and read one series' value (undefined when absent). */
async function scrape(port: number) {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4')
  const text = await res.text()
  const read = (series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `))
    return line === undefined ? undefined : Number(line.slice(series.length + 1))
  }
  /** The sum of every series whose name and labels start with `prefix`. */
  const total = (prefix: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith(prefix))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)
  return Object.assign(read, { total })
}

describe('conveyor worker --metrics-port (supervised, on Redis)', { timeout: 120_000 }, () => {
  it('serves the sum of its processes’ metrics, keeping the counts of processes that were replaced', async () => {
    const { env, app } = await sandboxes.setup('metrics')
    const port = await freePort()
    const worker = start(
      [
        'worker',
        '--app',
        REDIS_APP,
        '-P',
        '2',
        '-c',
        '2',
        '--max-tasks-per-child',
        '3',
        '--stats-interval',
        '200',
        '--metrics-port',
        String(port),
      ],
      env,
    )
    try {
      await until(() => worker.logs().filter((l) => String(l.msg).includes('worker ready')).length >= 2, 60_000)
      // 10 runs over 2 processes recycled every 3 tasks: several processes come and go, each with its own counts.
      const jobs = await Promise.all(Array.from({ length: 10 }, (_, n) => app.enqueue('work.echo', { n })))
      for (const job of jobs) await job.result({ timeoutMs: 45_000 })
      const succeeded = 'conveyor_tasks_finished_total{task="work.echo",queue="default",outcome="succeeded"}'
      // Exactly 10: nothing lost when a process left, nothing counted twice.
      await until(async () => (await scrape(port))(succeeded) === 10, 30_000, 'all 10 runs in /metrics')
      const read = await scrape(port)
      expect(read('conveyor_tasks_started_total{task="work.echo",queue="default"}')).toBe(10)
      expect(read('conveyor_task_duration_seconds_count{task="work.echo",queue="default",outcome="succeeded"}')).toBe(
        10,
      )
      expect(read('conveyor_worker_restarts_total{pool="default"}')).toBeGreaterThanOrEqual(2)
      // Read by the live processes at their next report (a process that just replaced another has none yet).
      const ready = 'conveyor_queue_messages{queue="default",state="ready"}'
      await until(async () => (await scrape(port))(ready) === 0, 30_000, 'queue depth in /metrics')
      // The supervisor's own view: its two slots, whatever state each is in.
      expect((await scrape(port)).total('conveyor_worker_processes{pool="default",')).toBe(2)
      worker.signal('SIGTERM')
      expect(await worker.exited).toBe(0)
    } finally {
      worker.signal('SIGKILL')
    }
  })

  it('--inline serves the one worker’s metrics from the CLI process', async () => {
    const { env, app } = await sandboxes.setup('metrics-inline')
    const port = await freePort()
    const worker = start(['worker', '--app', REDIS_APP, '--inline', '--metrics-port', String(port)], env)
    try {
      await worker.waitForLog((l) => String(l.msg).includes('Prometheus metrics at /metrics'), 60_000)
      const jobs = await Promise.all(Array.from({ length: 3 }, (_, n) => app.enqueue('work.echo', { n })))
      for (const job of jobs) await job.result({ timeoutMs: 45_000 })
      const succeeded = 'conveyor_tasks_finished_total{task="work.echo",queue="default",outcome="succeeded"}'
      await until(async () => (await scrape(port))(succeeded) === 3, 30_000, 'the 3 runs in /metrics')
      // Queue depth is read at the scrape itself here.
      expect((await scrape(port))('conveyor_queue_messages{queue="default",state="ready"}')).toBe(0)
      worker.signal('SIGTERM')
      expect(await worker.exited).toBe(0)
    } finally {
      worker.signal('SIGKILL')
    }
  })

  it('refuses the health port as metrics port', async () => {
    const { env } = await sandboxes.setup('metrics-ports')
    const worker = start(['worker', '--app', REDIS_APP, '--health-port', '9464', '--metrics-port', '9464'], env)
    expect(await worker.exited).toBe(2)
    expect(worker.stderr()).toContain('--health-port and --metrics-port must differ')
  })

  it('port 0 logs the ports actually bound, not 0', async () => {
    const { env } = await sandboxes.setup('metrics-port-0')
    const worker = start(['worker', '--app', REDIS_APP, '--health-port', '0', '--metrics-port', '0'], env)
    try {
      const health = await worker.waitForLog((l) => String(l.msg).includes('/healthz'), 60_000)
      const metrics = await worker.waitForLog((l) => String(l.msg).includes('Prometheus metrics'), 60_000)
      expect(health.port).not.toBe(0)
      expect(metrics.port).not.toBe(0)
      // The logged ports are the ones serving.
      expect((await fetch(`http://127.0.0.1:${health.port}/healthz`)).status).toBe(200)
      await scrape(metrics.port as number)
      worker.signal('SIGTERM')
      expect(await worker.exited).toBe(0)
    } finally {
      worker.signal('SIGKILL')
    }
  })
})
