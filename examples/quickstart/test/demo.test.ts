import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { catalogName, createRabbitMQBroker } from '@conveyor/rabbitmq'
import amqp from 'amqplib'
import { Redis } from 'ioredis'
import { expect, it } from 'vitest'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../..', import.meta.url))

// The README's quick start, exactly as a new user runs it: no server, the embedded memory broker.
it('npm run demo retries an email, dead-letters a report, replays it, and empties every queue', async () => {
  const env = { ...process.env }
  delete env.CONVEYOR_BROKER_URL
  const { stdout } = await run('npm', ['run', '--silent', 'demo'], { cwd: root, env, timeout: 60_000 })
  expect(stdout).toContain('broker: memory://')
  expect(stdout).toMatch(/thumbnail → \/thumbs\/64\/cat\.png/)
  expect(stdout.match(/↻ email\.send .* retry in \d+ ms/g)).toHaveLength(2)
  expect(stdout).toMatch(/email → <.*@example\.com>/)
  expect(stdout).toMatch(/dead letter: report\.build reason=unrecoverable attempts=1/)
  expect(stdout).toMatch(/replayed 1 dead letter/)
  expect(stdout).toMatch(/report → 744 rows/)
  const empty = JSON.stringify({ ready: 0, inFlight: 0, delayed: 0, dead: 0 })
  expect(stdout).toContain(`queues: [${[empty, empty, empty].join(',')}]`)
  // The metrics agree with the story: 2 retried and 1 delivered email, the report dead-lettered then rebuilt.
  expect(stdout).toContain('conveyor_tasks_finished_total{task="email.send",queue="emails",outcome="retried"} 2')
  expect(stdout).toContain('conveyor_tasks_finished_total{task="email.send",queue="emails",outcome="succeeded"} 1')
  expect(stdout).toContain(
    'conveyor_tasks_finished_total{task="report.build",queue="reports",outcome="dead-lettered"} 1',
  )
  expect(stdout).toContain(
    'conveyor_tasks_finished_total{task="thumbnail.create",queue="images",outcome="succeeded"} 3',
  )
  expect(stdout.trim().endsWith('done')).toBe(true)
}, 90_000)

// The README promises the same demo on a real broker by changing one variable. Each run gets its own namespace
// (the adapters read `?prefix=` from the URL) and removes it afterwards.
const DEMO_QUEUES = ['images', 'emails', 'reports']

async function runOn(url: string): Promise<string> {
  const { stdout } = await run('npm', ['run', '--silent', 'demo'], {
    cwd: root,
    env: { ...process.env, CONVEYOR_BROKER_URL: url },
    timeout: 90_000,
  })
  return stdout
}

function expectDemoStory(stdout: string) {
  expect(stdout.match(/↻ email\.send .* retry in \d+ ms/g)).toHaveLength(2)
  expect(stdout).toMatch(/dead letter: report\.build reason=unrecoverable attempts=1/)
  expect(stdout).toMatch(/report → 744 rows/)
  const empty = JSON.stringify({ ready: 0, inFlight: 0, delayed: 0, dead: 0 })
  expect(stdout).toContain(`queues: [${[empty, empty, empty].join(',')}]`)
}

it('runs the same demo on Redis with CONVEYOR_BROKER_URL=redis://…', async () => {
  const prefix = `cvdemo-${randomUUID().slice(0, 8)}`
  try {
    const stdout = await runOn(`redis://127.0.0.1:6379?prefix=${prefix}`)
    expect(stdout).toContain(`broker: redis://127.0.0.1:6379?prefix=${prefix}`)
    expectDemoStory(stdout)
  } finally {
    const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true })
    await redis.connect()
    for (const pattern of [`{${prefix}:*`, `${prefix}:*`]) {
      let cursor = '0'
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500)
        if (keys.length > 0) await redis.del(...keys)
        cursor = next
      } while (cursor !== '0')
    }
    redis.disconnect()
  }
}, 120_000)

it('runs the same demo on RabbitMQ with CONVEYOR_BROKER_URL=amqp://…', async () => {
  const prefix = `cvdemo-${randomUUID().slice(0, 8)}`
  const url = `amqp://guest:guest@127.0.0.1:5672?prefix=${prefix}`
  try {
    const stdout = await runOn(url)
    expectDemoStory(stdout)
  } finally {
    const broker = createRabbitMQBroker({ url, prefix })
    const names = DEMO_QUEUES.flatMap((queue) => {
      const n = broker.queueNames(queue)
      return [n.work, n.dead, ...n.delays.map((level) => level.name)]
    })
    const connection = await amqp.connect('amqp://guest:guest@127.0.0.1:5672')
    const channel = await connection.createChannel()
    for (const name of [...names, catalogName(prefix)]) await channel.deleteQueue(name)
    await connection.close()
    await broker.destroy()
  }
}, 120_000)
