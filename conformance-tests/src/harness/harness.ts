import { randomBytes } from 'node:crypto'
import { type Broker, type BrokerCapabilities, type Envelope, newTaskId } from '@conveyor/core/adapter'
import type { BrokerConformanceOptions, BrokerContext, BrokerInspector } from '../options'
import { type CollectOptions, type Collector, collect } from './collector'

/**
 * Unscaled timings, in milliseconds. Every wait of the suite is one of these times `timeScale`, so a slow broker or
 * CI machine scales them all at once.
 */
export const TIMING = {
  /** The longest lease the suite expects the adapter under test to be configured with. */
  lease: 1000,
  /** How long after a consumer dies its deliveries may take to come back: a lease plus time to notice. */
  redelivery: 3000,
  /** How late after its due time a delayed message may arrive. */
  window: 1000,
  /** A delay long enough to tell "early" from "on time" and short enough to keep the suite quick. */
  delay: 400,
  /** How long to watch for something that must not happen (a duplicate, a delivery to a cancelled consumer). */
  quiet: 300,
  /** How long a delivery that is due now may take to arrive. */
  prompt: 1500,
} as const

let sequence = 0

/** A namespace safe as a key prefix, queue name and SQL identifier: lowercase letters, digits and `_`. */
export function newNamespace(): string {
  sequence += 1
  return `cf_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}_${sequence}`
}

/**
 * What one conformance test works with: a namespace of its own, brokers on it (a second instance on the same
 * namespace is a restarted process), unique queue names, an inspector, and cleanup of everything afterwards.
 */
export class Harness {
  readonly context: BrokerContext
  readonly timeScale: number
  private readonly brokers: Broker[] = []
  private readonly queues: string[] = []
  private rawInspector: BrokerInspector | undefined
  private fallbackBroker: Broker | undefined
  private firstCapabilities: BrokerCapabilities | undefined

  constructor(
    readonly options: BrokerConformanceOptions<string>,
    readonly testId: string,
  ) {
    this.context = { namespace: newNamespace() }
    this.timeScale = options.timeScale ?? 1
  }

  get namespace(): string {
    return this.context.namespace
  }

  /** `ms` scaled by `timeScale`. */
  ms(ms: number): number {
    return Math.round(ms * this.timeScale)
  }

  /** A queue name unique to this test; every broker this harness creates declares it. */
  queue(suffix = 'q'): string {
    const name = `${this.namespace}-${suffix}`
    if (!this.queues.includes(name)) this.queues.push(name)
    return name
  }

  /** A new broker instance on this test's namespace, connected, with the test's queues declared. */
  async broker(): Promise<Broker> {
    const broker = await this.options.createBroker(this.context)
    this.brokers.push(broker)
    this.firstCapabilities ??= broker.capabilities
    await broker.connect()
    for (const queue of this.queues) await broker.declare({ name: queue })
    return broker
  }

  /** The capabilities the adapter claims (read from a broker instance, created if none exists yet). */
  async capabilities(): Promise<BrokerCapabilities> {
    if (this.firstCapabilities === undefined) {
      const broker = await this.options.createBroker(this.context)
      this.brokers.push(broker)
      this.firstCapabilities = broker.capabilities
    }
    return this.firstCapabilities
  }

  /** Declare a queue created after the brokers were. */
  async declare(broker: Broker, queue: string): Promise<void> {
    await broker.declare({ name: queue })
  }

  /** A test consumer on `queue`. */
  consume(broker: Broker, queue: string, options?: CollectOptions): Promise<Collector> {
    return collect(broker, queue, options)
  }

  /** A complete, valid envelope for `queue`; override any field. */
  envelope(queue: string, overrides: Partial<Envelope> = {}): Envelope {
    return {
      id: newTaskId(),
      task: 'conformance.echo',
      payload: { n: 1 },
      queue,
      priority: 0,
      attempt: 1,
      maxAttempts: 3,
      createdAt: Date.now(),
      ...overrides,
    }
  }

  /** Whether the adapter gave a raw `inspect` hook (otherwise dead letters are read through the broker's API). */
  get hasRawInspector(): boolean {
    return this.options.inspect !== undefined
  }

  /**
   * The raw inspector when the adapter gave one; otherwise a view through a separate broker instance on the same
   * namespace (never the instance under test, which the test may have destroyed).
   */
  async inspector(): Promise<BrokerInspector> {
    if (this.options.inspect !== undefined) {
      this.rawInspector ??= await this.options.inspect(this.context)
      return this.rawInspector
    }
    return {
      ready: async (queue) => (await (await this.fallback()).stats(queue)).ready,
      deadLetters: async (queue) => (await this.fallback()).deadLetters.list(queue, { limit: 10_000 }),
      close: async () => {},
    }
  }

  private async fallback(): Promise<Broker> {
    this.fallbackBroker ??= await this.broker()
    return this.fallbackBroker
  }

  /** Close every broker (errors ignored: some were destroyed on purpose), run the adapter's cleanup. */
  async dispose(): Promise<void> {
    await Promise.all(this.brokers.map((broker) => broker.close({ timeoutMs: 0 }).catch(() => {})))
    await Promise.all(this.brokers.map((broker) => broker.destroy().catch(() => {})))
    await this.rawInspector?.close().catch(() => {})
    await this.options.cleanup?.(this.context)
  }
}
