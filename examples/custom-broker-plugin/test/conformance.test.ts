import { runBrokerConformance } from '@conveyor/conformance'
import { createPostgresBroker, dropPostgresNamespace } from '../src/index'
import { inspectPostgres, pool, url } from './support'

runBrokerConformance({
  name: 'postgres',
  createBroker: ({ namespace }) =>
    createPostgresBroker({ connectionString: url, namespace, leaseMs: 1000, pollMs: 50 }),
  inspect: ({ namespace }) => inspectPostgres(namespace),
  cleanup: ({ namespace }) => dropPostgresNamespace(pool, namespace),
})
