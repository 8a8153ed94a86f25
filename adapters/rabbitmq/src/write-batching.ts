import type { ChannelModel } from 'amqplib'

/** The parts of amqplib's (untyped) frame multiplexer this file relies on. */
interface Muxer {
  _readIncoming(): void
  readonly out?: { cork?: () => void; uncork?: () => void }
  conveyorCorked?: boolean
}

/**
 * amqplib's multiplexer moves every queued frame (publishes, acks, the barrier's `basic.qos`) to the socket with one
 * `write()` each, so a busy tick costs one syscall per frame (~15% of client CPU under load). Corking the socket for
 * the duration of one multiplexer pass turns the pass into a single `writev`. Bytes and their order are unchanged;
 * back-pressure still works because a corked socket counts the buffered bytes against its high-water mark.
 * Best effort: if amqplib's internals differ from what we expect, nothing is changed.
 */
export function batchSocketWrites(model: ChannelModel): void {
  const muxer = (model as unknown as { connection?: { muxer?: Muxer } }).connection?.muxer
  if (muxer === undefined || muxer.conveyorCorked || typeof muxer._readIncoming !== 'function') return
  const out = muxer.out
  if (typeof out?.cork !== 'function' || typeof out.uncork !== 'function') return
  const pass = muxer._readIncoming
  muxer._readIncoming = function corkedPass(this: Muxer) {
    out.cork?.()
    try {
      pass.call(this)
    } finally {
      out.uncork?.()
    }
  }
  muxer.conveyorCorked = true
}
