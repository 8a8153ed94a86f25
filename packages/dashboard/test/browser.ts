import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core'

/** Debian's Chromium (`.ci/run` installs it); never a downloaded browser. */
export const CHROMIUM = process.env.CONVEYOR_CHROMIUM ?? '/usr/bin/chromium'

/** Where the browser tests save screenshots (gitignored; the best are copied to docs/images by hand). */
export const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url))

export interface TestBrowser {
  readonly context: BrowserContext
  close(): Promise<void>
}

/** Headless Chromium with a fresh profile, no network chatter of its own. */
export async function launchBrowser(): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'conveyor-chromium-'))
  // A persistent context is how Playwright takes a profile directory: a fresh one per run.
  const context = await chromium
    .launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1360, height: 860 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
    .catch((error: unknown) => {
      throw new Error(`cannot start ${CHROMIUM} (apt-get install chromium): ${(error as Error).message}`, {
        cause: error,
      })
    })
  return {
    context,
    async close() {
      await context.close().catch(() => undefined)
      rmSync(profile, { recursive: true, force: true })
    },
  }
}

/** Save a full-page screenshot as `<name>.png`. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true })
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true })
}

/** Fail the test on anything the page logs as an error or throws, and on any dialog (an XSS `alert`). */
export function watchPage(page: Page): { problems: string[] } {
  const problems: string[] = []
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 40[13]/.test(message.text()))
      problems.push(`console: ${message.text()}`)
  })
  page.on('dialog', (dialog) => {
    problems.push(`dialog opened: ${dialog.message()}`)
    void dialog.dismiss()
  })
  return { problems }
}

/** Wait until `locator`'s text is `expected` (or contains it), failing with the last text seen. */
export async function expectText(
  locator: Locator,
  expected: string,
  options: { contains?: boolean; timeoutMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000)
  let last: string | null = null
  for (;;) {
    last = await locator
      .first()
      .textContent({ timeout: 250 })
      .catch(() => null)
    const text = last?.trim() ?? null
    if (text !== null && (options.contains ? text.includes(expected) : text === expected)) return
    if (Date.now() > deadline) {
      throw new Error(
        `expected ${locator} to ${options.contains ? 'contain' : 'be'} ${JSON.stringify(expected)}, saw ${JSON.stringify(last)}`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Wait until `locator` matches `count` elements. */
export async function expectCount(locator: Locator, count: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const seen = await locator.count()
    if (seen === count) return
    if (Date.now() > deadline) throw new Error(`expected ${count} of ${locator}, saw ${seen}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
