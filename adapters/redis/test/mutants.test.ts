import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { runSourceMutants } from '@conveyor/conformance'
import { deletePrefix, REDIS_URL, rawRedis } from '@conveyor/test-support'
import * as shipped from '../src/index'
import { rawInspector } from './helpers'
import { redisMutants } from './mutants/index'

// Proof that the suite catches real bugs in this adapter: each mutant is a copy of the adapter's sources with one
// planted bug; the tests named in its `mustFail` must all fail against it, and pass against the adapter as shipped.
runSourceMutants<typeof shipped>({
  name: 'redis',
  packageRoot: fileURLToPath(new URL('..', import.meta.url)),
  dirs: ['src', 'lua'],
  entry: 'src/index.ts',
  shipped,
  mutants: redisMutants,
  docs: {
    path: 'docs/conformance-mutants.md',
    text: readFileSync(new URL('../../../docs/conformance-mutants.md', import.meta.url), 'utf8'),
  },
  suiteOptions: (adapter, name) => ({
    name,
    createBroker: ({ namespace }) =>
      adapter.createRedisBroker({ url: REDIS_URL, prefix: namespace, leaseMs: 1000, logger: false }),
    inspect: async ({ namespace }) => {
      const raw = await rawRedis()
      return rawInspector(raw, namespace, async () => void raw.disconnect())
    },
    cleanup: async ({ namespace }) => {
      const raw = await rawRedis()
      await deletePrefix(raw, namespace)
      raw.disconnect()
    },
  }),
})
