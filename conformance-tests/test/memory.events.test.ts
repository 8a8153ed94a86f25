import { runEventStreamConformance } from '@conveyor/conformance'
import type { TaskHistory } from '@conveyor/core'
import { createMemoryEventStream, createMemoryTaskHistory, type EventStream } from '@conveyor/core/adapter'

// In one process "another instance" is the same object: one stream and one history per namespace.
const streams = new Map<string, EventStream>()
const histories = new Map<string, TaskHistory>()

runEventStreamConformance({
  name: 'memory',
  createStream: ({ namespace }, retention) => {
    let stream = streams.get(namespace)
    if (stream === undefined) {
      stream = createMemoryEventStream(retention ? { retention } : {})
      streams.set(namespace, stream)
    }
    return stream
  },
  createHistory: ({ namespace }, retention) => {
    let history = histories.get(namespace)
    if (history === undefined) {
      history = createMemoryTaskHistory(retention ? { retention } : {})
      histories.set(namespace, history)
    }
    return history
  },
  cleanup: async ({ namespace }) => {
    streams.delete(namespace)
    histories.delete(namespace)
  },
})
