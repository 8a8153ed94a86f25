import type { JsonValue } from '../contracts/json'
import { safeJsonParse } from '../envelope/safe-json'
import { SerializationError } from '../errors/serialization-error'
import type { FlowNode, StepOptions } from './flow'

/**
 * A workflow as stored: the flow's tree with every node numbered in pre-order. A task node's run id is
 * `<workflow id>.<n>`, so ids are known before anything runs and any process can find a node from an envelope id.
 * Short keys: a 10,000-member group is one plan of a few hundred kilobytes, read once per worker process.
 */
export type PlanNode =
  | {
      readonly t: 'task'
      readonly n: number
      readonly task: string
      /** Present (possibly null) when the step is bound. */
      readonly input?: JsonValue
      readonly b?: 1
      /** Where it is published: the step's options, else the task's own queue and priority or the app's routes. */
      readonly o: StepOptions
    }
  | { readonly t: 'chain'; readonly n: number; readonly steps: readonly PlanNode[] }
  | { readonly t: 'group'; readonly n: number; readonly members: readonly PlanNode[]; readonly ff: boolean }

export interface Plan {
  readonly v: 1
  readonly root: PlanNode
  /** Epoch ms when the workflow was enqueued. */
  readonly at: number
  /** How long the workflow's state and records are kept. */
  readonly ttlMs: number
}

/** Where a task step goes when its step options do not say (resolved by the producer, which knows the task). */
export type Placement = (node: Extract<FlowNode, { kind: 'task' }>) => StepOptions

export function compilePlan(root: FlowNode, at: number, ttlMs: number, place: Placement): Plan {
  let next = 0
  const walk = (node: FlowNode): PlanNode => {
    const n = next++
    switch (node.kind) {
      case 'task': {
        // Stored resolved: a worker publishing this step later may not know the task (another team's queue).
        const o = { ...place(node), ...node.options }
        if (!node.bound) return { t: 'task', n, task: node.task, o }
        const input = node.input === undefined ? null : (node.input as JsonValue)
        return { t: 'task', n, task: node.task, input, b: 1, o }
      }
      case 'chain':
        return { t: 'chain', n, steps: node.steps.map(walk) }
      case 'group':
        return { t: 'group', n, members: node.members.map(walk), ff: node.failFast }
    }
  }
  return { v: 1, root: walk(root), at, ttlMs }
}

/** Where a node sits: its parent and its position there. */
export interface Link {
  readonly parent: Extract<PlanNode, { t: 'chain' | 'group' }>
  readonly index: number
}

/** A plan with lookups by node number, built once per workflow per process. */
export class PlanIndex {
  private readonly nodes: PlanNode[] = []
  private readonly links: (Link | undefined)[] = []

  constructor(
    readonly id: string,
    readonly plan: Plan,
  ) {
    const visit = (node: PlanNode, link: Link | undefined) => {
      this.nodes[node.n] = node
      this.links[node.n] = link
      const children = node.t === 'chain' ? node.steps : node.t === 'group' ? node.members : []
      for (const [index, child] of children.entries()) visit(child, { parent: node as Link['parent'], index })
    }
    visit(plan.root, undefined)
  }

  static parse(id: string, json: string): PlanIndex {
    const plan = safeJsonParse(json) as Plan
    if (plan?.v !== 1 || typeof plan.root !== 'object') {
      throw new SerializationError(`[conveyor] workflow ${id}: stored plan has an unknown format`)
    }
    return new PlanIndex(id, plan)
  }

  /** The run id of task node `n`. */
  runId(n: number): string {
    return `${this.id}.${n}`
  }

  /** The task node a run id names, if it belongs to this workflow. */
  taskOf(runId: string): Extract<PlanNode, { t: 'task' }> | undefined {
    if (!runId.startsWith(`${this.id}.`)) return undefined
    const node = this.nodes[Number(runId.slice(this.id.length + 1))]
    return node?.t === 'task' ? node : undefined
  }

  linkOf(n: number): Link | undefined {
    return this.links[n]
  }

  /** Every task node, in plan order. */
  tasks(): Extract<PlanNode, { t: 'task' }>[] {
    return this.nodes.filter((node): node is Extract<PlanNode, { t: 'task' }> => node?.t === 'task')
  }
}
