/**
 * The key under which brokers and result backends keep their test hooks (`@conveyor/rabbitmq/testing`). A registered
 * symbol, so the package's entries (bundled separately) agree on it, and no public type lists it.
 */
export const KILL_CONNECTION: unique symbol = Symbol.for('conveyor.rabbitmq.killConnection') as never

/** Give `target` a hidden (non-enumerable) socket killer for `killConnection` in `@conveyor/rabbitmq/testing`. */
export function withKillHook<T extends object>(target: T, kill: () => boolean): T {
  return Object.defineProperty(target, KILL_CONNECTION, { value: kill })
}
