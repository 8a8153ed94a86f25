/**
 * Summarise a V8 `.cpuprofile` (from `node --cpu-prof`): self time per function, heaviest first, and self time per
 * package, so a missed target can be pinned on the frames that limit it.
 *
 * tsx src/tools/cpu-top.ts <file.cpuprofile> [top=30]
 */
import { readFileSync } from 'node:fs'

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}
interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
}
interface Profile {
  readonly nodes: readonly ProfileNode[]
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

const [file, topArg] = process.argv.slice(2)
if (!file) {
  console.error('usage: tsx src/tools/cpu-top.ts <file.cpuprofile> [top]')
  process.exit(1)
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const self = new Map<number, number>()
profile.samples.forEach((id, i) => {
  self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
})
const total = [...self.values()].reduce((a, b) => a + b, 0)

/** Where a frame comes from: a workspace package, a dependency, node internals, or V8 itself. */
function origin(url: string): string {
  if (url === '') return '(v8/native)'
  if (url.startsWith('node:')) return 'node internals'
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (dep?.[1]) return dep[1]
  const ws = /\/(packages|adapters)\/([^/]+)\//.exec(url)
  if (ws) return `@conveyor/${ws[2]}`
  if (url.includes('/bench/')) return 'bench harness'
  return url
}

const frames = new Map<string, number>()
const origins = new Map<string, number>()
for (const [id, us] of self) {
  const node = byId.get(id)
  if (!node) continue
  const { functionName, url, lineNumber } = node.callFrame
  const where = url ? `${url.replace(/^.*\/(node_modules|packages|adapters|bench)\//, '$1/')}:${lineNumber + 1}` : ''
  const key = `${functionName || '(anonymous)'} ${where}`.trim()
  frames.set(key, (frames.get(key) ?? 0) + us)
  origins.set(origin(url), (origins.get(origin(url)) ?? 0) + us)
}
const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)}%`
console.log(`total sampled: ${(total / 1e6).toFixed(2)} s\n\nself time by origin:`)
for (const [name, us] of [...origins].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${pct(us)}  ${name}`)
console.log('\nheaviest frames (self time):')
for (const [name, us] of [...frames].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 30))) {
  console.log(`${pct(us)}  ${name}`)
}
