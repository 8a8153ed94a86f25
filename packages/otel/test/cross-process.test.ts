import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Broker, createApp } from '@conveyor/core'
import { openTelemetryTracing } from '@conveyor/otel'
import { createRabbitMQBroker } from '@conveyor/rabbitmq'
import { createRedisBroker, createRedisResultBackend } from '@conveyor/redis'
import { until } from '@conveyor/test-support'
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { connect } from 'amqplib'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { readSpanLines, type SpanLine } from './file-exporter'
import { installSdk } from './sdk'

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)))
const BIN = join(ROOT, 'packages/cli/src/bin.ts')
const APP = join(ROOT, 'packages/otel/test/fixtures/traced-app.ts')
const REDIS_URL = process.env.CONVEYOR_REDIS_URL ?? 'redis://127.0.0.1:6379'
const AMQP_URL = process.env.CONVEYOR_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'

const { exporter, tracer } = installSdk()
const children = new Set<ChildProcess>()
afterAll(() => {
  for (const child of children) child.kill('SIGKILL')
})

/** `conveyor worker` on the fixture app, as a user runs it: its own supervisor and worker process. */
function startWorker(env: Record<string, string>): { child: ChildProcess; stdout: () => string } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=conveyor-source', BIN, 'worker', '--app', APP, '-Q', 'traced', '-c', '2'],
    { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  children.add(child)
  let out = ''
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString()
  })
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString()
  })
  return { child, stdout: () => out }
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  await exited
  clearTimeout(timer)
  children.delete(child)
}

async function cleanup(kind: 'redis' | 'rabbitmq', prefix: string, broker: Broker): Promise<void> {
  const redis = new Redis(REDIS_URL)
  try {
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(...keys)
  } finally {
    redis.disconnect()
  }
  if (kind !== 'rabbitmq') return
  const names = (broker as ReturnType<typeof createRabbitMQBroker>).queueNames('traced')
  const connection = await connect(AMQP_URL)
  try {
    const channel = await connection.createChannel()
    for (const name of [names.work, names.dead, ...names.delays.map((d) => d.name)]) await channel.deleteQueue(name)
  } finally {
    await connection.close()
  }
}

/** Polls every 50 ms (the spans come from another process); `what` describes the state on failure. */
const untilSeen = (check: () => boolean, ms: number, what: () => string) => until(check, ms, what, { everyMs: 50 })

describe.each(['redis', 'rabbitmq'] as const)(
  'one trace from a producer process into a conveyor worker (%s)',
  (kind) => {
    it('continues the producer’s trace in the worker: a span per attempt, the failed one an ERROR, logs correlated', async () => {
      exporter.reset()
      const prefix = `cvt-otel-${kind}-${randomUUID().slice(0, 8)}`
      const dir = mkdtempSync(join(tmpdir(), 'conveyor-otel-'))
      const spansFile = join(dir, 'worker-spans.jsonl')
      const broker =
        kind === 'rabbitmq'
          ? createRabbitMQBroker({ url: AMQP_URL, prefix, delayLevels: [50, 200, 1000], logger: false })
          : createRedisBroker({ url: REDIS_URL, prefix })
      const producer = createApp({
        broker,
        results: createRedisResultBackend({ url: REDIS_URL, prefix }),
        logger: false,
        events: false,
        tracing: openTelemetryTracing(),
      })
      const worker = startWorker({ TEST_SPANS: spansFile, TEST_PREFIX: prefix, TEST_BROKER: kind })
      try {
        const request = tracer.startSpan('POST /orders', { kind: SpanKind.SERVER })
        const handle = await context.with(trace.setSpan(context.active(), request), () =>
          producer.enqueue('traced.flaky', 21, { queue: 'traced' }),
        )
        request.end()
        expect(await handle.result({ timeoutMs: 60_000 })).toBe(42)

        const runs = () => readSpanLines(spansFile).filter((s) => s.kind === SpanKind.CONSUMER)
        await untilSeen(
          () => runs().length >= 2,
          20_000,
          () => `worker spans: ${JSON.stringify(readSpanLines(spansFile))}`,
        )
        const send = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.PRODUCER)!
        const traceId = request.spanContext().traceId
        expect(send.name).toBe('send traced')
        expect(send.spanContext().traceId).toBe(traceId)
        expect(send.parentSpanContext?.spanId).toBe(request.spanContext().spanId)
        expect(send.attributes['messaging.system']).toBe(kind)

        const [first, second] = runs().sort(
          (a, b) => Number(a.attributes['conveyor.task.attempt']) - Number(b.attributes['conveyor.task.attempt']),
        ) as [SpanLine, SpanLine]
        for (const run of [first, second]) {
          expect(run.pid).not.toBe(process.pid)
          expect(run.name).toBe('process traced')
          expect(run.traceId).toBe(traceId)
          expect(run.parentSpanId).toBe(send.spanContext().spanId)
          expect(run.links).toEqual([send.spanContext().spanId])
          expect(run.attributes).toMatchObject({
            'messaging.system': kind,
            'messaging.operation.name': 'process',
            'messaging.operation.type': 'process',
            'messaging.destination.name': 'traced',
            'messaging.message.id': handle.id,
            'conveyor.task.name': 'traced.flaky',
            'conveyor.delivery.count': 1,
          })
        }
        expect(first.attributes).toMatchObject({
          'conveyor.task.attempt': 1,
          'conveyor.task.outcome': 'retried',
          'error.type': 'FLAKY',
        })
        expect(first.status).toEqual({ code: SpanStatusCode.ERROR, message: 'first attempt fails' })
        expect(first.events).toEqual(['conveyor.retry', 'exception'])
        expect(second.attributes).toMatchObject({ 'conveyor.task.attempt': 2, 'conveyor.task.outcome': 'succeeded' })
        expect(second.status.code).toBe(SpanStatusCode.UNSET)

        // The worker's log line from inside the task names the trace and the span it ran in.
        await untilSeen(
          () => worker.stdout().includes('traced task done'),
          10_000,
          () => worker.stdout(),
        )
        const line = worker
          .stdout()
          .split('\n')
          .find((l) => l.includes('traced task done'))!
        expect(JSON.parse(line)).toMatchObject({ trace_id: traceId, span_id: second.spanId, task: 'traced.flaky' })
        expect(JSON.parse(line).worker).toEqual(expect.any(String))
      } finally {
        await stopWorker(worker.child)
        await producer.close()
        await cleanup(kind, prefix, broker)
        rmSync(dir, { recursive: true, force: true })
      }
    }, 120_000)
  },
)
