import { packageBuild } from '../../tsup.config.base'

// `testing` is its own entry (fault injection for tests); it shares nothing but a registered symbol with the main one.
export default packageBuild({ entry: ['src/index.ts', 'src/testing.ts'] })
