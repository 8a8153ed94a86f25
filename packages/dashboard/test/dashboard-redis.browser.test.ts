import { randomUUID } from 'node:crypto'
import { createRedisBroker, createRedisCoordination, createRedisResultBackend } from '@conveyor/redis'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildClient } from '../client-build'
import { type ServedDashboard, serveDashboard } from '../src/index'
import { expectCount, expectText, launchBrowser, screenshot, type TestBrowser, watchPage } from './browser'
import { enqueueEveryOutcome, type FixtureApp, fixtureApp, XSS } from './fixture-app'

const REDIS_URL = process.env.CONVEYOR_REDIS_URL ?? 'redis://127.0.0.1:6379'
const prefix = `cvtest-dash-${randomUUID().slice(0, 8)}`
const queue = 'orders'

let browser: TestBrowser
let fixture: FixtureApp
let served: ServedDashboard
let page: Page
let watched: { problems: string[] }
let ids: Awaited<ReturnType<typeof enqueueEveryOutcome>>
const coordination = createRedisCoordination({ url: REDIS_URL, prefix })

beforeAll(async () => {
  const [launched] = await Promise.all([launchBrowser(), buildClient()])
  browser = launched
  fixture = await fixtureApp({
    broker: createRedisBroker({ url: REDIS_URL, prefix }),
    results: createRedisResultBackend({ url: REDIS_URL, prefix }),
    coordination,
    queue,
  })
  served = await serveDashboard({
    app: fixture.app,
    coordination,
    port: 0,
    sampleIntervalMs: 500,
    liveIntervalMs: 200,
    title: 'Conveyor (Redis)',
    schedules: [
      { name: 'nightly-report', cron: '30 2 * * *', timezone: 'Europe/Berlin', task: 'demo.ok', misfire: 'run-once' },
      { name: 'cache-warmup', everyMs: 300_000, task: 'demo.ok', input: { n: 0 } },
    ],
  })
  page = await browser.context.newPage()
  watched = watchPage(page)
})

afterAll(async () => {
  await served?.close()
  await fixture?.close()
  await browser?.close()
  await coordination.close()
})

// Seconds on a quiet machine; the generous timeout is for a shared one under heavy load.
describe('dashboard on Redis, in Chromium', { timeout: 120_000 }, () => {
  it('shows runs of every outcome live, on the overview, tasks and workers pages', async () => {
    await page.goto(served.url)
    await page.locator('.live.on').waitFor()
    ids = await enqueueEveryOutcome(fixture.app)
    // No reload: the queue's dead count and the tasks arrive through server-sent events.
    await expectText(page.locator(`tr[data-queue="${queue}"] .dead-link`), '2')
    await page.click('nav >> text=Tasks')
    for (const [id, state] of [
      [ids.ok, 'succeeded'],
      [ids.retried, 'succeeded'],
      [ids.failed, 'failed'],
      [ids.dead, 'dead-lettered'],
      [ids.xss, 'dead-lettered'],
    ] as const) {
      await expectText(page.locator(`tr[data-run="${id}"] .badge`), state)
    }
    await screenshot(page, 'tasks')
    await page.click('nav >> text=Workers')
    await page.locator(`tr[data-worker="${fixture.worker.id}"]`).waitFor()
    await screenshot(page, 'workers')
    // A backlog that drains over a second or two, so the charts have a shape in the screenshot.
    await fixture.app.enqueueMany(
      'demo.slow',
      Array.from({ length: 120 }, (_, n) => ({ n })),
    )
    await page.click('nav >> text=Overview')
    await new Promise((resolve) => setTimeout(resolve, 2500))
    await expectCount(page.locator('.chart'), 4)
    await screenshot(page, 'overview')
  })

  it('renders an HTML payload as text, everywhere it appears', async () => {
    await page.goto(`${served.url}#/dead-letters/${queue}`)
    const row = page.locator(`tr[data-dead="${ids.xss}"]`)
    await expectText(row.locator('.error-cell'), XSS)
    await row.locator('button.link').click()
    await expectText(page.locator('tr.detail pre.json'), XSS, { contains: true })
    await page.goto(`${served.url}#/tasks/${ids.xss}`)
    await expectText(page.locator('.error-title'), XSS, { contains: true })
    expect(await page.locator('img').count()).toBe(0)
    expect(watched.problems).toEqual([])
  })

  it('replays a dead letter from the page, and it runs again', async () => {
    fixture.fixed = true
    await page.goto(`${served.url}#/dead-letters/${queue}`)
    await screenshot(page, 'dead-letters')
    await page.locator(`tr[data-dead="${ids.dead}"] >> text=Replay`).click()
    await expectText(page.locator('.modal'), '1 dead letter(s)', { contains: true })
    await page.click('.modal button:has-text("Replay 1")')
    await expectText(page.locator('.notice'), `Replayed 1 dead letter(s) onto ${queue}.`)
    // The record said dead-lettered until the replayed run finished: wait for the new outcome, not the old one.
    const deadline = Date.now() + 20_000
    let record = await fixture.app.job(ids.dead).record()
    while (record?.state !== 'succeeded' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      record = await fixture.app.job(ids.dead).record()
    }
    expect(record).toMatchObject({ state: 'succeeded', result: 'fixed' })
    await page.goto(`${served.url}#/tasks/${ids.dead}`)
    await expectText(page.locator('.facts .badge').first(), 'succeeded')
    await screenshot(page, 'task')
  })

  it('asks before purging a queue, and purges only when confirmed', async () => {
    await fixture.app.enqueue('demo.ok', { n: 1 }, { delayMs: 600_000 })
    await fixture.app.enqueue('demo.ok', { n: 2 }, { delayMs: 600_000 })
    await page.goto(`${served.url}#/queues`)
    const purge = page.locator(`tr[data-queue="${queue}"] >> text=Purge`)
    await purge.click()
    await expectText(page.locator('.modal'), `Purge queue ${queue}?`, { contains: true })
    await screenshot(page, 'purge-confirm')
    await page.click('.modal button:has-text("Cancel")')
    await expectCount(page.locator('.modal'), 0)
    expect((await fixture.app.broker.stats(queue)).delayed).toBe(2)
    await purge.click()
    await page.click('.modal button:has-text("Purge queue")')
    await expectText(page.locator('.notice'), `Removed 2 message(s) from ${queue}.`)
    expect((await fixture.app.broker.stats(queue)).delayed).toBe(0)
    expect(watched.problems).toEqual([])
  })

  it('revokes a waiting run from its page, and lists the schedules', async () => {
    const waiting = await fixture.app.enqueue('demo.ok', { n: 5 }, { delayMs: 600_000 })
    await page.goto(`${served.url}#/tasks/${waiting.id}`)
    await page.click('.page-header button:has-text("Revoke")')
    await page.click('.modal button:has-text("Revoke")')
    await page.locator('.facts .badge:has-text("revoked")').waitFor()
    expect(await coordination.isRevoked(waiting.id)).toBe(true)
    await page.click('nav >> text=Schedules')
    await expectText(page.locator('tbody tr').first().locator('td').first(), 'nightly-report')
    await expectText(page.locator('tbody tr').nth(1).locator('td').nth(2), 'every 5 min')
    await screenshot(page, 'schedules')
    expect(watched.problems).toEqual([])
  })
})
