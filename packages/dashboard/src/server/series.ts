/** Counts of one kind of event per queue within one sample interval. */
export type QueueCounts = Record<string, number>

/** One point of the overview charts. */
export interface Sample {
  /** Epoch milliseconds at the end of the interval. */
  readonly at: number
  /** Seconds the interval lasted (rates are counts divided by it). */
  readonly seconds: number
  readonly enqueued: number
  readonly succeeded: number
  readonly retried: number
  readonly failed: number
  readonly deadLettered: number
  /** Runs enqueued per queue within the interval. */
  readonly in: Readonly<Record<string, number>>
  /** Runs finished (succeeded, failed, dead-lettered) per queue within the interval. */
  readonly out: Readonly<Record<string, number>>
  /** Ready + delayed per queue at `at`. */
  readonly depth: Readonly<Record<string, number>>
  /** Age of the oldest waiting run per queue at `at`, in milliseconds (queues the history knows about). */
  readonly oldestAgeMs: Readonly<Record<string, number>>
}

/** A fixed-size ring of samples: an hour of charts in bounded memory. */
export class SampleRing {
  private readonly samples: Sample[] = []

  constructor(private readonly capacity: number) {}

  push(sample: Sample): void {
    this.samples.push(sample)
    if (this.samples.length > this.capacity) this.samples.shift()
  }

  since(at: number): Sample[] {
    return this.samples.filter((sample) => sample.at > at)
  }

  last(): Sample | undefined {
    return this.samples.at(-1)
  }
}

/** Running counters of task events by kind and queue, reset at each sample. */
export class EventCounters {
  enqueued: QueueCounts = {}
  finished: QueueCounts = {}
  succeeded = 0
  retried = 0
  failed = 0
  deadLettered = 0
  enqueuedTotal = 0

  count(type: string, queue: string): void {
    switch (type) {
      case 'task.enqueued':
        this.enqueued[queue] = (this.enqueued[queue] ?? 0) + 1
        this.enqueuedTotal++
        return
      case 'task.succeeded':
        this.succeeded++
        break
      case 'task.retried':
        this.retried++
        return
      case 'task.failed':
        this.failed++
        break
      case 'task.dead-lettered':
        this.deadLettered++
        break
      default:
        return
    }
    this.finished[queue] = (this.finished[queue] ?? 0) + 1
  }

  /** The counts so far, and start over. */
  take(): EventCounters {
    const taken = Object.assign(new EventCounters(), this)
    Object.assign(this, new EventCounters())
    return taken
  }
}
