/**
 * The conformance suite every broker adapter runs.
 *
 * @packageDocumentation
 * @module @conveyor/conformance
 */
export {
  type BrokerSuiteOptions,
  brokerTests,
  checkBrokerConformance,
  runAckTests,
  runBadInputTests,
  runBatchTests,
  runBrokerConformance,
  runConcurrencyTests,
  runCrashTests,
  runDeadLetterTests,
  runDelayTests,
  runEnvelopeTests,
  runLifecycleTests,
  runPathsTests,
  runPriorityTests,
  runRetryTests,
  runSettleTests,
  runTimingTests,
} from './broker-suite'
export { type CapabilityRow, capabilityMatrix } from './capability-matrix'
export type { BrokerTest, BrokerTestTable, ConformanceResult } from './define'
export { readAllEvents } from './events-harness'
export {
  type EventStreamSuiteOptions,
  type EventStreamTestId,
  eventStreamTestIds,
  runEventStreamConformance,
} from './events-suite'
export { ConformanceFailure } from './harness/failure'
export { TIMING } from './harness/harness'
export {
  type AckTestId,
  type BadInputTestId,
  type BatchTestId,
  type BrokerArea,
  type BrokerTestId,
  brokerTestIds,
  brokerTestIdsByArea,
  type ConcurrencyTestId,
  type ConformanceTestId,
  type CrashTestId,
  conformanceTestIds,
  type DeadLetterTestId,
  type DelayTestId,
  type EnvelopeTestId,
  type LifecycleTestId,
  type PathsTestId,
  type PriorityTestId,
  type ResultBackendTestId,
  type RetryTestId,
  resultBackendTestIds,
  type SettleTestId,
  type TimingTestId,
} from './ids'
export { runSourceMutants, type SourceMutantsOptions } from './mutant-runner'
export type {
  BrokerConformanceOptions,
  BrokerContext,
  BrokerInspector,
  NamedConfiguration,
  ResultBackendConformanceOptions,
} from './options'
export { type ResultBackendSuiteOptions, runResultBackendConformance } from './results-suite'
export {
  applyPatches,
  type MutatedCopy,
  mutantDocProblems,
  mutatedCopy,
  type SourceMutant,
  type SourcePatch,
} from './source-mutants'
export { runWorkflowScenarios, type WorkflowScenarioOptions } from './workflow-scenarios'
