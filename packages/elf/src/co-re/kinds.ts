/**
 * CO-RE relocation kinds (`enum bpf_core_relo_kind` of include/uapi/linux/bpf.h).
 *
 * @example
 * CoreReloKind.FIELD_BYTE_OFFSET; // 0
 */
export const CoreReloKind = {
  FIELD_BYTE_OFFSET: 0,
  FIELD_BYTE_SIZE: 1,
  FIELD_EXISTS: 2,
  FIELD_SIGNED: 3,
  FIELD_LSHIFT_U64: 4,
  FIELD_RSHIFT_U64: 5,
  TYPE_ID_LOCAL: 6,
  TYPE_ID_TARGET: 7,
  TYPE_EXISTS: 8,
  TYPE_SIZE: 9,
  ENUMVAL_EXISTS: 10,
  ENUMVAL_VALUE: 11,
  TYPE_MATCHES: 12,
} as const;
export type CoreReloKind = (typeof CoreReloKind)[keyof typeof CoreReloKind];

const NAMES: readonly string[] = [
  'byte_off',
  'byte_sz',
  'field_exists',
  'signed',
  'lshift_u64',
  'rshift_u64',
  'local_type_id',
  'target_type_id',
  'type_exists',
  'type_size',
  'enumval_exists',
  'enumval_value',
  'type_matches',
];

/**
 * The short name of a CO-RE relocation kind, as libbpf's logs spell it
 * (`'byte_off'`, `'type_exists'`, …), or `'unknown(N)'`.
 *
 * @example
 * coreReloKindName(CoreReloKind.TYPE_SIZE); // 'type_size'
 */
export function coreReloKindName(kind: number): string {
  return NAMES[kind] ?? `unknown(${kind})`;
}

/** Kinds about a field reached by an access string. */
export function isFieldKind(kind: number): boolean {
  return kind >= CoreReloKind.FIELD_BYTE_OFFSET && kind <= CoreReloKind.FIELD_RSHIFT_U64;
}

/** Kinds about a whole type (access string `'0'`). */
export function isTypeKind(kind: number): boolean {
  return (kind >= CoreReloKind.TYPE_ID_LOCAL && kind <= CoreReloKind.TYPE_SIZE) || kind === CoreReloKind.TYPE_MATCHES;
}

/** Kinds about an enumerator (access string: its index). */
export function isEnumvalKind(kind: number): boolean {
  return kind === CoreReloKind.ENUMVAL_EXISTS || kind === CoreReloKind.ENUMVAL_VALUE;
}
