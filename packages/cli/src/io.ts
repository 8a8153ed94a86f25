/** Where a command writes and reads; `process` streams by default, captured in tests. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown }
  readonly stderr: { write(text: string): unknown }
  /** Ask a yes/no question; undefined when nobody can answer (stdin is not a terminal). */
  readonly confirm?: (question: string) => Promise<boolean>
  readonly env: Readonly<Record<string, string | undefined>>
  readonly cwd: string
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    ...(process.stdin.isTTY
      ? {
          confirm: async (question: string) => {
            const { createInterface } = await import('node:readline/promises')
            const rl = createInterface({ input: process.stdin, output: process.stderr })
            try {
              return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim())
            } finally {
              rl.close()
            }
          },
        }
      : {}),
  }
}
