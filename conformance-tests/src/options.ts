import type { Broker, DeadLetter, ResultBackend } from '@conveyor/core/adapter'

/** Identifies one broker under test. Same namespace → same underlying store (a new instance is a "restart"). */
export interface BrokerContext {
  /** Unique per test; use it as key prefix / queue-name prefix so tests run in parallel against one server. */
  readonly namespace: string
}

/**
 * A raw view of the store, read without going through the adapter under test (raw Redis commands, a separate AMQP
 * channel). The suite checks side effects through it.
 */
export interface BrokerInspector {
  /** Messages deliverable now on `queue`, read from the store. */
  ready(queue: string): Promise<number>
  /** Dead letters of `queue`, read and decoded from the store, oldest first. */
  deadLetters(queue: string): Promise<DeadLetter[]>
  /** Release the inspector's own connections. */
  close(): Promise<void>
}

/** Options of `runBrokerConformance` and of each area on its own. */
export interface BrokerConformanceOptions<TestId extends string = string> {
  /** Shown in the describe block and reports, e.g. `redis`. */
  readonly name: string
  /** A fresh broker on `ctx.namespace`. Called once per test, and again with the same namespace to "restart". */
  readonly createBroker: (ctx: BrokerContext) => Broker | Promise<Broker>
  /** A raw view of the store for the same namespace; the suite falls back to the adapter's own API when absent. */
  readonly inspect?: (ctx: BrokerContext) => BrokerInspector | Promise<BrokerInspector>
  /** Remove whatever the namespace left behind (keys, queues). Called after each test. */
  readonly cleanup?: (ctx: BrokerContext) => Promise<void>
  /** Tests to skip, each with the reason shown in the report. */
  readonly skip?: Partial<Record<TestId, string>>
  /**
   * Delays at which the adapter changes how it holds a message (e.g. RabbitMQ's delay levels), in milliseconds: the
   * timing tests also probe just above each one up to a few seconds, where an off-by-one-level bug shows.
   */
  readonly delayBoundariesMs?: readonly number[]
  /** More ways to build the adapter, each running some areas (see `NamedConfiguration`). */
  readonly configurations?: readonly NamedConfiguration<TestId>[]
  /**
   * Multiplies the suite's waits and delays (default 1). The suite expects the broker's lease (visibility timeout)
   * to be configured short for tests — at most `1000 * timeScale` ms — so abandoned deliveries come back quickly.
   */
  readonly timeScale?: number
}

/**
 * The adapter built another way (production delay levels, a broker-side delivery limit, …) and the areas of the
 * suite that run on it, registered as `<name> [<configuration>]`. What the configuration claims in `capabilities`
 * is held to the tests of those areas, as for the main run.
 */
export interface NamedConfiguration<TestId extends string = string> {
  /** Shown after the adapter's name, e.g. `production delay levels`. */
  readonly name: string
  /** What runs on this configuration: whole areas (`'timing'`) and single tests (`'crash.delivery-limit'`). */
  readonly run: readonly string[]
  readonly createBroker: BrokerConformanceOptions<TestId>['createBroker']
  /** Defaults to the main run's. */
  readonly inspect?: BrokerConformanceOptions<TestId>['inspect']
  /** Defaults to the main run's. */
  readonly cleanup?: BrokerConformanceOptions<TestId>['cleanup']
  readonly skip?: Partial<Record<TestId, string>>
  readonly delayBoundariesMs?: readonly number[]
}

/** Options of `runResultBackendConformance`. */
export interface ResultBackendConformanceOptions<TestId extends string = string> {
  /** Shown in the describe block and reports, e.g. `redis`. */
  readonly name: string
  /**
   * A result backend on `ctx.namespace`. Called once per test, and again with the same namespace for a second
   * instance that must see the first one's records and wake its waiters (another process).
   */
  readonly createBackend: (ctx: BrokerContext) => ResultBackend | Promise<ResultBackend>
  /** Remove whatever the namespace left behind. Called after each test. */
  readonly cleanup?: (ctx: BrokerContext) => Promise<void>
  /** Tests to skip, each with the reason shown in the report. */
  readonly skip?: Partial<Record<TestId, string>>
  /** Multiplies the suite's waits (default 1). */
  readonly timeScale?: number
}
