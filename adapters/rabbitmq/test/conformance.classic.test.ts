import { runBrokerConformance } from '@conveyor/conformance'
import { conformanceHooks } from './helpers'

runBrokerConformance({ name: 'rabbitmq (classic)', ...conformanceHooks('classic') })
