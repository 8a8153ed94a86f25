import type { Envelope } from '../contracts/envelope'
import type { BeforeRunVerdict, DeliveryInfo, ExecutionHooks, ExecutionOutcome } from '../worker/runtime'

/**
 * One `ExecutionHooks` from several, in order: `beforeRun` hooks run one after the other and the first verdict other
 * than `run` (`revoked`, or `{ fail }`) wins — later ones are not asked, so a revoked or failed attempt never takes a
 * rate-limit token; every `afterRun` hook is called. Put the cheap checks (revoke, hard-limit kills) before the ones
 * that wait (rate limits).
 */
export function composeHooks(...all: readonly (ExecutionHooks | undefined)[]): ExecutionHooks {
  const hooks = all.filter((h): h is ExecutionHooks => h !== undefined)
  const before = hooks.filter((h) => h.beforeRun !== undefined)
  const after = hooks.filter((h) => h.afterRun !== undefined)
  return {
    ...(before.length > 0
      ? {
          async beforeRun(envelope: Envelope, signal: AbortSignal, delivery: DeliveryInfo): Promise<BeforeRunVerdict> {
            for (const h of before) {
              const verdict = await h.beforeRun!(envelope, signal, delivery)
              if (verdict !== 'run') return verdict
            }
            return 'run'
          },
        }
      : {}),
    ...(after.length > 0
      ? {
          afterRun(envelope: Envelope, outcome: ExecutionOutcome, durationMs: number, lingering?: Promise<void>) {
            for (const h of after) {
              try {
                h.afterRun!(envelope, outcome, durationMs, lingering)
              } catch {
                // afterRun must not throw; one broken hook must not starve the others.
              }
            }
          },
        }
      : {}),
  }
}
