export type { Codec, CodecValue } from './codec.js';
export * from './integer.js';
export * from './bool.js';
export * from './bytes.js';
export * from './cstring.js';
export * from './struct.js';
export * from './array.js';
export * from './net.js';
