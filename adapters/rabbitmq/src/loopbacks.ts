interface Pending {
  readonly resolve: () => void
  readonly reject: (error: unknown) => void
}

/**
 * Records this instance sent to its own reply queue, by correlation id: each `set` addressed to this instance
 * resolves once its message has come back, so a `get` right after it sees the record.
 */
export class Loopbacks {
  private readonly pending = new Map<string, Pending>()
  private seq = 0

  constructor(private readonly instance: string) {}

  /** A new correlation id and the promise its returning message resolves. */
  open(): { readonly correlationId: string; readonly back: Promise<void> } {
    const correlationId = `${this.instance}.${++this.seq}`
    const back = new Promise<void>((resolve, reject) => this.pending.set(correlationId, { resolve, reject }))
    back.catch(() => {}) // awaited by the caller; this only keeps an early rejection from counting as unhandled
    return { correlationId, back }
  }

  /** The message came back. */
  arrived(correlationId: string): void {
    this.pending.get(correlationId)?.resolve()
  }

  /** The message cannot come back (the server returned it). */
  failed(correlationId: string, error: unknown): void {
    this.pending.get(correlationId)?.reject(error)
  }

  forget(correlationId: string): void {
    this.pending.delete(correlationId)
  }

  rejectAll(error: unknown): void {
    for (const loopback of this.pending.values()) loopback.reject(error)
    this.pending.clear()
  }
}
