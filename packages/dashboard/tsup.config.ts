import { packageBuild } from '../../tsup.config.base'
import { buildClient } from './client-build'

export default packageBuild({
  shims: true,
  // The browser client ships inside the package (dist/client), built after tsup cleaned dist/.
  onSuccess: () => buildClient(),
})
