import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { runSourceMutants } from '@conveyor/conformance'
import * as shipped from '../src/index'
import { conformanceHooks } from './helpers'
import { rabbitmqMutants } from './mutants/index'

// Proof that the suite catches real bugs in this adapter: each mutant is a copy of the adapter's sources with one
// planted bug; the tests named in its `mustFail` must all fail against it, and pass against the adapter as shipped.
runSourceMutants<typeof shipped>({
  name: 'rabbitmq',
  packageRoot: fileURLToPath(new URL('..', import.meta.url)),
  dirs: ['src'],
  entry: 'src/index.ts',
  shipped,
  mutants: rabbitmqMutants,
  docs: {
    path: 'docs/conformance-mutants.md',
    text: readFileSync(new URL('../../../docs/conformance-mutants.md', import.meta.url), 'utf8'),
  },
  suiteOptions: (adapter, name) => ({
    name,
    // A small size limit, so paths.refused-move-keeps-message runs (it builds messages at the limit).
    ...conformanceHooks('classic', { maxMessageBytes: 64 * 1024 }, adapter.createRabbitMQBroker),
  }),
})
