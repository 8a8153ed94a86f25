import { randomUUID } from 'node:crypto'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build, type Plugin } from 'esbuild'

/** The CLI and the fixture app modules as plain JS: what the supervisor tests start instead of sources under tsx. */
export interface Bundle {
  readonly dir: string
  readonly bin: string
  readonly apps: Readonly<Record<string, string>>
  remove(): Promise<void>
}

/**
 * Bundle the real bin, its worker child and the fixture apps from the sources, once per test file (~0.5 s).
 *
 * Why: every `conveyor worker` test starts a supervisor and its children, and under tsx each start transpiles and
 * resolves hundreds of modules — about a CPU-second each, which on a loaded 2-core CI machine was most of these
 * files' time. Plain JS starts in a fraction of that. One build with code splitting, so the bin, the child and the
 * app module share one copy of core (as one installed copy would). Libraries stay external (resolved from the
 * repo's node_modules: the bundle lives under it); workspace packages are bundled from source, and their
 * `import.meta.url` is pinned to the source file so the Redis adapter still finds its `lua/` directory. The
 * CLI's own files keep theirs: the supervisor finds `worker-child.js` beside the bundled bin.
 */
export async function bundleCli(root: string, apps: Readonly<Record<string, string>>): Promise<Bundle> {
  const dir = join(root, 'node_modules', '.cache', 'conveyor-cli-test', randomUUID().slice(0, 8))
  const cliSrc = join(root, 'packages', 'cli', 'src')
  const workspace: Plugin = {
    name: 'workspace-sources',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) =>
        args.path.startsWith('@conveyor/') ? undefined : { path: args.path, external: true },
      )
      b.onLoad({ filter: /\.ts$/ }, async (args) => {
        const source = await readFile(args.path, 'utf8')
        if (args.path.startsWith(cliSrc) || !source.includes('import.meta.url'))
          return { contents: source, loader: 'ts' }
        const url = JSON.stringify(pathToFileURL(args.path).href)
        return { contents: source.replaceAll('import.meta.url', url), loader: 'ts' }
      })
    },
  }
  // .js (the supervisor looks for worker-child.js beside itself), as ES modules whatever the root package says.
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n')
  await build({
    entryPoints: {
      bin: join(cliSrc, 'bin.ts'),
      'worker-child': join(cliSrc, 'worker-child.ts'),
      ...Object.fromEntries(Object.entries(apps).map(([name, path]) => [`app-${name}`, path])),
    },
    outdir: dir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    conditions: ['conveyor-source'],
    plugins: [workspace],
    logLevel: 'error',
  })
  return {
    dir,
    bin: join(dir, 'bin.js'),
    apps: Object.fromEntries(Object.keys(apps).map((name) => [name, join(dir, `app-${name}.js`)])),
    remove: () => rm(dir, { recursive: true, force: true }),
  }
}
