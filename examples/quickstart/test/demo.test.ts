import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
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
  expect(stdout.trim().endsWith('done')).toBe(true)
}, 90_000)
