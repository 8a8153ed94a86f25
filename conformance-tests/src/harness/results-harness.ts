import type { ResultBackend, TaskRecord, TaskState } from '@conveyor/core/adapter'
import type { BrokerContext, ResultBackendConformanceOptions } from '../options'
import { newNamespace } from './harness'

/** What one result backend test works with: backends on a namespace of its own, closed afterwards. */
export class ResultsHarness {
  readonly context: BrokerContext = { namespace: newNamespace() }
  private readonly opened: ResultBackend[] = []
  private seq = 0

  constructor(readonly options: ResultBackendConformanceOptions<string>) {}

  ms(ms: number): number {
    return Math.round(ms * (this.options.timeScale ?? 1))
  }

  async backend(): Promise<ResultBackend> {
    const backend = await this.options.createBackend(this.context)
    this.opened.push(backend)
    await backend.connect()
    return backend
  }

  /** A record with a task-run id unique to this test. */
  record(state: TaskState, extra: Partial<TaskRecord> = {}): TaskRecord {
    this.seq += 1
    return {
      id: `${this.context.namespace}-run-${this.seq}`,
      task: 'conformance.results',
      queue: `${this.context.namespace}-q`,
      state,
      attempt: 1,
      enqueuedAt: Date.now() - 10,
      updatedAt: Date.now(),
      ...extra,
    }
  }

  async dispose(): Promise<void> {
    await Promise.all(this.opened.map((b) => b.close().catch(() => {})))
    await this.options.cleanup?.(this.context)
  }
}

/** A long enough ttl for records the test does not expect to expire. */
export const TTL = { ttlMs: 60_000 }

/** One result backend test. */
export type ResultsTest = (h: ResultsHarness) => Promise<void>
