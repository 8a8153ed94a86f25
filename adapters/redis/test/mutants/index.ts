import type { SourceMutant } from '@conveyor/conformance'

// Realistic bugs planted in this adapter's own sources (applied to a copy by the mutant test, never shipped), each
// with the conformance tests that must catch it. docs/conformance-mutants.md lists them; a test keeps it in step.

export const redisMutants: readonly SourceMutant[] = [
  {
    name: 'redis/publish-resolves-before-write',
    bug: 'publish resolves when the message joins the tick’s batch, before Redis acknowledged the script',
    patches: [
      {
        file: 'src/publisher.ts',
        find: 'this.waiters.push({ resolve, reject })',
        replace: 'resolve()\n      this.waiters.push({ resolve, reject })',
      },
    ],
    mustFail: ['settle.publish-held'],
  },
  {
    name: 'redis/ack-resolves-before-write',
    bug: 'ack resolves when it is queued for the next flush, before Redis removed the message',
    patches: [
      {
        file: 'src/runtime.ts',
        find: 'this.pendingAcks.push({ token: delivery.token, delivery, resolve, reject })',
        replace: 'resolve()\n      this.pendingAcks.push({ token: delivery.token, delivery, resolve, reject })',
      },
    ],
    mustFail: ['settle.settlements-held'],
  },
  {
    name: 'redis/fetch-skips-priority-9',
    bug: 'the fetch script walks the ready lists from priority 8 down: priority 9 is never fetched',
    patches: [{ file: 'lua/fetch.lua', find: 'for p = 10, 1, -1 do', replace: 'for p = 9, 1, -1 do' }],
    mustFail: ['priority.higher-first', 'paths.priority-after-moves'],
  },
  {
    name: 'redis/reclaim-loses-priority',
    bug: 'an expired lease is given back to the priority-0 list whatever the message’s priority',
    patches: [
      {
        file: 'lua/fetch.lua',
        find: "if v then redis.call('LPUSH', KEYS[string.byte(v, 1) - 47], string.sub(v, 2)) end",
        replace: "if v then redis.call('LPUSH', KEYS[1], string.sub(v, 2)) end",
      },
    ],
    mustFail: ['paths.priority-after-moves'],
  },
  {
    name: 'redis/release-counts-a-delivery',
    bug: 'release gives the message back with the delivery it just had counted',
    patches: [
      {
        file: 'lua/release.lua',
        find: 'local count = tonumber(string.sub(v, 3, j - 1)) - 1',
        replace: 'local count = tonumber(string.sub(v, 3, j - 1))',
      },
    ],
    mustFail: ['ack.release-not-counted', 'settle.settlements-held', 'paths.delivery-counts'],
  },
  {
    name: 'redis/replay-keeps-delivery-count',
    bug: 'a replayed dead letter keeps the delivery count it died with instead of starting again',
    patches: [
      {
        file: 'src/dead-letters.ts',
        find: 'args.push(key, envelope.priority, encodeStored(envelope))',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the patch is source text holding a template literal
        replace: 'args.push(key, envelope.priority, `\\u0002${record.deliveryCount}\\u0002${encodeStored(envelope)}`)',
      },
    ],
    mustFail: ['paths.delivery-counts'],
  },
  {
    name: 'redis/delays-due-early',
    bug: 'the fetch script promotes delayed messages 150 ms before they are due',
    patches: [
      {
        file: 'lua/fetch.lua',
        find: "redis.call('ZRANGEBYSCORE', delayed, '-inf', now,",
        replace: "redis.call('ZRANGEBYSCORE', delayed, '-inf', now + 150,",
      },
    ],
    // Invisible on an idle queue (the consumer sleeps until the due time); the timing tests keep traffic flowing.
    mustFail: ['timing.delays-on-time', 'timing.retries-on-time'],
  },
  {
    name: 'redis/short-retry-not-delayed',
    bug: 'retry treats a delay under a second as none: the next attempt is ready at once',
    patches: [
      {
        file: 'src/runtime.ts',
        find: 'next.priority, Math.max(0, delayMs)]',
        replace: 'next.priority, delayMs >= 1000 ? delayMs : 0]',
      },
    ],
    mustFail: ['timing.retries-on-time'],
  },
  {
    name: 'redis/stats-miss-priority-0',
    bug: 'stats count the ready lists from priority 1 up, missing priority 0',
    patches: [{ file: 'lua/stats.lua', find: 'for p = 1, 10 do', replace: 'for p = 2, 10 do' }],
    mustFail: ['lifecycle.stats', 'lifecycle.stats-per-queue'],
  },
  {
    name: 'redis/dead-letter-copies-kept',
    bug: 'a second dead letter of the same run (a message published or delivered twice) is stored as another entry',
    patches: [
      {
        file: 'lua/dead-letter.lua',
        find: "if ARGV[4] ~= '' then",
        replace: 'if false then',
      },
    ],
    mustFail: ['dead-letter.one-per-run'],
  },
]
