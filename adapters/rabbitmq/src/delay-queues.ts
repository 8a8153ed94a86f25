import type { RabbitMQQueueType } from './options'

type QueueArguments = Record<string, string | number>

/**
 * Arguments of a delay queue: a TTL queue that dead-letters every message back to its work queue when the TTL ends.
 *
 * On quorum queues the move is made at-least-once: RabbitMQ's default dead-lettering is at-most-once (the message is
 * dropped from the delay queue before the work queue confirmed it, so a leader killed at that moment loses it). With
 * `x-dead-letter-strategy: at-least-once` the delay queue keeps the message until the work queue confirmed it and a
 * new leader resends what was unconfirmed (a duplicate at worst). RabbitMQ requires `x-overflow: reject-publish` for
 * that strategy (with `drop-head` it falls back to at-most-once); no length limit is set, so it never rejects.
 * Classic queues have no such strategy.
 */
export function delayQueueArguments(type: RabbitMQQueueType, work: string, ttlMs: number): QueueArguments {
  const common = { 'x-message-ttl': ttlMs, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': work }
  if (type !== 'quorum') return common
  return {
    'x-queue-type': 'quorum',
    ...common,
    'x-dead-letter-strategy': 'at-least-once',
    'x-overflow': 'reject-publish',
  }
}

/**
 * The arguments quorum delay queues had before dead-lettering became at-least-once. Such a queue cannot be declared
 * with the new arguments (PRECONDITION_FAILED): it is kept with these, and a policy gives it the strategy.
 */
export function legacyDelayQueueArguments(work: string, ttlMs: number): QueueArguments {
  return { 'x-queue-type': 'quorum', ...delayQueueArguments('classic', work, ttlMs) }
}

/** The policy definition that makes already-declared quorum delay queues dead-letter at-least-once. */
export const AT_LEAST_ONCE_POLICY = '{"dead-letter-strategy":"at-least-once","overflow":"reject-publish"}'

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** A policy pattern matching the delay queues of every work queue under `prefix` (`<prefix>.<queue>.delay.<level>`). */
export function delayPolicyPattern(prefix: string): string {
  return `^${prefix === '' ? '' : `${escapeRegExp(prefix)}\\.`}.+\\.delay\\.[0-9]+(ms|s|m|h)$`
}

/**
 * What to run (with `-p <vhost>` for another vhost than `/`) so the legacy delay queues under `prefix` dead-letter
 * at-least-once. docs/clusters.md explains it; test/cluster.test.ts runs it.
 */
export function delayPolicyCommand(prefix: string): string {
  return (
    `rabbitmqctl set_policy --apply-to queues --priority 0 conveyor-delays${prefix === '' ? '' : `-${prefix}`} ` +
    `'${delayPolicyPattern(prefix)}' '${AT_LEAST_ONCE_POLICY}'`
  )
}
