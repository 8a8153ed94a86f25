import type { QueueStats } from '../contracts/broker'
import type { DeadLetter } from '../contracts/dead-letter'
import { MAX_PRIORITY } from '../contracts/envelope'
import { Deque } from '../util/deque'
import { MAX_TIMER_MS } from '../util/long-timeout'
import { MinHeap } from '../util/min-heap'

/** A message as the memory store keeps it: the encoded body, like a real broker, so consumers get fresh copies. */
export interface StoredMessage {
  readonly body: string
  readonly priority: number
  /** Deliveries of the current attempt so far. */
  deliveryCount: number
}

/** A message handed to a consumer and not settled yet. */
export interface InFlight {
  readonly token: number
  readonly queue: string
  readonly message: StoredMessage
  readonly owner: number
  readonly consumer: StoreConsumer
  leaseUntil: number
}

/** A consumer registered on a queue of the store. */
export interface StoreConsumer {
  readonly owner: number
  readonly prefetch: number
  unsettled: number
  /** Called with each message given to this consumer; the token identifies the lease. */
  readonly deliver: (inflight: InFlight) => void
}

interface QueueState {
  readonly levels: Deque<StoredMessage>[]
  readonly delayed: MinHeap<StoredMessage>
  readonly inflight: Map<number, InFlight>
  readonly dead: DeadLetter[]
  readonly consumers: StoreConsumer[]
  nextConsumer: number
}

/**
 * The memory broker's "server": queues, delays, leases and dead letters in one process. Several broker instances
 * can share one store, which is how tests restart a consumer (a new broker instance) without losing the queue.
 */
export class MemoryStore {
  private readonly queues = new Map<string, QueueState>()
  private nextToken = 1
  private nextOwner = 1
  private delayTimer: NodeJS.Timeout | undefined
  private delayTimerAt = Number.POSITIVE_INFINITY
  private reaper: NodeJS.Timeout | undefined

  /** How often expired leases are looked for. */
  constructor(readonly reapIntervalMs = 50) {}

  newOwner(): number {
    return this.nextOwner++
  }

  queue(name: string): QueueState {
    let state = this.queues.get(name)
    if (state === undefined) {
      state = {
        levels: Array.from({ length: MAX_PRIORITY + 1 }, () => new Deque<StoredMessage>()),
        delayed: new MinHeap<StoredMessage>(),
        inflight: new Map(),
        dead: [],
        consumers: [],
        nextConsumer: 0,
      }
      this.queues.set(name, state)
    }
    return state
  }

  queueNames(): string[] {
    return [...this.queues.keys()].sort()
  }

  /** Put a message on the queue now, or hold it until `notBefore`. */
  enqueue(queue: string, message: StoredMessage, notBefore?: number): void {
    const state = this.queue(queue)
    if (notBefore !== undefined && notBefore > Date.now()) {
      state.delayed.push(notBefore, message)
      this.armDelayTimer(notBefore)
      return
    }
    state.levels[message.priority]!.push(message)
    this.pump(queue)
  }

  /**
   * Give a held message back ahead of newer ones of its priority (graceful release, close). A give-back is not a
   * delivery that failed, so it does not count against maxDeliveries. False when the lease was already gone.
   */
  release(inflight: InFlight): boolean {
    if (this.takeInFlight(inflight.queue, inflight.token) === undefined) return false
    inflight.message.deliveryCount--
    this.queue(inflight.queue).levels[inflight.message.priority]!.unshift(inflight.message)
    this.pump(inflight.queue)
    return true
  }

  addConsumer(queue: string, consumer: StoreConsumer): void {
    this.queue(queue).consumers.push(consumer)
    this.pump(queue)
  }

  removeConsumer(queue: string, consumer: StoreConsumer): void {
    const state = this.queue(queue)
    const i = state.consumers.indexOf(consumer)
    if (i >= 0) state.consumers.splice(i, 1)
  }

  /** Remove a lease; undefined when it no longer exists (settled, released or expired). */
  takeInFlight(queue: string, token: number): InFlight | undefined {
    const state = this.queue(queue)
    const inflight = state.inflight.get(token)
    if (inflight === undefined) return undefined
    state.inflight.delete(token)
    inflight.consumer.unsettled--
    queueMicrotask(() => this.pump(queue))
    return inflight
  }

  /** Extend every lease `owner` holds. */
  extendLeases(owner: number, leaseMs: number): void {
    const until = Date.now() + leaseMs
    for (const state of this.queues.values()) {
      for (const inflight of state.inflight.values()) if (inflight.owner === owner) inflight.leaseUntil = until
    }
  }

  /** Leases held by `owner`, for graceful close. */
  heldBy(owner: number): InFlight[] {
    const held: InFlight[] = []
    for (const state of this.queues.values()) {
      for (const inflight of state.inflight.values()) if (inflight.owner === owner) held.push(inflight)
    }
    return held
  }

  /** Hand ready messages to consumers with room, round robin, highest priority first. */
  pump(queue: string): void {
    const state = this.queues.get(queue)
    if (state === undefined || state.consumers.length === 0) return
    const handed: [StoreConsumer, InFlight][] = []
    for (;;) {
      const consumer = this.pickConsumer(state)
      if (consumer === undefined) break
      const message = this.popReady(state)
      if (message === undefined) break
      message.deliveryCount++
      const inflight: InFlight = {
        token: this.nextToken++,
        queue,
        message,
        owner: consumer.owner,
        consumer,
        leaseUntil: Number.POSITIVE_INFINITY,
      }
      state.inflight.set(inflight.token, inflight)
      consumer.unsettled++
      handed.push([consumer, inflight])
    }
    // Deliver asynchronously, as a networked broker would: handlers never run inside the store's own bookkeeping.
    if (handed.length > 0)
      queueMicrotask(() => {
        for (const [consumer, inflight] of handed) consumer.deliver(inflight)
      })
  }

