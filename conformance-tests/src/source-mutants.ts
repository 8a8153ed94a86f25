import { cp, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { BrokerTestId } from './ids'

/** One edit of a planted bug: `find` replaced by `replace` in one file of the adapter's own sources. */
export interface SourcePatch {
  /** Path from the package root, e.g. `src/runtime.ts` or `lua/fetch.lua`. */
  readonly file: string
  /** Exact text to replace. It must occur exactly once, so a patch the sources moved away from fails loudly. */
  readonly find: string
  readonly replace: string
}

/**
 * A realistic bug planted in a real adapter, and the suite tests that must catch it. The bug is applied to a copy of
 * the adapter's sources made for the test run (`mutatedCopy`): no mutated code path exists in what users install.
 */
export interface SourceMutant {
  readonly name: string
  /** The bug, as a reviewer would describe it. */
  readonly bug: string
  readonly patches: readonly SourcePatch[]
  /** Tests that must fail against the mutant (each one alone is enough to reject it). */
  readonly mustFail: readonly BrokerTestId[]
}

/** A patched copy of an adapter's sources. */
export interface MutatedCopy {
  /** Where the copy lives (inside the package, so its imports resolve like the original's). */
  readonly dir: string
  /** Import a module of the copy, e.g. `src/index.ts` (vitest transforms it like the original). */
  load<T>(entry: string): Promise<T>
  /** Remove the copy. */
  dispose(): Promise<void>
}

let copies = 0

/** Apply `patches` to `source` (the text of `file`), checking each `find` occurs exactly once. */
export function applyPatches(file: string, source: string, patches: readonly SourcePatch[]): string {
  let text = source
  for (const patch of patches) {
    const at = text.indexOf(patch.find)
    if (at < 0 || text.indexOf(patch.find, at + 1) >= 0) {
      const found = at < 0 ? 'not found' : 'found more than once'
      throw new Error(`[conveyor] [conformance] mutant patch for ${file} ${found}: ${JSON.stringify(patch.find)}`)
    }
    text = text.slice(0, at) + patch.replace + text.slice(at + patch.find.length)
  }
  return text
}

/**
 * Copy `dirs` (e.g. `['src', 'lua']`) of the package at `packageRoot` into `<packageRoot>/.mutants/<name>-<pid>-<n>/`
 * and apply the mutant's patches there. The copy sits beside the original, one level deeper, so bare imports
 * (`ioredis`, `@conveyor/core`) resolve exactly as the original's do; `.mutants/` is ignored by git and tooling.
 */
export async function mutatedCopy(
  packageRoot: string,
  dirs: readonly string[],
  mutant: Pick<SourceMutant, 'name' | 'patches'>,
): Promise<MutatedCopy> {
  copies += 1
  const dir = join(packageRoot, '.mutants', `${mutant.name}-${process.pid}-${copies}`)
  await rm(dir, { recursive: true, force: true })
  for (const sub of dirs) await cp(join(packageRoot, sub), join(dir, sub), { recursive: true })
  const byFile = new Map<string, SourcePatch[]>()
  for (const patch of mutant.patches) byFile.set(patch.file, [...(byFile.get(patch.file) ?? []), patch])
  for (const [file, patches] of byFile) {
    const path = join(dir, file)
    await writeFile(path, applyPatches(file, await readFile(path, 'utf8'), patches))
  }
  return {
    dir,
    load: <T>(entry: string) => import(/* @vite-ignore */ join(dir, entry)) as Promise<T>,
    dispose: () => rm(dir, { recursive: true, force: true }),
  }
}

/**
 * Problems with how `markdown` lists `mutants`: each needs a table row `| \`name\` | bug | \`killer\`, … |` naming
 * exactly its `mustFail` tests. Empty when the docs match.
 */
export function mutantDocProblems(markdown: string, mutants: readonly SourceMutant[]): string[] {
  const problems: string[] = []
  const lines = markdown.split('\n')
  for (const mutant of mutants) {
    const row = lines.find((line) => line.startsWith(`| \`${mutant.name}\` |`))
    if (row === undefined) {
      problems.push(`${mutant.name}: no row`)
      continue
    }
    const killers = [...(row.split('|').at(-2) ?? '').matchAll(/`([a-z-]+\.[a-z-]+)`/g)].map((m) => m[1])
    if (killers.join(',') !== mutant.mustFail.join(',')) {
      problems.push(`${mutant.name}: the docs list ${killers.join(', ')}; the mutant ${mutant.mustFail.join(', ')}`)
    }
  }
  return problems
}
