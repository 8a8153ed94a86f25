import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

// Tests run against the TypeScript sources of the workspace packages, so no build is needed first.
const sources: Record<string, string> = {
  '@conveyor/core': here('./packages/core/src/index.ts'),
  '@conveyor/core/adapter': here('./packages/core/src/adapter.ts'),
  '@conveyor/redis': here('./adapters/redis/src/index.ts'),
  '@conveyor/rabbitmq': here('./adapters/rabbitmq/src/index.ts'),
  '@conveyor/rabbitmq/testing': here('./adapters/rabbitmq/src/testing.ts'),
  '@conveyor/conformance': here('./conformance-tests/src/index.ts'),
  '@conveyor/cli': here('./packages/cli/src/index.ts'),
  '@conveyor/celery': here('./packages/celery/src/index.ts'),
  '@conveyor/otel': here('./packages/otel/src/index.ts'),
  '@conveyor/dashboard': here('./packages/dashboard/src/index.ts'),
  '@conveyor/test-support': here('./packages/test-support/src/index.ts'),
}

export default defineConfig({
  resolve: {
    alias: Object.entries(sources).map(([find, replacement]) => ({
      find: new RegExp(`^${find.replace('/', '\\/')}$`),
      replacement,
    })),
  },
  test: {
    include: ['**/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    pool: 'forks',
    // Most tests wait on brokers, timers and child processes, not on the CPU: run several files at once even on two
    // cores (each test namespaces its keys and queues, so files never share state).
    maxWorkers: 4,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
})