  /** Start the lease reaper for a lease length; the owner sets real deadlines right after. */
  setLease(inflight: InFlight, leaseMs: number): void {
    inflight.leaseUntil = Date.now() + leaseMs
    if (this.reaper === undefined) {
      this.reaper = setInterval(() => this.reap(), this.reapIntervalMs)
      this.reaper.unref()
    }
  }

  /**
   * Store a dead letter, once per run: a copy of a run already held (same id, attempt and enqueue time — a worker died
   * between its dead letter and its ack, and the redelivery was dead-lettered again) is not added twice.
   */
  deadLetter(queue: string, entry: DeadLetter): void {
    const dead = this.queue(queue).dead
    const run = entry.envelope
    if (run !== undefined) {
      const copy = dead.some(
        (held) =>
          held.id === entry.id && held.envelope?.attempt === run.attempt && held.envelope.createdAt === run.createdAt,
      )
      if (copy) return
    }
    dead.push(entry)
  }

  deadLetters(queue: string): DeadLetter[] {
    return this.queue(queue).dead
  }

  purge(queue: string): number {
    const state = this.queue(queue)
    let n = state.delayed.clear()
    for (const level of state.levels) n += level.clear()
    return n
  }

  stats(queue: string): QueueStats {
    const state = this.queue(queue)
    const oldestReadyAt = oldestOf(state.levels)
    return {
      ready: state.levels.reduce((sum, level) => sum + level.length, 0),
      inFlight: state.inflight.size,
      delayed: state.delayed.size,
      dead: state.dead.length,
      ...(oldestReadyAt !== undefined ? { oldestReadyAt } : {}),
    }
  }

  private pickConsumer(state: QueueState): StoreConsumer | undefined {
    const n = state.consumers.length
    for (let i = 0; i < n; i++) {
      const consumer = state.consumers[(state.nextConsumer + i) % n]!
      if (consumer.unsettled < consumer.prefetch) {
        state.nextConsumer = (state.nextConsumer + i + 1) % n
        return consumer
      }
    }
    return undefined
  }

  private popReady(state: QueueState): StoredMessage | undefined {
    for (let p = MAX_PRIORITY; p >= 0; p--) {
      const message = state.levels[p]!.shift()
      if (message !== undefined) return message
    }
    return undefined
  }

  private reap(): void {
    const now = Date.now()
    let any = false
    for (const [name, state] of this.queues) {
      for (const inflight of state.inflight.values()) {
        any = true
        if (inflight.leaseUntil > now) continue
        // The owner stopped extending (it died): give the message back, keeping its delivery count.
        this.takeInFlight(name, inflight.token)
        state.levels[inflight.message.priority]!.unshift(inflight.message)
      }
    }
    if (!any && this.reaper !== undefined) {
      clearInterval(this.reaper)
      this.reaper = undefined
    }
  }

  private armDelayTimer(at: number): void {
    if (at >= this.delayTimerAt) return
    if (this.delayTimer !== undefined) clearTimeout(this.delayTimer)
    this.delayTimerAt = at
    // +1: timers may fire a hair early relative to Date.now(); a delayed message is never delivered early.
    // At most MAX_TIMER_MS: a longer delay fires after 1 ms (a message due in a month made this spin); promoteDue
    // re-arms for what is not due yet.
    this.delayTimer = setTimeout(() => this.promoteDue(), Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now()) + 1))
    this.delayTimer.unref()
  }

  private promoteDue(): void {
    this.delayTimer = undefined
    this.delayTimerAt = Number.POSITIVE_INFINITY
    const now = Date.now()
    let next = Number.POSITIVE_INFINITY
    for (const [name, state] of this.queues) {
      let moved = false
      for (let key = state.delayed.peekKey(); key !== undefined; key = state.delayed.peekKey()) {
        if (key > now) {
          next = Math.min(next, key)
          break
        }
        const message = state.delayed.pop()!
        state.levels[message.priority]!.push(message)
        moved = true
      }
      if (moved) this.pump(name)
    }
    if (next !== Number.POSITIVE_INFINITY) this.armDelayTimer(next)
  }
}

/** A fresh store; pass the same one to several `createMemoryBroker` calls to share queues between them. */
export function createMemoryStore(): MemoryStore {
  return new MemoryStore()
}

/** When the oldest ready message became ready: the earliest head of the priority levels (each level is FIFO). */
function oldestOf(levels: readonly Deque<StoredMessage>[]): number | undefined {
  let oldest: number | undefined
  for (const level of levels) {
    const head = level.peek()
    if (head === undefined) continue
    const at = readyAt(head.body)
    if (at !== undefined && (oldest === undefined || at < oldest)) oldest = at
  }
  return oldest
}

/** `notBefore ?? createdAt` of a stored body; undefined for a body that is not an envelope (raw, malformed). */
export function readyAt(body: string): number | undefined {
  try {
    const parsed = JSON.parse(body) as { createdAt?: unknown; notBefore?: unknown }
    const at = typeof parsed.notBefore === 'number' ? parsed.notBefore : parsed.createdAt
    return typeof at === 'number' ? at : undefined
  } catch {
    return undefined
  }
}
