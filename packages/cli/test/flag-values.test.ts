import { type CliIo, runCli } from '@conveyor/cli'
import { describe, expect, it } from 'vitest'

// A module that does not exist: a command line that passes parsing fails loading it (exit 1) and touches no broker,
// so exit 2 here proves the flags were refused before anything else happened.
const NO_APP = './no/such/app.js'

async function run(argv: readonly string[]) {
  let err = ''
  const io: CliIo = {
    stdout: { write: () => true },
    stderr: { write: (t: string) => (err += t) },
    env: {},
    cwd: process.cwd(),
  }
  const code = await runCli(argv, io)
  return { code, err }
}

/** Exit 2 with one line on stderr matching `message`. */
async function refused(argv: readonly string[], message: RegExp) {
  const { code, err } = await run(argv)
  expect({ argv, code }).toEqual({ argv, code: 2 })
  expect(err.trim().split('\n')).toHaveLength(1)
  expect(err).toMatch(message)
}

describe('empty and non-decimal flag values (L1)', () => {
  it.each([
    ['worker', '--drain-timeout'],
    ['worker', '--health-port'],
    ['worker', '--metrics-port'],
    ['worker', '--concurrency'],
    ['enqueue', '--delay'],
    ['enqueue', '--priority'],
    ['dashboard', '--port'],
  ])('%s %s refuses "", " ", 0x10, 1e3 and -1, naming the flag and the value', async (command, flag) => {
    const base = command === 'enqueue' ? ['enqueue', 't', '{}', '--app', NO_APP] : [command, '--app', NO_APP]
    for (const value of ['', ' ', '0x10', '1e3', '1.0', '-1']) {
      const message = new RegExp(`${flag} must be an integer .*got "${value}"`)
      await refused([...base, `${flag}=${value}`], message)
      // As two arguments (how `-d "$UNSET"` arrives); parseArgs itself refuses a value starting with '-' there.
      if (!value.startsWith('-')) await refused([...base, flag, value], message)
    }
  })

  it.each([
    ['dashboard', '-p'],
    ['enqueue', '-d'],
    ['enqueue', '-p'],
    ['worker', '-c'],
  ])('%s %s "" (short flag) is refused too', async (command, flag) => {
    const base = command === 'enqueue' ? ['enqueue', 't', '{}', '--app', NO_APP] : [command, '--app', NO_APP]
    await refused([...base, flag, ''], /must be an integer .*got ""/)
  })

  it('refuses a port above 65535', async () => {
    await refused(
      ['worker', '--app', NO_APP, '--health-port', '65536'],
      /--health-port must be an integer from 0 to 65535/,
    )
    await refused(['dashboard', '--app', NO_APP, '-p', '70000'], /--port must be an integer from 0 to 65535/)
  })

  it('refuses a --stats-interval a timer cannot keep (above 2³¹−1 ms Node fires every millisecond) or a busy one', async () => {
    for (const value of ['3000000000', '3600001', '99']) {
      await refused(
        ['worker', '--app', NO_APP, '--stats-interval', value],
        new RegExp(`--stats-interval must be an integer from 100 to 3600000.*got "${value}"`),
      )
    }
  })

  it('still reads plain decimals, with blanks around them', async () => {
    // Parsing passes; loading the missing module fails.
    expect((await run(['worker', '--app', NO_APP, '--drain-timeout', ' 0 ', '--health-port', '0'])).code).toBe(1)
  })

  it.each([
    ['worker', '-Q'],
    ['dashboard', '-Q'],
    ['events', '--task'],
    ['events', '--queue'],
    ['events', '--type'],
    ['inspect', '-Q'],
  ])('%s %s with a value naming no item is refused (it meant "all")', async (command, flag) => {
    const base = command === 'inspect' ? ['inspect', 'queues', '--app', NO_APP] : [command, '--app', NO_APP]
    for (const value of ['', ',', ' , ']) {
      await refused([...base, flag, value], /names nothing/)
    }
    // One empty value among good ones is refused too: `-Q a -Q "$UNSET"`.
    await refused([...base, flag, 'a', flag, ''], /names nothing/)
  })

  it('alerts --webhook "" is refused', async () => {
    await refused(['alerts', '--app', NO_APP, '--webhook', ''], /--webhook "" names nothing/)
  })
})

describe('worker --inline with supervisor-only flags (L2)', () => {
  it.each([
    ['--pool', 'high=q2'],
    ['--processes', '2'],
    ['-P', '2'],
    ['--max-tasks-per-child', '5'],
    ['--max-memory-mb', '512'],
    ['--hard-timeout', '1000'],
    ['--hard-time-limit', '1000'],
    ['--terminate-grace', '1000'],
    ['--restart-backoff', '1000'],
    ['--health-port', '8080'],
    ['--stats-interval', '1000'],
  ])('refuses %s (it did nothing, or consumed every queue for --pool)', async (flag, value) => {
    const long = flag === '-P' ? '--processes' : flag
    await refused(
      ['worker', '--app', NO_APP, '--inline', flag, value],
      new RegExp(`worker: ${long} needs the supervisor; not with --inline`),
    )
  })

  it('takes the flags the inline worker uses', async () => {
    const argv = [
      '-Q',
      'a,b',
      '-c',
      '2',
      '--prefetch',
      '4',
      '--drain-timeout',
      '100',
      '--metrics-port',
      '0',
      '--events',
    ]
    // Parsing passes; loading the missing module fails.
    expect((await run(['worker', '--app', NO_APP, '--inline', ...argv])).code).toBe(1)
  })
})

describe('events --type names a known type (L3)', () => {
  it.each(['task.enqued', 'task.Failed', 'tasks.*', '*.failed', 'task.failed,task.enqued'])(
    'refuses %s, listing the valid types (it waited forever printing nothing)',
    async (type) => {
      await refused(
        ['events', '--app', NO_APP, '--type', type],
        /is not an event type.*task\.enqueued, .*worker\.offline/,
      )
    },
  )

  it('takes known types and prefixes of them', async () => {
    for (const type of ['task.enqueued', 'task.*', 'worker.*', 'task.failed,task.dead-lettered', 'task.dead*']) {
      // Parsing passes; loading the missing module fails.
      expect((await run(['events', '--app', NO_APP, '--type', type])).code).toBe(1)
    }
  })
})

describe('enqueue --priority range (L4)', () => {
  it.each(['10', '15', '100'])('refuses -p %s before contacting the broker', async (priority) => {
    await refused(['enqueue', 't', '{}', '--app', NO_APP, '-p', priority], /--priority must be an integer from 0 to 9/)
  })

  it('takes 0 to 9', async () => {
    for (const priority of ['0', '9']) {
      // Parsing passes; loading the missing module fails.
      expect((await run(['enqueue', 't', '{}', '--app', NO_APP, '-p', priority])).code).toBe(1)
    }
  })
})
