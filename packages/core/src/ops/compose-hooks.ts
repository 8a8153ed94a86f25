import type { Envelope } from '../contracts/envelope'
import type { ExecutionHooks, ExecutionOutcome } from '../worker/runtime'

/**
 * One `ExecutionHooks` from several, in order: `beforeRun` hooks run one after the other and the first `revoked`
 * wins (later ones are not asked, so a revoked task never takes a rate-limit token); every `afterRun` hook is called.
 * Put the cheap checks (revoke) before the ones that wait (rate limits).
 */
export function composeHooks(...all: readonly (ExecutionHooks | undefined)[]): ExecutionHooks {
  const hooks = all.filter((h): h is ExecutionHooks => h !== undefined)
  const before = hooks.filter((h) => h.beforeRun !== undefined)
  const after = hooks.filter((h) => h.afterRun !== undefined)
  return {
    ...(before.length > 0
      ? {
          async beforeRun(envelope: Envelope, signal: AbortSignal) {
            for (const h of before) {
              if ((await h.beforeRun!(envelope, signal)) === 'revoked') return 'revoked'
            }
            return 'run'
          },
        }
      : {}),
    ...(after.length > 0
      ? {
          afterRun(envelope: Envelope, outcome: ExecutionOutcome, durationMs: number) {
            for (const h of after) {
              try {
                h.afterRun!(envelope, outcome, durationMs)
              } catch {
                // afterRun must not throw; one broken hook must not starve the others.
              }
            }
          },
        }
      : {}),
  }
}
