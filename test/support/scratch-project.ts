import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const run = promisify(execFile)

/** The packages a user installs, in the order the docs name them. */
export const RUNTIME_PACKAGES = ['packages/core', 'adapters/redis', 'adapters/rabbitmq', 'packages/cli'] as const

/**
 * A fresh project outside the repository, as a newcomer has one: its own HOME (the docs write tarballs to
 * `$HOME/conveyor-packages`), `package.json` with `"type": "module"`, and TypeScript set up (typescript, tsx and
 * @types/node linked from the clone, with a NodeNext tsconfig) the way a TypeScript project already has it.
 */
export class ScratchProject {
  readonly root = mkdtempSync(join(tmpdir(), 'conveyor-newcomer-'))
  readonly home = join(this.root, 'home')
  readonly dir = join(this.root, 'my-app')
  readonly env: NodeJS.ProcessEnv
  private readonly running = new Set<ChildProcess>()

  constructor() {
    mkdirSync(join(this.home, 'conveyor-packages'), { recursive: true })
    mkdirSync(this.dir, { recursive: true })
    writeFileSync(
      join(this.dir, 'package.json'),
      `${JSON.stringify({ name: 'my-app', private: true, type: 'module' })}\n`,
    )
    writeFileSync(
      join(this.dir, 'tsconfig.json'),
      `${JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: true,
          noEmit: true,
          types: ['node'],
        },
      })}\n`,
    )
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: this.home, npm_config_cache: npmCache() }
    for (const key of Object.keys(env)) if (key.startsWith('CONVEYOR_') || key.startsWith('VITEST')) delete env[key]
    delete env.NODE_OPTIONS
    this.env = env
  }

  /** Fails with a line saying what to do when the packages have not been built (`npm test` builds them first). */
  static assertBuilt(): void {
    const missing = RUNTIME_PACKAGES.filter((dir) => !existsSync(join(REPO, dir, 'dist', 'index.js')))
    if (missing.length > 0) {
      throw new Error(`not built: ${missing.join(', ')} — run \`npm run build\` first (npm test does)`)
    }
  }

  /** `npm pack` the runtime packages into `$HOME/conveyor-packages` and install the tarballs here. */
  async installPackages(): Promise<void> {
    const out = join(this.home, 'conveyor-packages')
    await run('npm', ['pack', '--pack-destination', out, ...RUNTIME_PACKAGES.flatMap((d) => ['-w', d])], {
      cwd: REPO,
      env: this.env,
    })
    await this.shell(`npm install --no-audit --no-fund --prefer-offline "$HOME"/conveyor-packages/conveyor-*.tgz`)
    this.linkTypeScript()
  }

  /** After every `npm install` (which prunes what it did not install): the project's TypeScript tooling. */
  linkTypeScript(): void {
    mkdirSync(join(this.dir, 'node_modules', '@types'), { recursive: true })
    for (const name of ['typescript', 'tsx', '@types/node']) {
      const link = join(this.dir, 'node_modules', name)
      if (!existsSync(link)) symlinkSync(join(REPO, 'node_modules', name), link, 'dir')
    }
  }

  write(path: string, text: string): string {
    const full = join(this.dir, path)
    mkdirSync(dirname(full), { recursive: true })
    writeFileSync(full, text)
    return full
  }

  /** The type checker over some programs (and what they import), as `tsc --noEmit` would in the project. */
  async typecheck(files: readonly string[]): Promise<void> {
    const config = this.write(
      `tsconfig.${randomUUID().slice(0, 8)}.json`,
      JSON.stringify({ extends: './tsconfig.json', files }),
    )
    try {
      await run(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', config], {
        cwd: this.dir,
        env: this.env,
      })
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string }
      throw new Error(`type errors in ${files.join(', ')}:\n${e.stdout ?? ''}${e.stderr ?? ''}`)
    } finally {
      rmSync(config, { force: true })
    }
  }

  /** Run a TypeScript program with tsx, as `npx tsx file.ts` would. */
  async runTs(file: string, env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<string> {
    return this.exec(process.execPath, [join(REPO, 'node_modules', 'tsx', 'dist', 'cli.mjs'), file], {
      cwd: this.dir,
      env,
      timeoutMs,
    })
  }

  /** Run shell commands with bash (`-e`: the first failing command fails the block). */
  async shell(code: string, options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) {
    return this.exec('bash', ['-e', '-o', 'pipefail', '-c', code], {
      cwd: options.cwd ?? this.dir,
      env: options.env ?? this.env,
      timeoutMs: options.timeoutMs ?? 120_000,
    })
  }

  /**
   * Start a long-running command, wait until its output matches `until`, then SIGTERM its process group (as a
   * service manager's stop would) and wait until every process of it is gone. The caller checks what it printed while
   * stopping (`expect`): the shell and npx in front of the command die of the signal, so their exit status says
   * nothing.
   */
  async runUntil(code: string, until: RegExp, env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<string> {
    const child = spawn('bash', ['-e', '-c', code], { cwd: this.dir, env, detached: true })
    this.running.add(child)
    let output = ''
    // 'close': every process of the group let go of the output, so what they printed while stopping is in `output`.
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    )
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no output matching ${until} within ${timeoutMs} ms:\n${output}`)),
        timeoutMs,
      )
      const onData = (chunk: Buffer) => {
        output += chunk.toString()
        if (until.test(output)) {
          clearTimeout(timer)
          resolve()
        }
      }
      child.stdout.on('data', onData)
      child.stderr.on('data', onData)
      void exited.then(({ code: exitCode }) => {
        clearTimeout(timer)
        reject(new Error(`exited (${exitCode}) before its output matched ${until}:\n${output}`))
      })
    })
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM')
    const { code: exitCode, signal } = await exited
    this.running.delete(child)
    // The shell and npx in front of the command may die of the signal itself; the command must exit 0.
    if (exitCode !== 0 && signal !== 'SIGTERM') {
      throw new Error(`did not stop cleanly on SIGTERM (exit ${exitCode ?? signal}):\n${output}`)
    }
    return output
  }

  private exec(
    command: string,
    args: string[],
    options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
  ): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true })
      this.running.add(child)
      let output = ''
      const collect = (chunk: Buffer) => {
        output += chunk.toString()
      }
      child.stdout.on('data', collect)
      child.stderr.on('data', collect)
      const timer = setTimeout(() => {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
        reject(new Error(`still running after ${options.timeoutMs} ms:\n${output}`))
      }, options.timeoutMs)
      child.on('exit', (code, signal) => {
        clearTimeout(timer)
        this.running.delete(child)
        if (code === 0) resolve(output)
        else reject(new Error(`exit ${code ?? signal}:\n${output}`))
      })
    })
  }

  /** Kill whatever is still running (a failed test's worker) and delete the project. */
  dispose(): void {
    for (const child of this.running) {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
      } catch {}
    }
    rmSync(this.root, { recursive: true, force: true })
  }
}

/** The npm cache of the user running the tests, so a scratch HOME does not download everything again. */
function npmCache(): string {
  return process.env.npm_config_cache ?? join(process.env.HOME ?? tmpdir(), '.npm')
}
