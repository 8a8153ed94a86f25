import type {
  CountOptions,
  GroupCount,
  GroupMember,
  WorkflowAdmission,
  WorkflowStore,
} from '../contracts/workflow-store'

interface GroupState {
  readonly outcomes: Map<number, string>
  failed: number
  settled: 'succeeded' | 'failed' | undefined
  released: boolean
}

interface WorkflowState {
  plan: string | undefined
  revoked: boolean
  readonly nonces: Map<string, string>
  readonly groups: Map<string, GroupState>
  expiresAt: number
}

/**
 * The reference `WorkflowStore`, in one process. Every method runs to completion without awaiting, so it is as
 * atomic here as a Lua script is on Redis. A workflow's state expires `ttlMs` after its last write.
 */
export function createMemoryWorkflowStore(): WorkflowStore {
  const workflows = new Map<string, WorkflowState>()

  const read = (id: string): WorkflowState | undefined => {
    const state = workflows.get(id)
    if (state !== undefined && state.expiresAt <= Date.now()) {
      workflows.delete(id)
      return undefined
    }
    return state
  }
  const write = (id: string, ttlMs: number): WorkflowState => {
    let state = read(id)
    if (state === undefined) {
      state = { plan: undefined, revoked: false, nonces: new Map(), groups: new Map(), expiresAt: 0 }
      workflows.set(id, state)
      // Sweep the expired now and then, so finished workflows do not pile up in a long-lived process.
      if (workflows.size % 1024 === 0) for (const key of [...workflows.keys()]) read(key)
    }
    state.expiresAt = Date.now() + ttlMs
    return state
  }

  return {
    async putPlan(workflowId, plan, ttlMs) {
      write(workflowId, ttlMs).plan = plan
    },
    async getPlan(workflowId) {
      return read(workflowId)?.plan
    },
    async admit(workflowId, nodeId, nonce, ttlMs): Promise<WorkflowAdmission> {
      const state = read(workflowId)
      if (state?.revoked) return 'revoked'
      if (nonce === undefined) return 'run'
      const nonces = write(workflowId, ttlMs).nonces
      const first = nonces.get(nodeId)
      if (first === undefined) {
        nonces.set(nodeId, nonce)
        return 'run'
      }
      return first === nonce ? 'run' : 'duplicate'
    },
    async countMember(workflowId, groupId, member: GroupMember, options: CountOptions): Promise<GroupCount> {
      return countMember(write(workflowId, options.ttlMs), groupId, member, options)
    },
    async outcomes(workflowId, groupId, total) {
      const group = read(workflowId)?.groups.get(groupId)
      return Array.from({ length: total }, (_, index) => group?.outcomes.get(index))
    },
    async release(workflowId, groupId) {
      const group = read(workflowId)?.groups.get(groupId)
      if (group !== undefined) group.released = true
    },
    async revoke(workflowId, ttlMs) {
      write(workflowId, ttlMs).revoked = true
    },
  }
}

/** Counts a member's outcome into its group once (a redelivered member is not counted again); settles the group. */
function countMember(state: WorkflowState, groupId: string, member: GroupMember, options: CountOptions): GroupCount {
  let group = state.groups.get(groupId)
  if (group === undefined) {
    group = { outcomes: new Map(), failed: 0, settled: undefined, released: false }
    state.groups.set(groupId, group)
  }
  const counted = !group.outcomes.has(member.index)
  let settledNow = false
  if (counted) {
    group.outcomes.set(member.index, member.outcome)
    if (member.failed) group.failed += 1
    if (group.settled === undefined) {
      if (member.failed && options.failFast) group.settled = 'failed'
      else if (group.outcomes.size >= options.total) {
        group.settled = options.failFast && group.failed > 0 ? 'failed' : 'succeeded'
      }
      settledNow = group.settled !== undefined
    }
  }
  return {
    counted,
    done: group.outcomes.size,
    failed: group.failed,
    ...(group.settled !== undefined ? { settled: group.settled } : {}),
    settledNow,
    pending: group.settled !== undefined && !group.released,
    revoked: state.revoked,
  }
}
