import { packageBuild } from '../../tsup.config.base'

// shims: the CJS build gets a real import.meta.url, which locates lua/ beside dist/.
export default packageBuild({ shims: true })
