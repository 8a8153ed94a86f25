import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const DIR = fileURLToPath(new URL('../../../../docs/prometheus/', import.meta.url))
const PROMTOOL = process.env.PROMTOOL ?? '/usr/bin/promtool'

describe('the Prometheus alert rules Conveyor ships (docs/prometheus)', () => {
  it('pass promtool check rules, and fire on the series they are for (promtool test rules)', async () => {
    if (!existsSync(PROMTOOL)) {
      throw new Error(`promtool not found at ${PROMTOOL}: apt-get install prometheus (or set PROMTOOL)`)
    }
    const check = await run(PROMTOOL, ['check', 'rules', 'conveyor-alerts.rules.yml'], { cwd: DIR })
    expect(check.stdout).toMatch(/SUCCESS: \d+ rules found/)
    const test = await run(PROMTOOL, ['test', 'rules', 'conveyor-alerts.test.yml'], { cwd: DIR })
    expect(test.stdout).toContain('SUCCESS')
  })
})
