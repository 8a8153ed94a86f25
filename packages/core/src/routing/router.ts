import { checkPriority, checkQueueName } from '../app/task-settings'
import { InvalidOptionsError } from '../errors/invalid-options-error'

/** Which task names a route applies to: an exact name, a glob (`*` any run of characters, `?` one), a RegExp, or a predicate. */
export type RouteMatcher = string | RegExp | ((task: string, input: unknown) => boolean)

/** One routing rule. Rules are tried in order; the first match wins. */
export interface Route {
  readonly match: RouteMatcher
  readonly queue?: string
  readonly priority?: number
}

/** Where a task goes, as the rules say. */
export interface RouteTarget {
  readonly queue?: string
  readonly priority?: number
}

function globToRegExp(glob: string): RegExp {
  const source = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.')
  return new RegExp(`^${source}$`)
}

function compile(matcher: RouteMatcher): (task: string, input: unknown) => boolean {
  if (typeof matcher === 'function') return matcher
  if (matcher instanceof RegExp) {
    // `g` and `y` make `test` stateful (it resumes at `lastIndex`): the same name would route differently each time.
    const re = /[gy]/.test(matcher.flags) ? new RegExp(matcher.source, matcher.flags.replace(/[gy]/g, '')) : matcher
    return (task) => re.test(task)
  }
  if (/[*?]/.test(matcher)) {
    const re = globToRegExp(matcher)
    return (task) => re.test(task)
  }
  return (task) => task === matcher
}

/** Compile routing rules once; the returned function is called per enqueue. */
export function createRouter(routes: readonly Route[] = []): (task: string, input: unknown) => RouteTarget | undefined {
  const compiled = routes.map((route, i) => {
    if (route.queue === undefined && route.priority === undefined) {
      throw new InvalidOptionsError(`routes[${i}] sets neither queue nor priority; give it at least one`)
    }
    // Checked here as an enqueue's own are: a routed priority of 10 used to reach the broker (a TypeError from the
    // memory broker, no code), and a routed queue name enqueue would refuse went through.
    checkQueueName(`routes[${i}]`, route.queue)
    checkPriority(`routes[${i}]`, route.priority)
    return { test: compile(route.match), route }
  })
  // Without predicates the answer depends on the name alone: remember it per name.
  const cacheable = compiled.every(({ route }) => typeof route.match !== 'function')
  const byName = new Map<string, RouteTarget | undefined>()
  return (task, input) => {
    if (cacheable && byName.has(task)) return byName.get(task)
    const found = compiled.find(({ test }) => test(task, input))?.route
    if (cacheable) byName.set(task, found)
    return found
  }
}
