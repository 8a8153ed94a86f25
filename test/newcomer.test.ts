// The newcomer's path, run as written: the packages packed and installed into a fresh project (a five-line app on
// memory), then every TypeScript and shell block of README.md, docs/getting-started.md and docs/operations.md, in
// order, on memory, Redis and RabbitMQ. A block that cannot run says why in a `<!-- doctest skip: … -->` comment.
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import amqp from 'amqplib'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DocBlock, docBlocks } from './support/markdown-blocks'
import { REPO, ScratchProject } from './support/scratch-project'

const DOCS = ['README.md', 'docs/getting-started.md', 'docs/operations.md']
const REDIS = 'redis://127.0.0.1:6379'
const AMQP = 'amqp://guest:guest@127.0.0.1:5672'
/** Every queue the docs use, so what the RabbitMQ runs declared can be deleted. */
const DOC_QUEUES = ['default', 'emails', 'reports', 'exports', 'critical']
const DELAY_LEVELS = ['100ms', '500ms', '2s', '10s', '1m', '5m', '30m', '3h']

interface BrokerRun {
  readonly name: 'memory' | 'redis' | 'rabbitmq'
  readonly env: Record<string, string>
}

const prefix = `cvdoc-${randomUUID().slice(0, 8)}`
const brokers: BrokerRun[] = [
  { name: 'memory', env: { CONVEYOR_BROKER_URL: 'memory://', CONVEYOR_REDIS_URL: `${REDIS}?prefix=${prefix}` } },
  {
    name: 'redis',
    env: { CONVEYOR_BROKER_URL: `${REDIS}?prefix=${prefix}`, CONVEYOR_REDIS_URL: `${REDIS}?prefix=${prefix}` },
  },
  {
    name: 'rabbitmq',
    env: { CONVEYOR_BROKER_URL: `${AMQP}?prefix=${prefix}`, CONVEYOR_REDIS_URL: `${REDIS}?prefix=${prefix}` },
  },
]

let project: ScratchProject

beforeAll(async () => {
  ScratchProject.assertBuilt()
  project = new ScratchProject()
  await project.installPackages()
}, 180_000)

afterAll(async () => {
  project?.dispose()
  await cleanBrokers()
})

describe('npm pack of each package installs into a fresh project', () => {
  it('runs a five-line app on memory from the installed tarballs (ESM and CommonJS)', async () => {
    const app = [
      "import { createApp } from '@conveyor/core'",
      "const app = createApp({ broker: 'memory://', logger: false })",
      "const add = app.task('add', async (n: { a: number; b: number }) => n.a + n.b)",
      'await app.worker().start()',
      "console.log('sum', await (await add.enqueue({ a: 2, b: 3 })).result({ timeoutMs: 5_000 })); await app.close()",
    ].join('\n')
    const file = project.write('five-lines.ts', app)
    await project.typecheck([file])
    expect(await project.runTs(file, project.env)).toContain('sum 5')
    const cjs = project.write(
      'five-lines.cjs',
      "const { createApp } = require('@conveyor/core'); const { redisAdapter } = require('@conveyor/redis');\n" +
        "const { rabbitmqAdapter } = require('@conveyor/rabbitmq'); const { runCli } = require('@conveyor/cli');\n" +
        'console.log(typeof createApp, redisAdapter.protocols.join(), rabbitmqAdapter.protocols.join(), typeof runCli)\n',
    )
    expect(await project.shell(`node ${cjs}`)).toMatch(/function redis,rediss\S* amqp,amqps function/)
  }, 180_000)
})

describe('the docs run as written', () => {
  for (const doc of DOCS) {
    it(`${doc}: every TypeScript and shell block`, async () => {
      await runDoc(docBlocks(join(REPO, doc), doc))
    }, 600_000)
  }
})

