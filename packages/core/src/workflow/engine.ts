import { randomUUID } from 'node:crypto'
import type { ErrorInfo } from '../contracts/dead-letter'
import type { Envelope } from '../contracts/envelope'
import type { JsonValue } from '../contracts/json'
import type { ResultBackend, TaskRecord, TaskState } from '../contracts/result-backend'
import { TERMINAL_STATES } from '../contracts/result-backend'
import type { WorkflowAdmission, WorkflowStore } from '../contracts/workflow-store'
import { toErrorInfo } from '../envelope/error-info'
import { safeJsonParse } from '../envelope/safe-json'
import { ConveyorError } from '../errors/conveyor-error'
import { WorkflowsUnsupportedError } from '../errors/workflows-unsupported-error'
import type { Logger } from '../logging/logger'
import { newTaskId } from '../util/ids'
import type { Flow, Settled } from './flow'
import { compilePlan, type Link, type Placement, PlanIndex, type PlanNode } from './plan'

/** Envelope header naming the workflow a run belongs to. */
export const WORKFLOW_HEADER = 'conveyor-workflow'
/** Envelope header naming one publish of a continuation (see `WorkflowStore.admit`). */
export const PUBLISH_HEADER = 'conveyor-workflow-publish'
/** The `task` of a workflow's own record. */
export const WORKFLOW_TASK = 'conveyor.workflow'
/** Default time a workflow's state and record are kept: a day. */
export const DEFAULT_WORKFLOW_TTL_MS = 86_400_000

/** What the engine needs from its app. */
export interface WorkflowPorts {
  readonly results: ResultBackend | undefined
  readonly logger: Logger
  /** Validate, route and build one member's envelope; nothing is published. */
  build(task: string, input: JsonValue, options: BuildOptions): Promise<Envelope>
  /** Where a step goes by default: its task's queue and priority, or the app's routes (by name). */
  place: Placement
  /** Publish envelopes (declaring their queues), resolving once the broker has them all. */
  publish(envelopes: readonly Envelope[]): Promise<void>
}

export interface BuildOptions {
  readonly id: string
  readonly queue?: string
  readonly priority?: number
  readonly rootId: string
  readonly parentId: string
  readonly headers: Readonly<Record<string, string>>
}

/** Options of `app.enqueueWorkflow`. */
export interface WorkflowOptions {
  /** The workflow's id (its record's id); members are `<id>.<n>`. Defaults to a random UUID. */
  readonly id?: string
  /** How long the workflow's state and record are kept. Defaults to a day. */
  readonly ttlMs?: number
}

/** How a finished member ended, as the engine passes it up the plan. */
export type Outcome = Settled<unknown>

const PLAN_CACHE_SIZE = 256
const NO_INPUT = null

/**
 * Runs workflows: the producer side starts them (plan stored, first members published); the worker side, for every
 * member that ends, decides and publishes what comes next. Correctness rests on three store operations (see
 * `WorkflowStore`): idempotent atomic counting of group members, a `pending` continuation that whoever counts next
 * publishes again until it is released, and `admit`, which drops a continuation published twice.
 */
export class WorkflowEngine {
  private readonly plans = new Map<string, Promise<PlanIndex | undefined>>()

  constructor(private readonly ports: WorkflowPorts) {}

  /** The store, or the typed error saying why workflows cannot run on this app. */
  store(): WorkflowStore {
    const results = this.ports.results
    if (results?.capabilities?.workflowCounting !== 'atomic' || results.workflows === undefined) {
      throw new WorkflowsUnsupportedError(results?.name)
    }
    return results.workflows
  }

  /** Store the plan, record the workflow `pending` and publish its first members. */
  async start(flow: Flow<unknown, unknown>, options: WorkflowOptions = {}): Promise<PlanIndex> {
    const store = this.store()
    const id = options.id ?? newTaskId()
    const ttlMs = options.ttlMs ?? DEFAULT_WORKFLOW_TTL_MS
    const now = Date.now()
    const index = new PlanIndex(id, compilePlan(flow.node, now, ttlMs, this.ports.place))
    const envelopes: Envelope[] = []
    // Built (validated, routed) before anything is stored: bad input fails the enqueue, not a worker.
    await this.enter(index, index.plan.root, NO_INPUT, envelopes, undefined)
    await store.putPlan(id, JSON.stringify(index.plan), ttlMs)
    this.remember(id, Promise.resolve(index))
    const pending: TaskRecord = {
      id,
      task: WORKFLOW_TASK,
      queue: '',
      state: 'pending',
      attempt: 1,
      enqueuedAt: now,
      updatedAt: now,
    }
    await this.ports.results!.set(pending, { ttlMs })
    await this.ports.publish(envelopes)
    return index
  }

