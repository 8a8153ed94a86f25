import { inspect } from 'node:util'
import type { Delivery } from '@conveyor/core/adapter'
import { envelope, uniquePrefix } from '@conveyor/test-support'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisBroker } from '../src/index'
import { until } from './helpers'
import { type LocalSentinel, startLocalSentinel } from './sentinel'

// Master and replica with requirepass, three Sentinels monitoring them with auth-pass.
const PASSWORD = 'sentinel-s3cret'
let setup: LocalSentinel
let hosts: string

beforeAll(async () => {
  setup = await startLocalSentinel({ password: PASSWORD })
  hosts = setup.sentinels.map((s) => `${s.host}:${s.port}`).join(',')
}, 60_000)
afterAll(async () => {
  await setup?.stop()
})

describe('redis sentinel with a password', () => {
  it("the URL's password reaches the master the Sentinels name", async () => {
    const prefix = uniquePrefix('sentinel-auth')
    const broker = createRedisBroker({ url: `redis+sentinel://:${PASSWORD}@${hosts}/${setup.masterName}`, prefix })
    const got: Delivery[] = []
    await broker.consume('q', (d) => got.push(d), { prefetch: 5 })
    await broker.publish(envelope('q'))
    await until(() => got.length === 1, 5000)
    await got[0]!.ack()
    await broker.close()
  })

  it('a wrong password fails to connect and neither password shows in the error or the logs', async () => {
    const lines: string[] = []
    const log = (obj: object, msg?: string) => lines.push(`${inspect(obj, { depth: 5 })} ${msg ?? ''}`)
    const broker = createRedisBroker({
      url: `redis+sentinel://:wrong-s3cret@${hosts}/${setup.masterName}`,
      logger: { error: log, warn: log, info: log },
    })
    const error = await broker.connect().then(
      () => undefined,
      (e: unknown) => e,
    )
    await broker.destroy()
    expect(error).toMatchObject({ code: 'CONVEYOR_NOT_CONNECTED' })
    const shown = `${inspect(error, { depth: 5 })}\n${lines.join('\n')}`
    expect(shown).toMatch(/authentication failed/)
    expect(shown).not.toContain('wrong-s3cret')
    expect(shown).not.toContain(PASSWORD)
  })
})
