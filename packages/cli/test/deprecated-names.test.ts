import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { alertsCommand, alertWebhooks } from '../src/commands/alerts'
import { parseWorkerFlags } from '../src/commands/worker'
import { loadAppModule } from '../src/load-app'

// Names renamed for one name per concept; each old name keeps working for one release.
describe('deprecated names', () => {
  it('--hard-time-limit still sets the hard timeout, as --hard-timeout does', () => {
    const old = parseWorkerFlags(['--app', 'app.js', '--hard-time-limit', '500'], {})
    const current = parseWorkerFlags(['--app', 'app.js', '--hard-timeout', '500'], {})
    expect(old?.options.hardTimeoutMs).toBe(500)
    expect(current?.options.hardTimeoutMs).toBe(500)
  })

  it("an app module's hardTimeLimits export is read as hardTimeouts", async () => {
    const mod = await loadAppModule(fileURLToPath(new URL('./fixtures/legacy-names-app.ts', import.meta.url)))
    expect(mod.hardTimeouts).toEqual({ 'work.slow': 250 })
    await mod.app.close()
  })

  it('CONVEYOR_ALERT_WEBHOOK is still read when CONVEYOR_ALERTS_WEBHOOK is not set', () => {
    expect(alertWebhooks(undefined, { CONVEYOR_ALERT_WEBHOOK: 'http://a/1,http://a/2' })).toEqual([
      'http://a/1',
      'http://a/2',
    ])
    expect(
      alertWebhooks(undefined, { CONVEYOR_ALERTS_WEBHOOK: 'http://b', CONVEYOR_ALERT_WEBHOOK: 'http://a' }),
    ).toEqual(['http://b'])
    expect(alertWebhooks(['http://c'], { CONVEYOR_ALERTS_WEBHOOK: 'http://b' })).toEqual(['http://c'])
  })

  it('conveyor alerts reads --lease as --lease-ttl (both checked as the lease TTL)', async () => {
    const io = { stdout: { write: () => true }, stderr: { write: () => true }, env: {}, cwd: process.cwd() }
    await expect(alertsCommand(['--app', 'app.js', '--lease', '5'], io)).rejects.toThrow(
      /--lease must be an integer ≥ 300/,
    )
    await expect(alertsCommand(['--app', 'app.js', '--lease-ttl', '5'], io)).rejects.toThrow(
      /--lease-ttl must be an integer ≥ 300/,
    )
  })
})
