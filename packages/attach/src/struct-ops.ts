/**
 * Registering struct_ops maps (a kernel ops table such as
 * `tcp_congestion_ops` implemented by BPF programs) through links.
 *
 * @module
 */
import { AttachFlags, AttachType, BpfError, Errno, InvalidArgumentError, MapFlags, MapType, mapTypeName } from '@bpfkit/core';
import type { Map } from '@bpfkit/core';
import { linkCreate, linkUpdate } from '@bpfkit/syscalls';
import { BpfLinkHandle } from './link.js';

/** What a struct_ops link needs of a map: any kernel {@link Map} has it. */
export type StructOpsMap = Pick<Map<unknown, unknown>, 'name' | 'type' | 'flags' | 'fd' | 'closed'>;

/** Checks that `map` is an open struct_ops map created with BPF_F_LINK, whose value is stored. */
function checkLinkMap(map: StructOpsMap, argument: string): void {
  if (map === null || typeof map !== 'object' || map.closed || !Number.isInteger(map.fd) || map.fd < 0)
    throw new InvalidArgumentError(argument, 'an open kernel struct_ops map', map);
  if (map.type !== MapType.STRUCT_OPS)
    throw new InvalidArgumentError(argument, 'a struct_ops map (MapType.STRUCT_OPS)', `map '${map.name}' of type ${mapTypeName(map.type)}`);
  if (!(map.flags & MapFlags.LINK)) {
    throw new InvalidArgumentError(
      argument,
      'a struct_ops map created with MapFlags.LINK (BPF_F_LINK, 6.4; SEC(".struct_ops.link")): a map without it was registered when its value was stored (map update) and is unregistered by deleting that element, with no link',
      `map '${map.name}' without BPF_F_LINK`,
    );
  }
}

/** EINVAL from a struct_ops link create or update, explained. */
function structOpsHint(err: unknown, map: StructOpsMap, subject: string): unknown {
  if (!(err instanceof BpfError) || err.errno !== Errno.EINVAL) return err;
  return new BpfError(
    err.errno,
    {
      syscall: err.syscall,
      command: err.command,
      subject,
      hint: `struct_ops map '${map.name}' must hold its value (every function slot a loaded program, stored with an update of key 0) and not be registered already; an update needs a map of the same struct_ops type (for tcp_congestion_ops, of the same name)`,
    },
    { cause: err },
  );
}

/**
 * A struct_ops map registered with the kernel through a link
 * (BPF_LINK_TYPE_STRUCT_OPS, 6.4): while it is open the kernel uses the
 * map's programs as its ops (a TCP congestion control, a sched_ext
 * scheduler, …); closing it (or its last reference) unregisters them.
 *
 * @example
 * declare const ccMap: Map, newCcMap: Map;
 * using link = attachStructOps(ccMap);   // e.g. a tcp_congestion_ops map from SEC(".struct_ops.link")
 * link.update(newCcMap);                 // swap in another map of the same type, atomically
 */
export class StructOpsLink extends BpfLinkHandle {
  #map: StructOpsMap;

  /** Takes ownership of `fd`, a struct_ops link registering `map`. */
  constructor(fd: number, map: StructOpsMap, label = `struct_ops link of map '${map.name}'`) {
    super(fd, label);
    this.#map = map;
  }

  /** The map whose ops are registered (the last one given to {@link update}). */
  get map(): StructOpsMap {
    return this.#map;
  }

  /**
   * Replaces the registered ops with those of `map`, another BPF_F_LINK
   * struct_ops map of the same type whose value is stored
   * (BPF_LINK_UPDATE with new_map_fd, 6.4). With `expected`, only if that
   * map is still the registered one (BPF_F_REPLACE).
   *
   * @example
   * declare const link: StructOpsLink, v1: Map, v2: Map;
   * link.update(v2, { expected: v1 });
   */
  update(map: StructOpsMap, options: { expected?: StructOpsMap } = {}): void {
    this.assertOpen();
    checkLinkMap(map, `${this.label}: update`);
    const old = options.expected;
    if (old !== undefined) checkLinkMap(old, `${this.label}: update: expected`);
    try {
      linkUpdate(
        { linkFd: this.fd, newMapFd: map.fd, ...(old ? { flags: AttachFlags.REPLACE, oldMapFd: old.fd } : {}) },
        { subject: this.label },
      );
    } catch (err) {
      throw structOpsHint(err, map, this.label);
    }
    this.#map = map;
  }

  protected override get lastReferenceNote(): string {
    return 'this kernel detaches struct_ops links only when their last reference goes';
  }
}

/**
 * Registers a struct_ops map with the kernel through a link
 * (BPF_LINK_CREATE with the map's fd, attach type BPF_STRUCT_OPS, 6.4).
 * The map must have been created with `MapFlags.LINK` (BPF_F_LINK, what
 * libbpf does for `SEC(".struct_ops.link")`) and hold its value (each
 * function slot a loaded struct_ops program). A map created without
 * BPF_F_LINK needs no link: storing its value registered it, and deleting
 * its one element unregisters it.
 *
 * @throws InvalidArgumentError for a map that is not a BPF_F_LINK struct_ops map
 * @throws BpfError (EINVAL) when the map's value is not stored yet, or the ops are registered already
 * @example
 * declare const ccMap: Map; // a struct_ops map created with MapFlags.LINK, its value stored
 * using link = attachStructOps(ccMap);
 * link.info(); // { kind: 'struct_ops', structOps: { mapId: … }, … }
 */
export function attachStructOps(map: StructOpsMap): StructOpsLink {
  checkLinkMap(map, 'struct_ops map');
  const label = `struct_ops link of map '${map.name}'`;
  let fd: number;
  try {
    // link_create.map_fd shares its place with prog_fd (6.4).
    fd = linkCreate({ mapFd: map.fd, attachType: AttachType.STRUCT_OPS }, { subject: label });
  } catch (err) {
    throw structOpsHint(err, map, label);
  }
  return new StructOpsLink(fd, map, label);
}
