import { collectMetrics, TaskFailedError } from '@conveyor/core'
import { redactUrl } from '@conveyor/core/adapter'
import { createDemoApp } from './app'
import { buildReport, createThumbnail, sendEmail } from './tasks'

const t0 = Date.now()
const say = (line: string) => console.log(`${String(Date.now() - t0).padStart(5)} ms  ${line}`)

const { app, brokerUrl, world } = await createDemoApp()
say(`broker: ${redactUrl(brokerUrl)}  (set CONVEYOR_BROKER_URL=redis://127.0.0.1:6379 or amqp://127.0.0.1 to switch)`)

app.events.on('task.started', (e) => say(`▶ ${e.task} ${e.id.slice(0, 8)} attempt ${e.attempt}`))
app.events.on('task.succeeded', (e) => say(`✔ ${e.task} ${e.id.slice(0, 8)} in ${e.durationMs} ms`))
app.events.on('task.retried', (e) =>
  say(`↻ ${e.task} ${e.id.slice(0, 8)} failed (${e.error.message}); retry in ${e.delayMs} ms`),
)
app.events.on('task.dead-lettered', (e) => say(`✖ ${e.task} ${e.id.slice(0, 8)} dead-lettered: ${e.reason}`))

const worker = app.worker({ queues: ['images', 'emails', 'reports'], concurrency: 8 })
// What `conveyor worker --metrics-port` serves to Prometheus; printed at the end here.
const metrics = collectMetrics(app, { queues: worker.queues, workers: [worker] })
await worker.start()

// 1. Thumbnails: plain fan-out, higher priority for the visible one.
const thumbs = await Promise.all(
  [64, 128, 256].map((width, i) =>
    app.enqueue(createThumbnail, { image: 'cat.png', width }, { priority: i === 0 ? 9 : 3 }),
  ),
)
for (const job of thumbs) say(`  thumbnail → ${(await job.result({ timeoutMs: 10_000 })).path}`)

// 2. An email through a flaky SMTP server: retried with exponential backoff until it goes through.
const email = await app.enqueue(sendEmail, { to: 'ada@example.com', subject: 'Your thumbnails are ready' })
say(`  email → ${(await email.result({ timeoutMs: 15_000 })).messageId}`)

// 3. A report that cannot be built: it ends in the dead-letter queue with the reason and the error.
const report = await app.enqueue(buildReport, { month: '2026-11' })
try {
  await report.result({ timeoutMs: 10_000 })
} catch (error) {
  if (!(error instanceof TaskFailedError)) throw error
  say(`  report → ${error.record.state}: ${error.record.error?.message}`)
}
const [letter] = await app.broker.deadLetters.list('reports')
say(`  dead letter: ${letter?.envelope?.task} reason=${letter?.reason} attempts=${letter?.attempts}`)

// 4. The data arrives; replay the dead letter. It runs again from attempt 1 and succeeds.
// Its stored state says dead-lettered until the worker picks it up again, so wait for the new run's success.
world.months.add('2026-11')
const rerun = new Promise<void>((resolve) => {
  const off = app.events.on('task.succeeded', (e) => {
    if (e.id === report.id) {
      off()
      resolve()
    }
  })
})
say(`  replayed ${await app.broker.deadLetters.replay('reports')} dead letter(s)`)
await rerun
say(`  report → ${(await app.job<{ rows: number }>(report.id).result({ timeoutMs: 10_000 })).rows} rows`)

const stats = await Promise.all(['images', 'emails', 'reports'].map((q) => app.broker.stats(q)))
say(`queues: ${JSON.stringify(stats)}`)
const finished = (await metrics.render()).split('\n').filter((l) => l.startsWith('conveyor_tasks_finished_total'))
say(`metrics, runs by outcome (collectMetrics):\n${finished.map((l) => `           ${l}`).join('\n')}`)
metrics.close()
await app.close({ timeoutMs: 5000 })
say('done')
