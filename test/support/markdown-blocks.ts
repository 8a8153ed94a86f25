import { readFileSync } from 'node:fs'

/**
 * How the doc test treats a code block, from an HTML comment just above it (invisible on GitHub and npm):
 *
 * ```md
 * <!-- doctest
 * file: src/app.ts
 * before: import { app } from './app.js'
 * after: await app.close()
 * -->
 * ```
 *
 * - `skip: <reason>` — not run; the reason is printed. Every other `ts` and `sh` block runs.
 * - `file: <path>` — a TypeScript block saved as that module of the scratch project (type-checked, imported by later
 *   blocks), not run on its own; `rerun` then runs the doc's earlier programs again on every broker with it.
 * - `before:` / `after:` — hidden lines around a TypeScript program (a reader's own function, the worker of another
 *   step, closing the app so the program ends). Repeatable.
 * - `serial` — a program that cannot run on the brokers at once (it listens on a fixed port).
 * - `brokers: memory` — which brokers a block runs on (TypeScript default: memory, redis, rabbitmq; shell: once).
 * - `cwd: repo` — a shell block that runs in the repository clone (default: the scratch project).
 * - `given: <command>` — a command of the block that the test's own setup already ran (e.g. `npm run build`).
 * - `until: <regex>` — a long-running command (a worker): wait for its output to match, then SIGTERM; it must exit 0.
 * - `expect: <regex>` — the block's output must match.
 */
export interface DocBlock {
  readonly doc: string
  /** 1-based line of the opening fence. */
  readonly line: number
  readonly lang: string
  readonly code: string
  readonly directive: Directive
}

export interface Directive {
  readonly skip?: string
  readonly file?: string
  readonly rerun: boolean
  readonly serial: boolean
  readonly before: readonly string[]
  readonly after: readonly string[]
  readonly brokers?: readonly string[]
  readonly cwd: 'scratch' | 'repo'
  readonly given: readonly string[]
  readonly until?: RegExp
  readonly expect?: RegExp
}

function parseDirective(text: string | undefined, where: string): Directive {
  const directive = {
    rerun: false,
    serial: false,
    before: [] as string[],
    after: [] as string[],
    cwd: 'scratch' as 'scratch' | 'repo',
    given: [] as string[],
  } as {
    -readonly [K in keyof Directive]: Directive[K] extends readonly string[] ? string[] : Directive[K]
  }
  for (const raw of (text ?? '').split('\n')) {
    const line = raw.trim()
    if (line === '') continue
    if (line === 'rerun' || line === 'serial') {
      directive[line] = true
      continue
    }
    const match = /^([a-z]+):\s?(.*)$/.exec(line)
    const [key, value] = [match?.[1], match?.[2] ?? '']
    if (key === 'skip') directive.skip = value
    else if (key === 'file') directive.file = value
    else if (key === 'before') directive.before.push(value)
    else if (key === 'after') directive.after.push(value)
    else if (key === 'brokers') directive.brokers = value.split(/[\s,]+/).filter(Boolean)
    else if (key === 'cwd' && (value === 'repo' || value === 'scratch')) directive.cwd = value
    else if (key === 'given') directive.given.push(value)
    else if (key === 'until') directive.until = new RegExp(value)
    else if (key === 'expect') directive.expect = new RegExp(value)
    else throw new Error(`${where}: unknown doctest directive line "${line}"`)
  }
  return directive
}

/** The fenced code blocks of a Markdown file, each with the doctest directive written above it (if any). */
export function docBlocks(path: string, doc: string): DocBlock[] {
  const lines = readFileSync(path, 'utf8').split('\n')
  const blocks: DocBlock[] = []
  let pending: { text: string; endLine: number } | undefined
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? ''
    const open = line.indexOf('<!-- doctest')
    if (open === 0) {
      const start = i
      const body: string[] = [line.slice('<!-- doctest'.length)]
      while (!(lines[i] ?? '').includes('-->') && i < lines.length) body.push(lines[++i] ?? '')
      pending = { text: body.join('\n').replace('-->', ''), endLine: i }
      if (start === i) pending.text = pending.text.trim()
      continue
    }
    const fence = /^```(\S*)/.exec(line)
    if (!fence) {
      if (line.trim() !== '') pending = undefined
      continue
    }
    const start = i + 1
    const code: string[] = []
    while (i + 1 < lines.length && !(lines[i + 1] ?? '').startsWith('```')) code.push(lines[++i] ?? '')
    i++
    blocks.push({
      doc,
      line: start,
      lang: fence[1] ?? '',
      code: code.join('\n'),
      directive: parseDirective(pending?.text, `${doc}:${start}`),
    })
    pending = undefined
  }
  return blocks
}
