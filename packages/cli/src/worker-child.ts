// The process `conveyor worker` forks for each worker of a pool (see supervisor/child.ts).
import { childMain } from './supervisor/child'

childMain()
