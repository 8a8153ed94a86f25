import { packageBuild } from '../../tsup.config.base'

// Two entries sharing one copy of every module (split chunks, in both formats): an error class thrown by code reached
// through `@conveyor/core/adapter` must be the one `instanceof` checks in `@conveyor/core` know.
export default packageBuild({ entry: ['src/index.ts', 'src/adapter.ts'], splitting: true })
