/**
 * Failover under load on a local 3-node RabbitMQ cluster (issue 17): `--jobs` jobs (20,000 by default) published to a
 * quorum queue while `--workers` worker connections consume and record every processed id; the queue's leader node is
 * SIGKILLed once 30% are acknowledged. Prints enqueued and acknowledged, processed, lost (acknowledged but never
 * processed), duplicates and seconds to resume. The cluster (private nodes on ports in 10000–11999, from Debian's
 * rabbitmq-server) is started here with the adapter's test harness and stopped at the end.
 *
 * `--delay-ms 1000` publishes every job with that countdown, so the kill catches jobs in the delay queue and on their
 * way back to the work queue (RabbitMQ's dead-lettering); `--legacy-delay-queue` declares the delay queue first as
 * Conveyor did before at-least-once dead-lettering, to measure what at-most-once loses. `--dlx-retry-ms` sets the
 * nodes' `dead_letter_worker_publisher_confirm_timeout` (5000 by default, as docs/clusters.md advises; 180000 is
 * RabbitMQ 3.10's own default). `--restart-after-s 10` starts the killed node again 10 s after the kill.
 *
 *   npm run bench:rabbitmq-cluster-failover -w bench -- [--jobs 20000] [--workers 2] [--delay-ms 1000] [--legacy-delay-queue] [--drain-s 120]
 *     [--dlx-retry-ms 5000] [--restart-after-s 10]
 */
import { availableParallelism, loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { dlxRetryConfig, startRabbitMQCluster } from '../../../adapters/rabbitmq/test/cluster'
import { formatFailoverReport, runFailoverLoad } from '../../../adapters/rabbitmq/test/failover-load'

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    workers: { type: 'string', default: '2' },
    'delay-ms': { type: 'string', default: '0' },
    'legacy-delay-queue': { type: 'boolean', default: false },
    'drain-s': { type: 'string', default: '120' },
    'dlx-retry-ms': { type: 'string', default: '5000' },
    'restart-after-s': { type: 'string' },
  },
})

console.error('[bench] starting a 3-node RabbitMQ cluster (20–60 s)…')
const cluster = await startRabbitMQCluster({
  size: 3,
  config: ['net_ticktime = 10'],
  advancedConfig: dlxRetryConfig(Number(values['dlx-retry-ms'])),
})
try {
  const report = await runFailoverLoad({
    cluster,
    jobs: Number(values.jobs),
    workers: Number(values.workers),
    delayMs: Number(values['delay-ms']),
    legacyDelayQueue: values['legacy-delay-queue'],
    drainTimeoutMs: Number(values['drain-s']) * 1000,
    ...(values['restart-after-s'] === undefined ? {} : { restartAfterMs: Number(values['restart-after-s']) * 1000 }),
    log: (line) => console.error(`[bench] ${line}`),
  })
  console.log(
    `\nRabbitMQ 3-node cluster (local), quorum queue, leader killed -9 at 30%; ` +
      `${availableParallelism()} cores, load average ${loadavg()[0]!.toFixed(1)} at the end\n`,
  )
  console.log(formatFailoverReport(report))
  if (report.lost > 0) process.exitCode = 1
} finally {
  await cluster.stop()
}
