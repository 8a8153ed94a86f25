import { createMemoryCoordination } from '@conveyor/core/adapter'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanup, makeBroker, uniquePrefix } from '../../../adapters/rabbitmq/test/helpers'
import { buildClient } from '../client-build'
import { type ServedDashboard, serveDashboard } from '../src/index'
import { expectText, launchBrowser, screenshot, type TestBrowser, watchPage } from './browser'
import { enqueueEveryOutcome, type FixtureApp, fixtureApp, XSS } from './fixture-app'

const prefix = uniquePrefix('dash')
const queue = 'billing'
const coordination = createMemoryCoordination()
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

let browser: TestBrowser
let fixture: FixtureApp
let open: ServedDashboard
let guarded: ServedDashboard
let page: Page
let watched: { problems: string[] }

beforeAll(async () => {
  const [launched] = await Promise.all([launchBrowser(), buildClient()])
  browser = launched
  fixture = await fixtureApp({ broker: makeBroker(prefix), coordination, queue })
  const common = {
    app: fixture.app,
    coordination,
    port: 0,
    queues: [queue],
    sampleIntervalMs: 500,
    liveIntervalMs: 200,
  }
  open = await serveDashboard({ ...common, title: 'Conveyor (RabbitMQ)' })
  guarded = await serveDashboard({ ...common, auth: { basic: { username: 'ops', password: 'right' } } })
  page = await browser.context.newPage()
  watched = watchPage(page)
})

afterAll(async () => {
  await Promise.all([open?.close(), guarded?.close()])
  await fixture?.close()
  await browser?.close()
  await cleanup(prefix, [])
})

// Seconds on a quiet machine; the generous timeout is for a shared one under heavy load.
describe('dashboard on RabbitMQ, in Chromium', { timeout: 120_000 }, () => {
  it('shows dead letters live, keeps HTML text, and replays one that then succeeds', async () => {
    await page.goto(`${open.url}#/dead-letters/${queue}`)
    await page.locator('.live.on').waitFor()
    const ids = await enqueueEveryOutcome(fixture.app)
    const dead = page.locator(`tr[data-dead="${ids.dead}"]`)
    await dead.waitFor({ timeout: 15_000 })
    await expectText(page.locator(`tr[data-dead="${ids.xss}"] .error-cell`), XSS)
    expect(await page.locator('img').count()).toBe(0)
    fixture.fixed = true
    await dead.locator('text=Replay').click()
    await page.click('.modal button:has-text("Replay 1")')
    await expectText(page.locator('.notice'), `Replayed 1 dead letter(s) onto ${queue}.`)
    await page.goto(`${open.url}#/tasks/${ids.dead}`)
    await expectText(page.locator('.facts .badge').first(), 'succeeded', { timeoutMs: 15_000 })
    await page.goto(`${open.url}#/queues`)
    await expectText(page.locator(`tr[data-queue="${queue}"] td`).first(), queue)
    await screenshot(page, 'queues-rabbitmq')
    expect(watched.problems).toEqual([])
  })

  it('refuses a wrong password and lets the right one in', async () => {
    const intruder = await browser.context.newPage()
    await intruder.setExtraHTTPHeaders({ authorization: basic('ops', 'wrong') })
    // Headless Chromium cannot prompt for other credentials after the 401 challenge: it gives up on the page.
    await expect(intruder.goto(guarded.url)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/)
    expect(await intruder.locator('#app').count()).toBe(0)
    const api = await intruder.request.get(`${guarded.url}api/meta`, { headers: { authorization: basic('ops', 'x') } })
    expect(api.status()).toBe(401)
    await intruder.setExtraHTTPHeaders({ authorization: basic('ops', 'right') })
    const allowed = await intruder.goto(guarded.url)
    expect(allowed?.status()).toBe(200)
    await intruder.locator('.live.on').waitFor()
    await intruder.close()
  })
})
