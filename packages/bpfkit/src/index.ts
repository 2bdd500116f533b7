/**
 * bpfkit: eBPF for Node.js. What users import, chosen name by name: the
 * shared interfaces, specs, codecs, kernel enums and errors, the two
 * backends (`openSystem()`, `NativeSystem`, `MockSystem`), object loading,
 * the kernel-only handles (pinned and listed maps and programs), feature
 * probes and bpffs helpers. The building blocks behind them stay in the
 * `@bpfkit/*` packages (see each package's `api/*.api.md` for its surface).
 *
 * @module
 */

// The shared interfaces and specs.
export type {
  System,
  Map,
  Program,
  Link,
  LinkInfo,
  EventReader,
  EventReaderStats,
  EventSource,
  SubscribeOptions,
  BatchForwardOptions,
  RingBufferOptions,
  PerfEventArrayOptions,
  AttachTarget,
  AttachTargetKind,
  InterfaceRef,
  XdpTarget,
  TcTarget,
  TcxTarget,
  TcxAnchor,
  KprobeTarget,
  KprobeMultiTarget,
  UprobeTarget,
  UprobeMultiTarget,
  TracepointTarget,
  RawTracepointTarget,
  TracingTarget,
  LsmTarget,
  PerfEventTarget,
  CgroupTarget,
  SocketFilterTarget,
  ReuseportTarget,
  SockmapTarget,
  FlowDissectorTarget,
  SkLookupTarget,
  NetfilterTarget,
  IterTarget,
  MapSpec,
  MapInfo,
  MapCodecs,
  UpdateFlag,
  Pinning,
  OpenOrCreateOptions,
  BatchOptions,
  BatchStats,
  IterationStats,
  ProgramSpec,
  ProgramInfo,
  TestRunOptions,
  TestRunResult,
  TestRunRule,
  TestRunRunner,
  CollectionSpec,
  CollectionOptions,
  LoadProgress,
  GlobalValue,
  Features,
  KernelVersion,
  Capabilities,
  MapDifference,
  BpfErrorContext,
  ErrnoCode,
} from '@bpfkit/core';
export { Collection, CollectionVariable } from '@bpfkit/core';

// Errors.
export {
  BpfError,
  VerifierError,
  InvalidArgumentError,
  NotSupportedError,
  ClosedError,
  MapMismatchError,
  Errno,
  errnoName,
  errnoDescription,
} from '@bpfkit/core';

// Kernel enums, flags and versions.
export {
  MapType,
  mapTypeName,
  mapTypeFromName,
  mapTypeNames,
  mapTypeSince,
  ProgramType,
  programTypeName,
  programTypeFromName,
  programTypeNames,
  programTypeSince,
  AttachType,
  attachTypeName,
  attachTypeFromName,
  attachTypeNames,
  LinkType,
  linkTypeName,
  linkTypeFromName,
  linkTypeNames,
  linkTypeSince,
  Helper,
  helperName,
  helperFromName,
  helperNames,
  MapFlags,
  ProgramFlags,
  AttachFlags,
  UpdateFlags,
  XdpAction,
  TcAction,
  TestRunFlag,
  testRunRule,
  testRunUnsupported,
  SocketFilter,
  CgroupVerdict,
  parseKernelRelease,
  kernelReleaseAtLeast,
  kernelVersionCode,
} from '@bpfkit/core';
export type {
  MapTypeName,
  ProgramTypeName,
  AttachTypeName,
  LinkTypeName,
  HelperName,
  MapFlag,
  ProgramFlag,
  AttachFlag,
  UpdateFlagValue,
} from '@bpfkit/core';

// Key and value codecs.
export {
  u8,
  u16,
  u32,
  u64,
  s8,
  s16,
  s32,
  s64,
  u64n,
  s64n,
  u16be,
  u32be,
  u64be,
  integerCodec,
  bool,
  bytes,
  raw,
  cstring,
  struct,
  array,
  perCpu,
  noKey,
  ipv4,
  ipv6,
  mac,
  cidr4,
  cidr6,
} from '@bpfkit/core';
export type { Codec, CodecValue, IntegerCodecOptions, ByteOrder, StructFields, StructValue, StructOptions } from '@bpfkit/core';

// Backends.
export { openSystem } from './open-system.js';
export type { OpenSystemOptions } from './open-system.js';
export { NativeSystem } from './native-system.js';
export { MockSystem } from '@bpfkit/mock';

