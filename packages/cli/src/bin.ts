#!/usr/bin/env node
import { redactSecrets } from '@conveyor/core/adapter'
import { runCli } from './cli'

runCli(process.argv.slice(2)).then(
  (code) => {
    // Exit explicitly: a user's app module may leave handles open (timers, pools) after the command is done.
    process.exit(code)
  },
  (error: unknown) => {
    process.stderr.write(`[conveyor] [cli] ${redactSecrets(String((error as Error)?.message ?? error))}\n`)
    process.exit(1)
  },
)
