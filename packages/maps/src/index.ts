export { KernelMap, createKernelMap, openPinnedMap, openMapById } from './kernel-map.js';
export { mapError, mapErrorHint } from './errors.js';