// Objects.
export { loadCollection, loadCollectionAsync } from './collection.js';
export type { LoadCollectionOptions } from './collection.js';
export { CoreRelocationError } from '@bpfkit/elf';
export { readObject, disassemble } from '@bpfkit/elf';
export type { ObjectSpec, ConstantValue, ElfProgramSpec, BtfMapSpec, CoreRelocationReport } from '@bpfkit/elf';
export { vmlinuxBtf, kernelBtfs } from './kernel/kernel-btf.js';
export type { KernelBtf } from '@bpfkit/elf';

// Kernel-only handles: maps and programs by pin, id or listing.
export {
  KernelMap,
  createKernelMap,
  createPerCpuKernelMap,
  openPinnedMap,
  openMapById,
  listMaps,
  openOrCreateMap,
  objectFd,
} from '@bpfkit/maps';
export type { ObjectFdValue, KernelMapOptions } from '@bpfkit/maps';
export {
  KernelProgram,
  loadKernelProgram,
  loadKernelProgramAsync,
  openPinnedProgram,
  openProgramById,
  openProgram,
  listPrograms,
  programInfo,
  programInstructions,
  enableRunStats,
  RunStats,
  KernelLink,
  attachProgram,
  listLinks,
  linkDetails,
  openPinnedLink,
  queryTcx,
  XdpFlags,
  IterLink,
  attachStructOps,
  StructOpsLink,
  PerfEventLinks,
  KprobeEventLink,
  PerfEventAttachment,
} from '@bpfkit/attach';
export type {
  LoadProgramOptions,
  ProgramInstructions,
  LinkDetails,
  TcxHookState,
  StructOpsMap,
  PerfEventLinksInfo,
  KprobeEvent,
} from '@bpfkit/attach';
export { inNetns } from '@bpfkit/syscalls';
export { socketFd } from './socket-fd.js';
export { RingBufferReader, UserRingBuffer, PerfEventArrayReader, PerfRing } from '@bpfkit/perf';
export type { PerfEventArrayStats, InPlaceRecordCallback } from '@bpfkit/perf';

// What this kernel and process can do.
export {
  bpfAccess,
  probeFeature,
  probeFeatures,
  kernelFeatureSupport,
  kernelConfig,
  linuxKernelVersion,
  possibleCpus,
} from '@bpfkit/syscalls';
export type { BpfAccess, FeatureAnswer, KernelFeature, FeatureState, FeatureSupport } from '@bpfkit/syscalls';
export { formatFeatures } from './features/format.js';
export { memlockCharged, raiseMemlockIfNeeded } from './rlimit.js';
export { ensureBpffs, unmountBpffs, bpffsMountPoint } from '@bpfkit/syscalls';
export type { BpffsResult } from '@bpfkit/syscalls';

// Code generation (`bpfkit gen types`) and what generated code calls.
export { generateTypes, generateBtfTypes, generateObjectTypes, skeletonName } from './gen/index.js';
export type { GenerateTypesOptions } from './gen/index.js';
export { f32, f64, f32be, f64be, wideInteger, layoutCodec, openSkeleton, BITFIELD_SIGNED, BITFIELD_BOOL } from './gen/runtime.js';
export type {
  WideIntegerOptions,
  LayoutMember,
  LayoutOptions,
  TypedVariable,
  SkeletonLayout,
  Skeleton,
  SkeletonConstants,
} from './gen/runtime.js';

// The Manager: objects, attachments, readers, a map registry and a PID filter as one unit.
export {
  Manager,
  defineReader,
  ManagerStartError,
  ManagerStateError,
  describeStep,
  describeTarget,
  MapRegistry,
  PidFilter,
  pidNamespaceOf,
  resolvePid,
  pidFilterKey,
  PID_FILTER_ALLOW,
  PID_FILTER_BLOCK,
  PID_FILTER_KEY_SIZE,
  PID_NAMESPACE_SIZE,
  formatPrometheus,
  metricFamilies,
  registerManagerMetrics,
} from './manager/index.js';
export type {
  ManagerSpec,
  ManagerObject,
  ManagerAttachment,
  ManagerReader,
  ManagerBatchContext,
  ManagerPidFilter,
  ManagerAttachOptions,
  ManagerState,
  ManagerLinkListing,
  ManagerProgramListing,
  ManagerStep,
  RegisteredMap,
  PidFilterMode,
  PidNamespace,
  PidRef,
  PidFilterEntry,
  PidSyncResult,
  ProcessInfo,
  PidWatchOptions,
  PidWatch,
  ManagerStats,
  ManagerProgramStats,
  ManagerReaderStats,
  MetricFamily,
  CollectedMetric,
  MetricsRegistry,
} from './manager/index.js';
