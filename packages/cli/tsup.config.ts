import { packageBuild } from '../../tsup.config.base'

// Optional at run time: tsx loads TypeScript app modules; the adapters serve `--broker <url>` without an app module.
const external = ['tsx', 'tsx/esm/api', '@conveyor/redis', '@conveyor/rabbitmq', '@conveyor/dashboard']

export default [
  // The programmatic API, ESM + CJS (import.meta.url is shimmed for the CJS build).
  packageBuild({ external, shims: true }),
  // The executable and the worker child it forks, side by side in dist/ (bin.ts keeps its shebang).
  packageBuild({
    entry: { bin: 'src/bin.ts', 'worker-child': 'src/worker-child.ts' },
    format: ['esm'],
    dts: false,
    clean: false,
    external,
  }),
]
