import type { ErrorInfo } from '../contracts/dead-letter'
import type { TaskState } from '../contracts/result-backend'
import { InvalidOptionsError } from '../errors/invalid-options-error'
import type { TaskDeclaration } from '../task/task'

/** Where one workflow member is published, overriding its task's options and the app's routes. */
export interface StepOptions {
  readonly queue?: string
  /** 0–9, higher runs first. */
  readonly priority?: number
}

/** The untyped shape of a workflow piece, what is stored in the plan. */
export type FlowNode =
  | {
      readonly kind: 'task'
      readonly task: string
      /** Bound steps run with `input`; unbound ones with the output of the step before them. */
      readonly bound: boolean
      readonly input?: unknown
      readonly options?: StepOptions
      /** The declaration it came from (not stored): lets the producer learn the task's queue and priority. */
      readonly declaration?: TaskDeclaration<unknown, unknown>
    }
  | { readonly kind: 'chain'; readonly steps: readonly FlowNode[] }
  | { readonly kind: 'group'; readonly members: readonly FlowNode[]; readonly failFast: boolean }

/**
 * A piece of a workflow that takes `In` from the step before it and produces `Out`: a task with its input
 * (`task.with(input)`), a `chain`, a `group` or a `chord`. A bound piece ignores what comes before it (`In` is
 * `unknown`). Only `node` exists at run time; the types are phantoms.
 */
export interface Flow<In, Out> {
  readonly node: FlowNode
  /** Never set: carries `In` (contravariant, as a parameter) and `Out` for the compiler. */
  readonly types?: { readonly accepts: (input: In) => void; readonly output: Out }
}

/** How a member ended, as a callback under `failure: 'collect'` receives it. */
export type Settled<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly state: TaskState; readonly error: ErrorInfo }

/** What a group does when a member ends failed, dead-lettered, expired or revoked. */
export type FailurePolicy = 'fail-fast' | 'collect'

// biome-ignore lint/suspicious/noExplicitAny: the widest step type, only used as a constraint
type AnyStep = Flow<any, any> | TaskDeclaration<any, any>

/** What a step needs from the step before it. */
export type StepInput<S> =
  S extends Flow<infer I, unknown> ? I : S extends TaskDeclaration<infer I, unknown> ? I : never
/** What a step produces. */
export type StepOutput<S> = S extends Flow<never, infer O> ? O : S extends TaskDeclaration<unknown, infer O> ? O : never

/** Shown by the compiler where a step cannot take what the step before it produces. */
export interface StepInputMismatch<Produced, Wanted> {
  readonly 'this step does not accept the previous step output': {
    readonly produced: Produced
    readonly wanted: Wanted
  }
}

type Accepts<S, Value> = [Value] extends [StepInput<S>] ? unknown : StepInputMismatch<Value, StepInput<S>>

type CheckChain<S extends readonly unknown[], Previous, First extends boolean> = S extends readonly [
  infer Head,
  ...infer Tail,
]
  ? [First extends true ? unknown : Accepts<Head, Previous>, ...CheckChain<Tail, StepOutput<Head>, false>]
  : unknown[]

type Last<S extends readonly unknown[]> = S extends readonly [...unknown[], infer L] ? L : never

/** What every unbound member of a group needs: the intersection of their inputs. */
type GroupInput<S extends readonly unknown[]> = {
  [K in keyof S]: (input: StepInput<S[K]>) => void
}[number] extends (input: infer I) => void
  ? I
  : never

type Outputs<S extends readonly unknown[]> = { -readonly [K in keyof S]: StepOutput<S[K]> }
type SettledAll<T> = T extends readonly unknown[] ? { -readonly [K in keyof T]: Settled<T[K]> } : never

export function nodeOf(step: AnyStep): FlowNode {
  if (typeof step === 'object' && step !== null && 'node' in step) return step.node
  if (typeof step === 'object' && step !== null && typeof step.name === 'string') {
    return { kind: 'task', task: step.name, bound: false, declaration: step as TaskDeclaration<unknown, unknown> }
  }
  throw new InvalidOptionsError('a workflow step must be a task, task.with(input), chain(…), group([…]) or chord(…)')
}

/** A task with its input: the step runs with `input`, whatever the step before it produced. */
export function bound<Input, Output>(
  task: TaskDeclaration<Input, Output>,
  input: Input,
  options?: StepOptions,
): Flow<unknown, Output> {
  const declaration = task as TaskDeclaration<unknown, unknown>
  return { node: { kind: 'task', task: task.name, bound: true, input, declaration, ...(options ? { options } : {}) } }
}

/**
 * Steps that run one after the other, each with the output of the one before (unless bound with `.with`). A step
 * whose input type does not accept the previous output is a compile error. The chain fails at the first step that
 * fails; the steps after it do not run.
 */
export function chain<const S extends readonly [AnyStep, AnyStep, ...AnyStep[]]>(
  ...steps: S & CheckChain<S, never, true>
): Flow<StepInput<S[0]>, StepOutput<Last<S>>> {
  return { node: { kind: 'chain', steps: (steps as readonly AnyStep[]).map(nodeOf) } }
}

/**
 * Members that run in parallel; the group's output is every member's output, in order. Unbound members each get
 * the output of the step before the group. `failure: 'fail-fast'` (the default) fails the group at the first
 * failed member; `collect` waits for all and outputs each member's `Settled` outcome.
 */
export function group<const S extends readonly AnyStep[]>(
  members: S,
  options?: { readonly failure?: 'fail-fast' },
): Flow<GroupInput<S>, Outputs<S>>
export function group<const S extends readonly AnyStep[]>(
  members: S,
  options: { readonly failure: 'collect' },
): Flow<GroupInput<S>, SettledAll<Outputs<S>>>
export function group(
  members: readonly AnyStep[],
  options: { readonly failure?: FailurePolicy } = {},
): Flow<never, unknown[]> {
  if (!Array.isArray(members) || members.length === 0) {
    throw new InvalidOptionsError('group([...]) needs at least one member')
  }
  return { node: { kind: 'group', members: members.map(nodeOf), failFast: options.failure !== 'collect' } }
}

/**
 * A group and a callback that runs once, after every member finished, with their outputs in order. With
 * `failure: 'collect'` the callback runs even when members failed, with each member's `Settled` outcome; with
 * `fail-fast` (the default) the first failed member fails the chord and the callback never runs.
 */
export function chord<G extends Flow<never, readonly unknown[]>, C extends AnyStep>(
  members: G,
  callback: C & Accepts<C, StepOutput<G>>,
  options?: { readonly failure?: 'fail-fast' },
): Flow<StepInput<G>, StepOutput<C>>
export function chord<G extends Flow<never, readonly unknown[]>, C extends AnyStep>(
  members: G,
  callback: C & Accepts<C, SettledAll<StepOutput<G>>>,
  options: { readonly failure: 'collect' },
): Flow<StepInput<G>, StepOutput<C>>
export function chord(
  members: AnyStep,
  callback: AnyStep,
  options: { readonly failure?: FailurePolicy } = {},
): Flow<never, unknown> {
  const head = nodeOf(members)
  if (head.kind !== 'group') throw new InvalidOptionsError('chord(group, callback): the first argument must be a group')
  const policy = options.failure === undefined ? head : { ...head, failFast: options.failure !== 'collect' }
  return { node: { kind: 'chain', steps: [policy, nodeOf(callback)] } }
}
