import { ConveyorError } from '@conveyor/core'

/**
 * Fewer replicas than `durability.replicas` confirmed a write within `durability.timeoutMs` (Redis `WAIT`). The write
 * is on the master; it survives unless the master dies before a replica copies it. Retrying a publish may store the
 * message twice (consumers see a duplicate, not a loss).
 */
export class ReplicationTimeoutError extends ConveyorError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONVEYOR_REPLICATION_TIMEOUT', message, options)
  }
}
