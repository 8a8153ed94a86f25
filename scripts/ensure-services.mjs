#!/usr/bin/env node
// Makes sure the servers the tests talk to are up: starts an installed but stopped redis-server / rabbitmq-server,
// and fails with one line saying how to get one that is missing. Tests never skip a broker silently.
import { execFileSync, spawnSync } from 'node:child_process'
import { connect } from 'node:net'

const services = [
  {
    name: 'Redis',
    port: 6379,
    binary: 'redis-server',
    start: [
      'redis-server',
      [
        '--daemonize',
        'yes',
        '--bind',
        '127.0.0.1',
        '-::1',
        '--port',
        '6379',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        '/var/lib/redis',
        '--logfile',
        '/var/log/redis/ci.log',
      ],
    ],
    install: 'apt-get install -y redis-server (or: docker compose up -d redis)',
    waitMs: 15_000,
  },
  {
    // Backs the example third-party plugin (examples/custom-broker-plugin) and its conformance run.
    name: 'PostgreSQL',
    port: 5432,
    binary: 'pg_ctlcluster',
    start: ['sh', ['-c', 'pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | tail -n 1)" main start']],
    install: 'apt-get install -y postgresql (or: docker compose up -d postgres)',
    waitMs: 30_000,
  },
  {
    name: 'RabbitMQ',
    port: 5672,
    binary: 'rabbitmq-server',
    start: ['rabbitmq-server', ['-detached']],
    install: 'apt-get install -y rabbitmq-server (or: docker compose up -d rabbitmq)',
    waitMs: 90_000,
  },
]

const reachable = (port) =>
  new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.setTimeout(1000)
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
    socket.once('timeout', () => {
      socket.destroy()
      resolve(false)
    })
  })

const installed = (binary) => spawnSync('sh', ['-c', `command -v ${binary}`]).status === 0

let failed = false
for (const service of services) {
  if (await reachable(service.port)) continue
  if (!installed(service.binary)) {
    console.error(
      `[conveyor] ${service.name} is not running on 127.0.0.1:${service.port} and not installed: ${service.install}`,
    )
    failed = true
    continue
  }
  console.log(`[conveyor] starting ${service.name} …`)
  try {
    execFileSync(service.start[0], service.start[1], { stdio: 'inherit' })
  } catch (error) {
    console.error(`[conveyor] could not start ${service.name}: ${error.message}`)
  }
  const deadline = Date.now() + service.waitMs
  while (!(await reachable(service.port)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500))
  if (!(await reachable(service.port))) {
    console.error(
      `[conveyor] ${service.name} did not come up on 127.0.0.1:${service.port}; start it by hand: ${service.start.flat().join(' ')}`,
    )
    failed = true
  }
}
process.exit(failed ? 1 : 0)
