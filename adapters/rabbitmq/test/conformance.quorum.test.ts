import { runBrokerConformance } from '@conveyor/conformance'
import { conformanceHooks } from './helpers'

runBrokerConformance({ name: 'rabbitmq (quorum)', ...conformanceHooks('quorum') })
