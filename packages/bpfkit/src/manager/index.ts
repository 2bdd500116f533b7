/**
 * The Manager: objects, attachments, readers, a map registry and a PID
 * filter started and stopped as one unit (Beyla's `pkg/ebpf` tracer manager).
 *
 * @module
 */
export { Manager } from './manager.js';
export { defineReader } from './spec.js';
export type { ManagerState, ManagerAttachOptions, ManagerLinkListing, ManagerProgramListing } from './manager.js';
export type { ManagerSpec, ManagerObject, ManagerAttachment, ManagerReader, ManagerBatchContext, ManagerPidFilter } from './spec.js';
export { ManagerStartError, ManagerStateError, describeStep, describeTarget } from './errors.js';
export type { ManagerStep } from './errors.js';
export { MapRegistry } from './map-registry.js';
export type { RegisteredMap } from './map-registry.js';
export {
  PidFilter,
  pidNamespaceOf,
  resolvePid,
  pidFilterKey,
  PID_FILTER_ALLOW,
  PID_FILTER_BLOCK,
  PID_FILTER_KEY_SIZE,
  PID_NAMESPACE_SIZE,
} from './pid-filter.js';
export type {
  PidFilterMode,
  PidNamespace,
  PidRef,
  PidFilterEntry,
  PidSyncResult,
  ProcessInfo,
  PidWatchOptions,
  PidWatch,
} from './pid-filter.js';
export { formatPrometheus, metricFamilies, registerManagerMetrics } from './metrics.js';
export type { ManagerStats, ManagerProgramStats, ManagerReaderStats, MetricFamily, CollectedMetric, MetricsRegistry } from './metrics.js';
