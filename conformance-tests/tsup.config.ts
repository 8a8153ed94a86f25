import { packageBuild } from '../tsup.config.base'

// The library and the `conveyor-conformance` bin. The CLI finds the built suite next to it (dist/index.js) and
// hands it to vitest, so both entries ship in one dist folder.
// ESM only: vitest, which the suite is written in, cannot be loaded with require().
export default packageBuild({ entry: ['src/index.ts', 'src/cli.ts'], format: ['esm'] })