  /** The workflow a run belongs to, from its envelope. */
  static workflowOf(envelope: Envelope): string | undefined {
    return envelope.headers?.[WORKFLOW_HEADER]
  }

  /** Whether a delivered member runs (see `WorkflowStore.admit`). */
  async admit(envelope: Envelope): Promise<WorkflowAdmission> {
    const workflowId = WorkflowEngine.workflowOf(envelope)
    if (workflowId === undefined) return 'run'
    const index = await this.plan(workflowId)
    if (index === undefined) return 'run'
    return this.store().admit(workflowId, envelope.id, envelope.headers?.[PUBLISH_HEADER], index.plan.ttlMs)
  }

  /**
   * A member ended (succeeded, or for good otherwise): count it and publish what follows. Called before the member's
   * delivery is settled, so a crash anywhere in here redelivers the member and this runs again.
   */
  async finish(envelope: Envelope, outcome: Outcome): Promise<void> {
    const workflowId = WorkflowEngine.workflowOf(envelope)
    if (workflowId === undefined) return
    const index = await this.plan(workflowId)
    const node = index?.taskOf(envelope.id)
    if (index === undefined || node === undefined) {
      this.ports.logger.warn(
        { workflowId, taskId: envelope.id },
        'workflow plan not found (expired?); nothing follows this run',
      )
      return
    }
    await this.complete(index, node.n, outcome)
  }

  /** Revoke a workflow: members not started yet are not run; the record says `revoked`. */
  async revoke(workflowId: string): Promise<void> {
    const index = await this.plan(workflowId)
    const ttlMs = index?.plan.ttlMs ?? DEFAULT_WORKFLOW_TTL_MS
    await this.store().revoke(workflowId, ttlMs)
    await this.settleWorkflow(workflowId, ttlMs, index?.plan.at, {
      ok: false,
      state: 'revoked',
      error: { name: 'TaskRevokedError', message: `workflow ${workflowId} was revoked`, code: 'CONVEYOR_TASK_REVOKED' },
    })
  }

  /** The plan of a workflow, cached per process (plans never change). */
  plan(workflowId: string): Promise<PlanIndex | undefined> {
    let cached = this.plans.get(workflowId)
    if (cached === undefined) {
      cached = this.store()
        .getPlan(workflowId)
        .then((json) => (json === undefined ? undefined : PlanIndex.parse(workflowId, json)))
      // A miss or a failed read is not cached: the next member asks again.
      cached.then(
        (found) => found ?? this.plans.delete(workflowId),
        () => this.plans.delete(workflowId),
      )
      this.remember(workflowId, cached)
    }
    return cached
  }

  private remember(workflowId: string, plan: Promise<PlanIndex | undefined>): void {
    this.plans.set(workflowId, plan)
    if (this.plans.size > PLAN_CACHE_SIZE) this.plans.delete(this.plans.keys().next().value as string)
  }

  /** Node `n` ended with `outcome`: move its parent on. */
  private async complete(index: PlanIndex, n: number, outcome: Outcome): Promise<void> {
    const link = index.linkOf(n)
    if (link === undefined) return this.settleWorkflow(index.id, index.plan.ttlMs, index.plan.at, outcome)
    if (link.parent.t === 'chain') return this.chainStep(index, link, outcome)
    return this.groupMember(index, link, outcome)
  }

  private async chainStep(index: PlanIndex, link: Link, outcome: Outcome): Promise<void> {
    const parent = link.parent as Extract<PlanNode, { t: 'chain' }>
    const next = parent.steps[link.index + 1]
    // A failed step fails the chain: the steps after it never run.
    if (!outcome.ok || next === undefined) return this.complete(index, parent.n, outcome)
    const envelopes: Envelope[] = []
    const nonce = randomUUID()
    try {
      await this.enter(index, next, outcome.value as JsonValue, envelopes, nonce)
    } catch (error) {
      // The output cannot be the next step's input (its schema refused it): the chain fails here, for good.
      if (!(error instanceof ConveyorError)) throw error
      return this.complete(index, parent.n, { ok: false, state: 'failed', error: toErrorInfo(error) })
    }
    await this.ports.publish(envelopes)
  }

