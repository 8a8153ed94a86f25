/**
 * Fault injection for tests of code running on RabbitMQ (the adapter's own, or an app's). Not part of the broker's or
 * result backend's types: production code has no reason to drop its own socket.
 *
 * @packageDocumentation
 * @module @conveyor/rabbitmq/testing
 */
import { KILL_CONNECTION } from './test-hooks'

/**
 * Drop the socket of a broker or result backend made by this package as a network failure would; it reconnects.
 * False when it is not connected (or was not made by `@conveyor/rabbitmq`).
 */
export function killConnection(target: object): boolean {
  const kill = (target as { [KILL_CONNECTION]?: () => boolean })[KILL_CONNECTION]
  return typeof kill === 'function' ? kill() : false
}
