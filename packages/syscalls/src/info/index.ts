/**
 * Decoders (and request encoders) for the `struct bpf_*_info` that
 * BPF_OBJ_GET_INFO_BY_FD fills.
 *
 * @module
 */
export * from './prog-info.js';
export * from './map-info.js';
export * from './btf-info.js';
export * from './link-info.js';
export * from './token-info.js';
