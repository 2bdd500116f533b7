/**
 * Typed encoders for every `union bpf_attr` member, one module per command family.
 *
 * @module
 */
export {
  HOST_LITTLE_ENDIAN,
  StructLayout,
  cString,
  fieldWidth,
  readCString,
  type AnyField,
  type BitsField,
  type BytesField,
  type CStrField,
  type CStringPointer,
  type Decoded,
  type DecodedValue,
  type EncodedAttr,
  type EncodedStruct,
  type FieldBase,
  type FieldFor,
  type FieldTable,
  type FlagField,
  type IntField,
  type Pointer,
  type PtrField,
  type StrField,
  type StructField,
  type WideField,
} from './layout.js';
export * from './map.js';
export * from './prog-load.js';
export * from './prog-attach.js';
export * from './prog-test-run.js';
export * from './obj.js';
export * from './id.js';
export * from './info.js';
export * from './raw-tracepoint.js';
export * from './btf.js';
export * from './task-fd-query.js';
export * from './link.js';
export * from './enable-stats.js';
export * from './prog-bind-map.js';
export * from './token.js';
export * from './prog-stream.js';