  private async groupMember(index: PlanIndex, link: Link, outcome: Outcome): Promise<void> {
    const parent = link.parent as Extract<PlanNode, { t: 'group' }>
    const store = this.store()
    const groupId = String(parent.n)
    const count = await store.countMember(
      index.id,
      groupId,
      { index: link.index, outcome: JSON.stringify(outcome), failed: !outcome.ok },
      { total: parent.members.length, failFast: parent.ff, ttlMs: index.plan.ttlMs },
    )
    if (count.revoked || !count.pending) return
    const settled =
      count.settled === 'failed'
        ? outcome.ok
          ? await this.firstFailure(index, parent)
          : outcome
        : await this.collect(index, parent)
    await this.complete(index, parent.n, settled)
    await store.release(index.id, groupId)
  }

  private async outcomes(index: PlanIndex, group: Extract<PlanNode, { t: 'group' }>): Promise<(Outcome | undefined)[]> {
    const raw = await this.store().outcomes(index.id, String(group.n), group.members.length)
    return raw.map((json) => (json === undefined ? undefined : (safeJsonParse(json) as Outcome)))
  }

  private async collect(index: PlanIndex, group: Extract<PlanNode, { t: 'group' }>): Promise<Outcome> {
    const outcomes = await this.outcomes(index, group)
    const value = outcomes.map((o) => (group.ff ? (o?.ok ? (o.value ?? null) : null) : (o ?? null)))
    return { ok: true, value }
  }

  private async firstFailure(index: PlanIndex, group: Extract<PlanNode, { t: 'group' }>): Promise<Outcome> {
    const failed = (await this.outcomes(index, group)).find((o) => o !== undefined && !o.ok)
    return failed ?? { ok: false, state: 'failed', error: { name: 'Error', message: 'a group member failed' } }
  }

  /** Build the envelopes that start `node` with `input` into `out`. */
  private async enter(
    index: PlanIndex,
    node: PlanNode,
    input: JsonValue,
    out: Envelope[],
    nonce: string | undefined,
  ): Promise<void> {
    if (node.t === 'chain') return this.enter(index, node.steps[0]!, input, out, nonce)
    if (node.t === 'group') {
      await Promise.all(node.members.map((member) => this.enter(index, member, input, out, nonce)))
      return
    }
    const link = index.linkOf(node.n)
    const headers: Record<string, string> = { [WORKFLOW_HEADER]: index.id }
    if (nonce !== undefined) headers[PUBLISH_HEADER] = nonce
    out.push(
      await this.ports.build(node.task, node.b === 1 ? (node.input ?? null) : input, {
        id: index.runId(node.n),
        ...(node.o.queue !== undefined ? { queue: node.o.queue } : {}),
        ...(node.o.priority !== undefined ? { priority: node.o.priority } : {}),
        rootId: index.id,
        parentId: link === undefined ? index.id : `${index.id}/${link.parent.n}`,
        headers,
      }),
    )
  }

  /** Write the workflow's own record, once: a record already terminal (revoked, failed first) is kept. */
  private async settleWorkflow(workflowId: string, ttlMs: number, at: number | undefined, outcome: Outcome) {
    const results = this.ports.results!
    const existing = await results.get(workflowId)
    if (existing !== undefined && TERMINAL_STATES.has(existing.state)) return
    const now = Date.now()
    const state: TaskState = outcome.ok ? 'succeeded' : outcome.state === 'revoked' ? 'revoked' : 'failed'
    const record: TaskRecord = {
      id: workflowId,
      task: WORKFLOW_TASK,
      queue: '',
      state,
      attempt: 1,
      ...(outcome.ok ? { result: (outcome.value ?? null) as JsonValue } : { error: outcome.error as ErrorInfo }),
      ...(at !== undefined ? { enqueuedAt: at } : {}),
      finishedAt: now,
      updatedAt: now,
    }
    await results.set(record, { ttlMs })
  }
}
