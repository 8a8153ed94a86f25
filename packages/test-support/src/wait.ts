import { pollUntil } from '@conveyor/core/adapter'

export { sleep } from '@conveyor/core/adapter'

/**
 * Resolve once `check` holds, polling every `everyMs` (20 ms by default); reject after `timeoutMs` naming `what`
 * (a function: worked out only on failure, e.g. to describe the state that was reached).
 */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  what: string | (() => string) = 'condition',
  { everyMs = 20 }: { everyMs?: number } = {},
): Promise<void> {
  await pollUntil(check, Boolean, {
    timeoutMs,
    everyMs,
    failure: () =>
      new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`),
  })
}

/** `until` under the name the RabbitMQ tests use. */
export const eventually = until
