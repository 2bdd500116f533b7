export * from './errno.js';
export * from './errors.js';
export * from './disposable.js';
export * from './interfaces.js';
export * from './features.js';
export type { Codec } from './codecs/codec.js';
export * from './map-base.js';
export * from './kernel/index.js';
export * from './codecs/index.js';