async function runDoc(blocks: DocBlock[]): Promise<void> {
  const programs: { block: DocBlock; file: string }[] = []
  /** Modules written but not yet type-checked: checked with the next program (one `tsc` run), or before a shell. */
  let unchecked: string[] = []
  const check = async (where: string, files: string[]) => {
    await project.typecheck([...unchecked, ...files]).catch((error: Error) => {
      throw new Error(`${where}: ${error.message}`)
    })
    unchecked = []
  }
  for (const block of blocks) {
    if (block.lang !== 'ts' && block.lang !== 'sh') continue
    const where = `${block.doc}:${block.line}`
    const { directive } = block
    if (directive.skip !== undefined) {
      console.log(`[doctest] ${where}: skipped — ${directive.skip}`)
    } else if (block.lang === 'ts' && directive.file) {
      unchecked.push(project.write(directive.file, [...directive.before, block.code, ...directive.after].join('\n')))
      if (directive.rerun) {
        await check(
          where,
          programs.map((p) => p.file),
        )
        for (const program of programs) await runProgram(program, brokers)
      }
    } else if (block.lang === 'ts') {
      const source = [...directive.before, block.code, ...directive.after].join('\n')
      const program = {
        block,
        file: project.write(`doctest-${block.doc.replace(/\W+/g, '-')}-${block.line}.ts`, source),
      }
      await check(where, [program.file])
      programs.push(program)
      await runProgram(program, brokersNamed(directive.brokers) ?? brokers)
    } else {
      if (unchecked.length > 0) await check(where, [])
      await runShell(block)
      project.linkTypeScript()
    }
  }
  if (unchecked.length > 0) await check('modules', [])
}

function brokersNamed(names: readonly string[] | undefined): BrokerRun[] | undefined {
  return names && brokers.filter((b) => names.includes(b.name))
}

/** One program on several brokers at once (separate servers and prefixes), unless it says `serial` (a fixed port). */
async function runProgram({ block, file }: { block: DocBlock; file: string }, on: BrokerRun[]): Promise<void> {
  const where = `${block.doc}:${block.line}`
  const runOn = async (broker: BrokerRun) => {
    const output = await project.runTs(file, { ...project.env, ...broker.env }).catch((error: Error) => {
      throw new Error(`${where} on ${broker.name}: ${error.message}`)
    })
    if (block.directive.expect) expect(output, `${where} on ${broker.name}`).toMatch(block.directive.expect)
    console.log(`[doctest] ${where}: ran on ${broker.name}`)
  }
  if (block.directive.serial) for (const broker of on) await runOn(broker)
  else await Promise.all(on.map(runOn))
}

/** A shell block runs once (on memory's environment) unless it names the brokers it is about. */
async function runShell(block: DocBlock): Promise<void> {
  const where = `${block.doc}:${block.line}`
  let code = block.code
  for (const given of block.directive.given) code = code.split(given).join('true')
  for (const broker of brokersNamed(block.directive.brokers) ?? brokers.slice(0, 1)) {
    const env = { ...project.env, ...broker.env }
    const output = await (block.directive.until
      ? project.runUntil(code, block.directive.until, env)
      : project.shell(code, { env, ...(block.directive.cwd === 'repo' ? { cwd: REPO } : {}) })
    ).catch((error: Error) => {
      throw new Error(`${where} on ${broker.name}: ${error.message}`)
    })
    if (block.directive.expect) expect(output, `${where} on ${broker.name}`).toMatch(block.directive.expect)
    console.log(`[doctest] ${where}: ran on ${broker.name}`)
  }
}

/** Delete what the Redis and RabbitMQ runs left under this run's prefix. */
async function cleanBrokers(): Promise<void> {
  const redis = new Redis(REDIS, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await redis.connect()
  for (const pattern of [`${prefix}:*`, `{${prefix}:*`]) {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) await redis.unlink(...keys)
    } while (cursor !== '0')
  }
  redis.disconnect()
  const connection = await amqp.connect(AMQP)
  const channel = await connection.createChannel()
  await channel.deleteQueue(`${prefix}/queues`) // the adapter's queue catalogue
  for (const queue of DOC_QUEUES) {
    const work = `${prefix}.${queue}`
    for (const name of [work, `${work}.dead`, ...DELAY_LEVELS.map((level) => `${work}.delay.${level}`)]) {
      await channel.deleteQueue(name)
    }
  }
  await connection.close()
}
