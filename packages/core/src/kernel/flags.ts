/**
 * Map creation flags (`map_flags` of `BPF_MAP_CREATE`): the kernel's
 * `BPF_F_*` enum for that command, as of Linux 6.18, without the `BPF_F_`
 * prefix. The same enum also holds flags other commands use (`RDONLY`/`WRONLY`
 * for `BPF_OBJ_GET` and `*_GET_FD_BY_ID`, `PATH_FD` for pinning, `TOKEN_FD`
 * for every command that takes a BPF token), so they are all here.
 *
 * @example
 * const spec = { type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 1024, flags: MapFlags.NO_PREALLOC };
 * flagNames(MapFlags, MapFlags.MMAPABLE | MapFlags.RDONLY_PROG); // ['rdonly_prog', 'mmapable']
 */
export const MapFlags = {
  NO_PREALLOC: 1 << 0,
  NO_COMMON_LRU: 1 << 1,
  NUMA_NODE: 1 << 2,
  RDONLY: 1 << 3,
  WRONLY: 1 << 4,
  STACK_BUILD_ID: 1 << 5,
  ZERO_SEED: 1 << 6,
  RDONLY_PROG: 1 << 7,
  WRONLY_PROG: 1 << 8,
  CLONE: 1 << 9,
  MMAPABLE: 1 << 10,
  PRESERVE_ELEMS: 1 << 11,
  INNER_MAP: 1 << 12,
  LINK: 1 << 13,
  PATH_FD: 1 << 14,
  VTYPE_BTF_OBJ_FD: 1 << 15,
  TOKEN_FD: 1 << 16,
  SEGV_ON_FAULT: 1 << 17,
  NO_USER_CONV: 1 << 18,
} as const;
/** One bit of {@link MapFlags}. */
export type MapFlag = (typeof MapFlags)[keyof typeof MapFlags];

/**
 * Program load flags (`prog_flags` of `BPF_PROG_LOAD`), as of Linux 6.18,
 * without the `BPF_F_` prefix.
 *
 * @example
 * const flags = ProgramFlags.SLEEPABLE | ProgramFlags.XDP_HAS_FRAGS;
 */
export const ProgramFlags = {
  STRICT_ALIGNMENT: 1 << 0,
  ANY_ALIGNMENT: 1 << 1,
  TEST_RND_HI32: 1 << 2,
  TEST_STATE_FREQ: 1 << 3,
  SLEEPABLE: 1 << 4,
  XDP_HAS_FRAGS: 1 << 5,
  XDP_DEV_BOUND_ONLY: 1 << 6,
  TEST_REG_INVARIANTS: 1 << 7,
  /** `prog_token_fd` holds a BPF token (the same bit as {@link MapFlags.TOKEN_FD}). */
  TOKEN_FD: 1 << 16,
} as const;
/** One bit of {@link ProgramFlags}. */
export type ProgramFlag = (typeof ProgramFlags)[keyof typeof ProgramFlags];

/**
 * Element update flags (`flags` of `BPF_MAP_UPDATE_ELEM` and of the
 * `bpf_map_update_elem` helper): `BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`, and
 * the bit `BPF_F_LOCK` that may be or-ed to any of them.
 *
 * @example
 * const flags = UpdateFlags.NOEXIST | UpdateFlags.LOCK; // 5
 */
export const UpdateFlags = {
  ANY: 0,
  NOEXIST: 1,
  EXIST: 2,
  LOCK: 4,
} as const;
/** A value of {@link UpdateFlags}. */
export type UpdateFlagValue = (typeof UpdateFlags)[keyof typeof UpdateFlags];

/**
 * Attach flags (`attach_flags` of `BPF_PROG_ATTACH`/`BPF_PROG_DETACH`, and
 * `flags` of `BPF_LINK_CREATE` for tcx/netkit/cgroup links), as of
 * Linux 6.18, without the `BPF_F_` prefix. `ALLOW_OVERRIDE`/`ALLOW_MULTI`
 * choose the cgroup attach mode; `REPLACE`, `BEFORE`, `AFTER`, `ID`, `LINK`
 * position a program among others (`ID`/`LINK` say that the relative object
 * is given by id or is a link); `PREORDER` (6.15) runs a cgroup program before
 * those of its descendants.
 *
 * @example
 * const flags = AttachFlags.BEFORE | AttachFlags.LINK;
 */
export const AttachFlags = {
  ALLOW_OVERRIDE: 1 << 0,
  ALLOW_MULTI: 1 << 1,
  REPLACE: 1 << 2,
  BEFORE: 1 << 3,
  AFTER: 1 << 4,
  ID: 1 << 5,
  PREORDER: 1 << 6,
  LINK: 1 << 13,
} as const;
/** One bit of {@link AttachFlags}. */
export type AttachFlag = (typeof AttachFlags)[keyof typeof AttachFlags];
