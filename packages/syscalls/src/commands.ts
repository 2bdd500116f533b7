/**
 * The `bpf()` commands (`enum bpf_cmd` in include/uapi/linux/bpf.h, as of Linux 6.18).
 *
 * @module
 */

/**
 * Every `enum bpf_cmd` value as of Linux 6.18, with the kernel version that
 * added it.
 *
 * @example
 * const { attr } = encodeMapCreateAttr({ mapType: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 16 });
 * native.bpf(BpfCommand.BPF_MAP_CREATE, attr); // the map's fd, or -errno
 */
export const BpfCommand = {
  /** Create a map (3.18). */
  BPF_MAP_CREATE: 0,
  /** Look up an element (3.18). */
  BPF_MAP_LOOKUP_ELEM: 1,
  /** Create or update an element (3.18). */
  BPF_MAP_UPDATE_ELEM: 2,
  /** Delete an element (3.18). */
  BPF_MAP_DELETE_ELEM: 3,
  /** Iterate over keys (3.18). */
  BPF_MAP_GET_NEXT_KEY: 4,
  /** Verify and load a program (3.18). */
  BPF_PROG_LOAD: 5,
  /** Pin an object in bpffs (4.4). */
  BPF_OBJ_PIN: 6,
  /** Open a pinned object (4.4). */
  BPF_OBJ_GET: 7,
  /** Attach a program to a cgroup, socket map, flow dissector, tcx… (4.10). */
  BPF_PROG_ATTACH: 8,
  /** Detach a program (4.10). */
  BPF_PROG_DETACH: 9,
  /** Run a program on test input (4.12); also called BPF_PROG_RUN. */
  BPF_PROG_TEST_RUN: 10,
  /** Iterate over loaded program ids (4.13). */
  BPF_PROG_GET_NEXT_ID: 11,
  /** Iterate over map ids (4.13). */
  BPF_MAP_GET_NEXT_ID: 12,
  /** Open a program by id (4.13). */
  BPF_PROG_GET_FD_BY_ID: 13,
  /** Open a map by id (4.13). */
  BPF_MAP_GET_FD_BY_ID: 14,
  /** Read `bpf_{prog,map,btf,link,token}_info` (4.13). */
  BPF_OBJ_GET_INFO_BY_FD: 15,
  /** List the programs attached to a hook (4.15). */
  BPF_PROG_QUERY: 16,
  /** Attach a raw tracepoint / BTF-typed tracing program (4.17). */
  BPF_RAW_TRACEPOINT_OPEN: 17,
  /** Load BTF type information (4.18). */
  BPF_BTF_LOAD: 18,
  /** Open a BTF object by id (4.18). */
  BPF_BTF_GET_FD_BY_ID: 19,
  /** Describe the probe behind a task's perf event / raw tracepoint fd (4.18). */
  BPF_TASK_FD_QUERY: 20,
  /** Look up and delete an element (4.20). */
  BPF_MAP_LOOKUP_AND_DELETE_ELEM: 21,
  /** Make a map read-only for user space (5.2). */
  BPF_MAP_FREEZE: 22,
  /** Iterate over BTF object ids (5.4). */
  BPF_BTF_GET_NEXT_ID: 23,
  /** Look up many elements (5.6). */
  BPF_MAP_LOOKUP_BATCH: 24,
  /** Look up and delete many elements (5.6). */
  BPF_MAP_LOOKUP_AND_DELETE_BATCH: 25,
  /** Update many elements (5.6). */
  BPF_MAP_UPDATE_BATCH: 26,
  /** Delete many elements (5.6). */
  BPF_MAP_DELETE_BATCH: 27,
  /** Create a BPF link (5.7). */
  BPF_LINK_CREATE: 28,
  /** Replace a link's program (5.7). */
  BPF_LINK_UPDATE: 29,
  /** Open a link by id (5.8). */
  BPF_LINK_GET_FD_BY_ID: 30,
  /** Iterate over link ids (5.8). */
  BPF_LINK_GET_NEXT_ID: 31,
  /** Enable run-time statistics (5.8). */
  BPF_ENABLE_STATS: 32,
  /** Create a BPF iterator instance from an iter link (5.8). */
  BPF_ITER_CREATE: 33,
  /** Detach a link without closing it (5.9). */
  BPF_LINK_DETACH: 34,
  /** Bind a map to a program's lifetime (5.10). */
  BPF_PROG_BIND_MAP: 35,
  /** Create a BPF token from a bpffs instance (6.9). */
  BPF_TOKEN_CREATE: 36,
  /** Read a program's BPF stream (stdout/stderr) (6.17). */
  BPF_PROG_STREAM_READ_BY_FD: 37,
} as const;

/** A `bpf()` command number. */
export type BpfCommand = (typeof BpfCommand)[keyof typeof BpfCommand];

/** The name of a {@link BpfCommand}, e.g. `'BPF_MAP_CREATE'`. */
export type BpfCommandName = keyof typeof BpfCommand;

/** `BPF_PROG_RUN`: the kernel's alias (5.14+) for {@link BpfCommand.BPF_PROG_TEST_RUN}. */
export const BPF_PROG_RUN = BpfCommand.BPF_PROG_TEST_RUN;

const names: readonly BpfCommandName[] = (() => {
  const out: BpfCommandName[] = [];
  for (const [name, n] of Object.entries(BpfCommand) as [BpfCommandName, number][]) out[n] = name;
  return out;
})();

/**
 * The symbolic name of a `bpf()` command, or `BPF_CMD_<n>` for a number this
 * table does not know (a newer kernel's command).
 *
 * @example
 * bpfCommandName(0);  // 'BPF_MAP_CREATE'
 * bpfCommandName(99); // 'BPF_CMD_99'
 */
export function bpfCommandName(cmd: number): string {
  return (Number.isInteger(cmd) && cmd >= 0 ? names[cmd] : undefined) ?? `BPF_CMD_${cmd}`;
}
