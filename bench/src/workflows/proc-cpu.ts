import { readdirSync, readFileSync } from 'node:fs'

/** Clock ticks per second of /proc's utime and stime (USER_HZ: 100 on every Linux the bench runs on). */
const USER_HZ = 100

/**
 * CPU seconds (user + system) used so far by `pid` and every live descendant, from /proc: a measure of work that
 * does not stretch when the shared machine is loaded, unlike wall time. Descendants that already exited are missed
 * (a Celery prefork child replaced mid-run); 0 where /proc is not there.
 */
export function treeCpuSeconds(pid: number): number {
  let entries: string[]
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name))
  } catch {
    return 0
  }
  const parent = new Map<number, number>()
  const ticks = new Map<number, number>()
  for (const name of entries) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      // After the command name (in parentheses, which may hold spaces): state ppid … utime(14) stime(15).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      parent.set(Number(name), Number(fields[1]))
      ticks.set(Number(name), Number(fields[11]) + Number(fields[12]))
    } catch {
      // exited while listed
    }
  }
  let total = 0
  for (const [candidate, used] of ticks) {
    let at: number | undefined = candidate
    while (at !== undefined && at > 1 && at !== pid) at = parent.get(at)
    if (at === pid) total += used
  }
  return total / USER_HZ
}
