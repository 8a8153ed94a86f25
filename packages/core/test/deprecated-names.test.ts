// Renamed options keep their old names for one release: each old name still does what it did.
import { describe, expect, it } from 'vitest'
import { createApp } from '../src/index'

describe('deprecated option names', () => {
  it('worker shutdownTimeoutMs still bounds the drain, as drainTimeoutMs does', async () => {
    for (const option of [{ drainTimeoutMs: 150 }, { shutdownTimeoutMs: 150 }]) {
      const app = createApp({ broker: 'memory://', logger: false })
      const hang = app.task('hang', () => new Promise<never>(() => {}))
      const worker = app.worker({ concurrency: 1, ...option })
      await worker.start()
      await hang.enqueue(null)
      while (worker.active === 0) await new Promise((resolve) => setTimeout(resolve, 10))
      const started = Date.now()
      await worker.stop() // no timeoutMs: the worker's own drain timeout applies
      expect(Date.now() - started, JSON.stringify(option)).toBeLessThan(2_000)
      await app.close({ timeoutMs: 0 })
    }
  })
})
