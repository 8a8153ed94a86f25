import { until } from '@conveyor/test-support'
import { afterAll, describe, expect, it } from 'vitest'
import { buildClient } from '../../dashboard/client-build'
import { conveyorInProcess, killLeftovers, REDIS_APP, sandbox, start } from './helpers'

afterAll(() => killLeftovers())

describe('conveyor dashboard', { timeout: 90_000 }, () => {
  it('refuses a non-loopback address without auth, and a malformed --basic-auth', async () => {
    const open = await conveyorInProcess(['dashboard', '--broker', 'memory://', '--host', '0.0.0.0', '--port', '0'])
    expect(open.code).toBe(1)
    expect(open.stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without auth/)
    const bad = await conveyorInProcess(['dashboard', '--broker', 'memory://', '--basic-auth', 'nopassword'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--basic-auth takes <user>:<password>/)
  })

  it('serves the app module’s dashboard with basic auth until SIGTERM', async () => {
    await buildClient()
    const box = sandbox('dashboard')
    const child = start(['dashboard', '--app', REDIS_APP, '--port', '0', '--host', '127.0.0.1'], {
      ...box.env,
      TEST_LOG_LEVEL: 'warn',
      CONVEYOR_DASHBOARD_BASIC_AUTH: 'ops:pa55',
    })
    await until(() => /listening on http/.test(child.stdout()), 60_000, `the dashboard to listen: ${child.stderr()}`)
    const url = /listening on (\S+)/.exec(child.stdout())![1]!
    expect((await fetch(`${url}api/meta`)).status).toBe(401)
    const authorization = `Basic ${Buffer.from('ops:pa55').toString('base64')}`
    const meta = await fetch(`${url}api/meta`, { headers: { authorization } })
    expect(await meta.json()).toMatchObject({ broker: 'redis', coordination: { scope: 'shared' }, schedules: true })
    const schedules = (await (await fetch(`${url}api/schedules`, { headers: { authorization } })).json()) as {
      schedules: { name: string }[]
    }
    expect(schedules.schedules.map((s) => s.name)).toEqual(['cli-beat', 'nightly'])
    child.signal('SIGTERM')
    expect(await child.exited).toBe(0)
  })
})
