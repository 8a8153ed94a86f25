/**
 * What workflows (chain, group, chord) need from the store that holds results, beside the records themselves. A
 * result backend offers it as `ResultBackend.workflows` and says so with `capabilities.workflowCounting: 'atomic'`;
 * without it, `app.enqueueWorkflow` refuses to start with `WorkflowsUnsupportedError` rather than poll.
 *
 * Every method must be atomic in the store every process shares (a Lua script on Redis), because the callers are
 * workers in many processes racing each other and being killed at any instruction. All keys of one workflow expire
 * `ttlMs` after their last write.
 */
export interface WorkflowStore {
  /** Store a workflow's plan (immutable JSON, written once by the producer before any member is published). */
  putPlan(workflowId: string, plan: string, ttlMs: number): Promise<void>
  /** The plan stored by `putPlan`, or undefined when it expired or never was. */
  getPlan(workflowId: string): Promise<string | undefined>

  /**
   * Decide whether one delivered message of a workflow runs. `nonce` names one publish of node `nodeId` (a
   * continuation a worker published). The first nonce seen for a node wins and is remembered: a delivery with that
   * nonce runs (a redelivery after a crash runs again, as any task does), a delivery with another nonce is a
   * duplicate publish (the publisher died before it could record that it published, and the next one published
   * again) and must be dropped. `nonce` undefined (published by the producer, once) only checks revocation.
   * Resolves `revoked` once `revoke(workflowId)` was called, whatever the nonce.
   */
  admit(workflowId: string, nodeId: string, nonce: string | undefined, ttlMs: number): Promise<WorkflowAdmission>

  /**
   * Count one member of group `groupId` as finished, with its outcome (opaque JSON), and say whether the group
   * settled. Idempotent per (group, member index): a member counted again (redelivered after a crash, run again)
   * changes nothing and resolves `counted: false`. The group settles exactly once, in the store: `failed` at the
   * first failed member when `failFast`, otherwise `succeeded` (or `failed` under `failFast`) when the last member
   * is counted. Safe when the last two members are counted at the same moment from two processes.
   */
  countMember(workflowId: string, groupId: string, member: GroupMember, options: CountOptions): Promise<GroupCount>
  /** The outcomes counted for a group, by member index (undefined where none was counted yet). */
  outcomes(workflowId: string, groupId: string, total: number): Promise<(string | undefined)[]>
  /**
   * Record that the settled group's continuation was published (the next step or callback, or the workflow's
   * result). Until then every caller of `countMember` sees `pending: true` and must publish it (again): that is what
   * makes the continuation survive the death of the worker that settled the group. Duplicates are dropped by
   * `admit`.
   */
  release(workflowId: string, groupId: string): Promise<void>
  /** Mark the whole workflow revoked: `admit` resolves `revoked` for its members from now on. */
  revoke(workflowId: string, ttlMs: number): Promise<void>
}

/** What `WorkflowStore.admit` decided. */
export type WorkflowAdmission = 'run' | 'duplicate' | 'revoked'

/** One finished member, as given to `countMember`. */
export interface GroupMember {
  /** Position in the group, 0-based: the key that makes counting idempotent. */
  readonly index: number
  /** JSON of the member's outcome, stored as given and returned by `outcomes`. */
  readonly outcome: string
  /** The member ended otherwise than succeeded. */
  readonly failed: boolean
}

/** Options of `countMember`: the group's shape, the same on every call. */
export interface CountOptions {
  /** Members in the group (≥ 1). */
  readonly total: number
  /** Settle `failed` at the first failed member instead of waiting for the last. */
  readonly failFast: boolean
  readonly ttlMs: number
}

/** What `countMember` resolves with. */
export interface GroupCount {
  /** False when this member was counted before (a redelivery): nothing changed. */
  readonly counted: boolean
  /** Members counted so far, failed ones included. */
  readonly done: number
  /** Members counted as failed so far. */
  readonly failed: number
  /** How the group settled, once it has. */
  readonly settled?: 'succeeded' | 'failed'
  /** True for the one call that settled the group. */
  readonly settledNow: boolean
  /** The group settled and its continuation was not released yet: publish it, then call `release`. */
  readonly pending: boolean
  /** The workflow was revoked: publish nothing. */
  readonly revoked: boolean
}
