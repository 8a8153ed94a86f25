import type { Cluster } from 'ioredis'

/** ioredis's own message for a command on a closed connection, which `rethrowTyped` turns into NotConnectedError. */
const CLOSED = 'Connection is closed.'

/**
 * Makes a Cluster client the adapter owns refuse commands once it was told to disconnect or quit.
 *
 * ioredis's Cluster, disconnecting, drops every node from its pool at once and then emits 'drain' once per node that
 * ends; the first takes it to 'end' (flushing what waited), each later one back to 'close'. A command sent in 'close'
 * waits in the offline queue for a reconnect that never comes: a dead-letter replay racing a destroy never settled,
 * and every call on a destroyed cluster broker hung. A plain Redis client ends once and refuses commands after, which
 * is what this gives the Cluster. A disconnect asking to reconnect (`disconnect(true)`) leaves it as it is.
 */
export function refuseAfterEnd(cluster: Cluster): Cluster {
  let ended = false
  const send = cluster.sendCommand.bind(cluster)
  const disconnect = cluster.disconnect.bind(cluster)
  const quit = cluster.quit.bind(cluster)
  cluster.sendCommand = (command, stream, node) => {
    if (!ended) return send(command, stream, node)
    command.reject(new Error(CLOSED))
    return command.promise
  }
  cluster.disconnect = (reconnect = false) => {
    if (!reconnect) ended = true
    disconnect(reconnect)
  }
  cluster.quit = (callback) => {
    ended = true
    return quit(callback)
  }
  return cluster
}
