import { ConveyorError } from './conveyor-error'

/**
 * A workflow (chain, group, chord) was started on an app whose result backend cannot count its members atomically
 * in a store every process shares (`capabilities.workflowCounting` is not `atomic`), or that has no result backend.
 */
export class WorkflowsUnsupportedError extends ConveyorError {
  constructor(backend: string | undefined) {
    super(
      'CONVEYOR_WORKFLOWS_UNSUPPORTED',
      backend === undefined
        ? 'workflows (chain, group, chord) need a result backend: pass createApp({ results }) (e.g. createRedisResultBackend)'
        : `workflows (chain, group, chord) need a result backend that counts members atomically in a shared store; the "${backend}" result backend does not (capabilities.workflowCounting is not 'atomic'): use the Redis result backend (createRedisResultBackend) or the memory one in a single process`,
    )
  }
}
