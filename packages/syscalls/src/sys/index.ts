/**
 * Typed wrappers around the native addon: one function per `bpf()` command,
 * plus perf_event_open and close. Each encodes its attr, calls the kernel and
 * throws a `BpfError` (errno, syscall, command) on failure.
 *
 * @module
 */
export * from './call.js';
export * from './map.js';
export * from './prog.js';
export * from './obj.js';
export * from './link.js';
export * from './btf.js';
export * from './misc.js';
export * from './perf.js';
export * from './socket.js';
export * from './map-file.js';
