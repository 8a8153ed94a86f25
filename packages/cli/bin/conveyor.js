#!/usr/bin/env node
// The `conveyor` command. npm links this file at install time whether or not the package was built (it skips a bin
// whose target is missing, which is what left a fresh clone without `npx conveyor`). Built, the CLI runs in this
// very process, so SIGTERM from systemd or Kubernetes reaches the supervisor directly. In a clone that was not built
// yet it runs the TypeScript sources under tsx in a child, passing SIGTERM and SIGHUP on.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { constants } from 'node:os'
import { fileURLToPath } from 'node:url'

const built = new URL('../dist/bin.js', import.meta.url)
if (existsSync(fileURLToPath(built))) {
  await import(built.href)
} else {
  const source = fileURLToPath(new URL('../src/bin.ts', import.meta.url))
  const args = ['--import', 'tsx', '--conditions=conveyor-source', source, ...process.argv.slice(2)]
  const child = spawn(process.execPath, args, { stdio: 'inherit' })
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal))
  // Ctrl-C reaches the child from the terminal itself; passing it on too would count as a second, hard stop.
  process.on('SIGINT', () => {})
  child.on('exit', (code, signal) => process.exit(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1)))
}
