export {
  ALERTS_LEASE,
  type AlertStatus,
  type Alerts,
  type AlertsConfig,
  type AlertsOptions,
  createAlerts,
} from './evaluator'
export {
  type AlertInputs,
  appInputs,
  localOutcomes,
  type OutcomeFeed,
  streamOutcomes,
  type TaskOutcome,
} from './inputs'
export { alertText, logNotifier, type WebhookNotifier, type WebhookNotifierOptions, webhookNotifier } from './notifiers'
export { validateRules } from './probes'
export type {
  AlertNotification,
  AlertRule,
  AlertState,
  BacklogRule,
  CustomRule,
  DeadLettersGrowingRule,
  FailureRateRule,
  MissedTickRule,
  Notifier,
  NoWorkerRule,
  OldestWaitingRule,
} from './rules'
export { AlertTracker, type Transition } from './state'
