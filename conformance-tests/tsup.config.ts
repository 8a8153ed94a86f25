import { packageBuild } from '../tsup.config.base'

// The library and the `conveyor-conformance` bin. The CLI finds the built suite next to it (dist/index.js) and
// hands it to vitest, so both entries ship in one dist folder.
export default packageBuild({ entry: ['src/index.ts', 'src/cli.ts'] })
