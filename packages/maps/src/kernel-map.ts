import fs from 'node:fs';
import {
  BpfError,
  checkMapSpec,
  Errno,
  InvalidArgumentError,
  isPerCpuMapType,
  MapBase,
  MapFlags,
  MapType,
  mapTypeName,
  perCpu,
  perCpuSlotSize,
  rawValueSize,
} from '@bpfkit/core';
import type { Codec, MapCodecs, MapInfo, MapSpec, RawMapOps } from '@bpfkit/core';
import { BtfBuilder } from '@bpfkit/elf';
import {
  allocElemSlot,
  BpfCommand,
  bpfError,
  type ElemSlot,
  elemCall,
  freeElemSlot,
  bpfObjectKind,
  btfLoad,
  encodeMapCreateAttr,
  getFdById,
  kernelObjectName,
  mapFreeze,
  mapInfoByFd,
  native,
  objGet,
  objPin,
  possibleCpus,
  tryBpf,
} from '@bpfkit/syscalls';
import { mapError } from './errors.js';
import { createRefusalHint, isLocalStorageMapType, isMapInMapType, pageSize } from './map-types.js';

const ENOENT = -Errno.ENOENT;
const LOOKUP_ELEM = BpfCommand.BPF_MAP_LOOKUP_ELEM;
const UPDATE_ELEM = BpfCommand.BPF_MAP_UPDATE_ELEM;
const DELETE_ELEM = BpfCommand.BPF_MAP_DELETE_ELEM;
const NEXT_KEY = BpfCommand.BPF_MAP_GET_NEXT_KEY;
const LOOKUP_AND_DELETE_ELEM = BpfCommand.BPF_MAP_LOOKUP_AND_DELETE_ELEM;

/** Errnos with which the kernel refuses a batch command for a map type or kernel that has none. */
const NO_BATCH: ReadonlySet<number> = new Set([Errno.EINVAL, Errno.ENOTSUPP, Errno.EOPNOTSUPP, Errno.ENOSYS]);

/** Reads `frozen:` from /proc/self/fdinfo (bpf_map_info has no such field). */
function isFrozen(fd: number): boolean {
  try {
    return /^frozen:\s*1$/m.test(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * The {@link MapInfo} of an open map fd: `bpf_map_info` plus `frozen` from
 * /proc/self/fdinfo.
 *
 * @example
 * const { id, type, frozen } = kernelMapInfo(map.fd);
 */
export function kernelMapInfo(fd: number, subject?: string): MapInfo {
  const i = mapInfoByFd(fd, undefined, subject ? { subject } : {});
  return {
    id: i.id,
    name: i.name,
    type: i.type,
    keySize: i.keySize,
    valueSize: i.valueSize,
    maxEntries: i.maxEntries,
    flags: i.mapFlags,
    btfId: i.btfId,
    btfKeyTypeId: i.btfKeyTypeId,
    btfValueTypeId: i.btfValueTypeId,
    mapExtra: BigInt(i.mapExtra),
    frozen: isFrozen(fd),
  };
}

/**
 * What {@link KernelMapOps} needs to know about its map.
 *
 * @example
 * const shape: KernelMapShape = { name: 'counts', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 64, flags: 0 };
 */
export type KernelMapShape = Pick<MapInfo, 'name' | 'type' | 'keySize' | 'valueSize' | 'maxEntries' | 'flags'>;

/**
 * {@link RawMapOps} over a map file descriptor, through the addon's
 * no-allocation entry points: element commands, batch commands, mmap of an
 * mmapable array or arena. Owns the fd: {@link release} unmaps the memory
 * view and closes it.
 *
 * Its {@link scratch} buffers are a slot of the addon's element arena (see
 * `allocElemSlot`): element operations on exactly those buffers pass their
 * offsets (`elemCall`); on any other buffers, the TypedArray entry points.
 *
 * @example
 * const ops = new KernelMapOps(fd, { name: 'm', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 16, flags: 0 });
 * ops.update(Uint8Array.of(1, 0, 0, 0), new Uint8Array(8), 0);
 */
export class KernelMapOps implements RawMapOps {
  readonly #count = new Uint32Array(new ArrayBuffer(4));
  #mapping: ArrayBuffer | undefined;
  #view: Uint8Array | undefined;
  #slot: ElemSlot | undefined;
  // The slot's views and offsets, kept on this object: the hot paths read no other object for them.
  #slotKey: Uint8Array | null = null;
  #slotValue: Uint8Array | null = null;
  #keyAt = -2;
  #valueAt = -2;
  #released = false;

  constructor(
    readonly fd: number,
    readonly shape: KernelMapShape,
  ) {}

  get #subject(): string {
    return this.shape.name;
  }

  /** A slot of the element arena (see the class comment), taken at the first call; undefined when none is free. */
  scratch(keyBytes: number, valueBytes: number): { key: Uint8Array; value: Uint8Array } | undefined {
    if (this.#released) return undefined;
    if (this.#slot === undefined) {
      const slot = allocElemSlot(keyBytes, valueBytes);
      if (slot === undefined) return undefined;
      this.#slot = slot;
      this.#slotKey = slot.key;
      this.#slotValue = slot.value;
      this.#keyAt = slot.keyOffset;
      this.#valueAt = slot.valueOffset;
    }
    return this.#slot;
  }

  /** The arena offset of `key` (-1 for null), or -2 when it is not the slot's key (or there is no slot). */
  #keyOffset(key: Uint8Array | null): number {
    return key === this.#slotKey ? this.#keyAt : key === null ? -1 : -2;
  }

  lookup(key: Uint8Array | null, value: Uint8Array): boolean {
    const at = value === this.#slotValue ? this.#keyOffset(key) : -2;
    const rc = at !== -2 ? elemCall(LOOKUP_ELEM, this.fd, at, this.#valueAt, 0) : native.mapLookup(this.fd, key, value, 0);
    if (rc === 0) return true;
    if (rc === ENOENT) return false;
    throw mapError('BPF_MAP_LOOKUP_ELEM', -rc, this.#subject, this.shape.maxEntries, this.shape.type);
  }

  update(key: Uint8Array | null, value: Uint8Array, flags: number): void {
    const at = value === this.#slotValue ? this.#keyOffset(key) : -2;
    const rc = at !== -2 ? elemCall(UPDATE_ELEM, this.fd, at, this.#valueAt, flags) : native.mapUpdate(this.fd, key, value, flags);
    if (rc < 0) throw mapError('BPF_MAP_UPDATE_ELEM', -rc, this.#subject, this.shape.maxEntries, this.shape.type);
  }

  delete(key: Uint8Array): boolean {
    const rc = key === this.#slotKey ? elemCall(DELETE_ELEM, this.fd, this.#keyAt, -1, 0) : native.mapDelete(this.fd, key, 0);
    if (rc === 0) return true;
    if (rc === ENOENT) return false;
    throw mapError('BPF_MAP_DELETE_ELEM', -rc, this.#subject, this.shape.maxEntries, this.shape.type);
  }

  lookupAndDelete(key: Uint8Array | null, value: Uint8Array): boolean {
    const at = value === this.#slotValue ? this.#keyOffset(key) : -2;
    const rc =
      at !== -2 ? elemCall(LOOKUP_AND_DELETE_ELEM, this.fd, at, this.#valueAt, 0) : native.mapLookupAndDelete(this.fd, key, value, 0);
    if (rc === 0) return true;
    if (rc === ENOENT) return false;
    throw mapError('BPF_MAP_LOOKUP_AND_DELETE_ELEM', -rc, this.#subject, this.shape.maxEntries, this.shape.type);
  }

  nextKey(key: Uint8Array | null, next: Uint8Array): boolean {
    const rc =
      next === this.#slotKey && key === null ? elemCall(NEXT_KEY, this.fd, -1, this.#keyAt, 0) : native.mapNextKey(this.fd, key, next);
    if (rc === 0) return true;
    if (rc === ENOENT) return false;
    throw mapError('BPF_MAP_GET_NEXT_KEY', -rc, this.#subject, this.shape.maxEntries, this.shape.type);
  }

  lookupBatch(
    del: boolean,
    inBatch: Uint8Array | null,
    outBatch: Uint8Array,
    keys: Uint8Array,
    values: Uint8Array,
    count: number,
  ): { count: number; done: boolean } {
    const cmd = del ? BpfCommand.BPF_MAP_LOOKUP_AND_DELETE_BATCH : BpfCommand.BPF_MAP_LOOKUP_BATCH;
    this.#count[0] = count;
    const rc = native.mapBatch(cmd, this.fd, inBatch, outBatch, keys, values, this.#count, 0, 0);
    const n = this.#count[0]!;
    if (rc === 0) return { count: n, done: false };
    if (rc === ENOENT) return { count: n, done: true };
    throw mapError(
      del ? 'BPF_MAP_LOOKUP_AND_DELETE_BATCH' : 'BPF_MAP_LOOKUP_BATCH',
      -rc,
      this.#subject,
      this.shape.maxEntries,
      this.shape.type,
      count,
    );
  }

  updateBatch(keys: Uint8Array, values: Uint8Array, count: number, flags: number): { count: number; errno: number } {
    return this.#writeBatch(BpfCommand.BPF_MAP_UPDATE_BATCH, 'BPF_MAP_UPDATE_BATCH', keys, values, count, flags);
  }

  deleteBatch(keys: Uint8Array, count: number): { count: number; errno: number } {
    return this.#writeBatch(BpfCommand.BPF_MAP_DELETE_BATCH, 'BPF_MAP_DELETE_BATCH', keys, null, count, 0);
  }

  #writeBatch(
    cmd: number,
    name: string,
    keys: Uint8Array,
    values: Uint8Array | null,
    count: number,
    elemFlags: number,
  ): { count: number; errno: number } {
    this.#count[0] = count;
    const rc = native.mapBatch(cmd, this.fd, null, null, keys, values, this.#count, elemFlags, 0);
    const n = this.#count[0]!;
    if (rc === 0) return { count: n, errno: 0 };
    // The call itself was refused: the kernel did not write the count back (no batch support for
    // this map type), or stopped at the first element with an errno that means the same.
    if (n === count || (n === 0 && NO_BATCH.has(-rc)))
      throw mapError(name, -rc, this.#subject, this.shape.maxEntries, this.shape.type, count);
    return { count: n, errno: -rc };
  }

  memory(): Uint8Array {
    if (this.#view !== undefined && this.#mapping !== undefined && this.#mapping.byteLength > 0) return this.#view;
    const { type, flags, name } = this.shape;
    if ((flags & MapFlags.MMAPABLE) === 0 || (type !== MapType.ARRAY && type !== MapType.ARENA)) {
      throw new InvalidArgumentError(
        `map '${name}' (${mapTypeName(type)}): memory()`,
        'a map created with flag BPF_F_MMAPABLE (MapFlags.MMAPABLE; an array or an arena)',
        type === MapType.ARRAY || type === MapType.ARENA ? `flags 0x${flags.toString(16)} without it` : `a ${mapTypeName(type)} map`,
      );
    }
    const page = pageSize();
    const elements = type === MapType.ARENA ? this.shape.maxEntries * page : this.shape.maxEntries * perCpuSlotSize(this.shape.valueSize);
    const length = Math.ceil(elements / page) * page;
    const k = native.constants;
    const r = native.mmap(this.fd, length, k.PROT_READ! | k.PROT_WRITE!, k.MAP_SHARED!, 0);
    if (typeof r === 'number') {
      const errno = -r;
      let hint: string | undefined;
      if (errno === Errno.EPERM || errno === Errno.EACCES)
        hint = 'the map is frozen, or this fd is read-only (BPF_F_RDONLY): its memory cannot be mapped writable';
      else if (errno === Errno.EINVAL && type === MapType.ARENA)
        hint = 'an arena created with map_extra can only be mapped at that address; create it without mapExtra to let the kernel choose';
      throw new BpfError(errno, { syscall: 'mmap', subject: `map '${name}' (${length} bytes)`, hint });
    }
    this.#mapping = r;
    this.#view = new Uint8Array(r, 0, elements);
    return this.#view;
  }

  pin(path: string): void {
    objPin(path, this.fd, {}, { subject: `map '${this.#subject}'` });
  }

  unpin(path: string): void {
    try {
      fs.unlinkSync(path);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new BpfError(Math.abs(e.errno ?? Errno.EIO), { syscall: 'unlink', subject: `map '${this.#subject}' pin ${path}` });
    }
  }

  freeze(): void {
    try {
      mapFreeze(this.fd, { subject: `map '${this.#subject}'` });
    } catch (err) {
      if (err instanceof BpfError && err.errno === Errno.EBUSY) {
        throw new BpfError(err.errno, {
          syscall: 'bpf',
          command: 'BPF_MAP_FREEZE',
          subject: `map '${this.#subject}'`,
          hint: this.#mapping
            ? 'its memory is mapped writable (memory()): freeze before mapping it'
            : 'the map is already frozen or mapped writable elsewhere',
        });
      }
      throw err;
    }
  }

  info(): MapInfo {
    return kernelMapInfo(this.fd, `map '${this.#subject}'`);
  }

  /** Unmaps the memory view and closes the fd; idempotent (a second call does nothing, so a reused fd number is never closed). */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    // The mapping holds the map alive in the kernel: unmap it before the fd goes.
    if (this.#mapping !== undefined) native.munmap(this.#mapping);
    this.#mapping = undefined;
    this.#view = undefined;
    native.close(this.fd);
    // After the fd: no element command of this map can run on the slot once it is another map's.
    if (this.#slot !== undefined) freeElemSlot(this.#slot);
    this.#slot = undefined;
    this.#slotKey = null;
    this.#slotValue = null;
    this.#keyAt = -2;
    this.#valueAt = -2;
  }
}

/**
 * A map on the running kernel. Create one with {@link createKernelMap}, open a
 * pinned one with {@link openPinnedMap}, or one by id with {@link openMapById}.
 * Values of per-CPU types are the kernel's flat layout (`possibleCpus()`
 * slots of `roundUp(valueSize, 8)` bytes) unless the value codec is a
 * `perCpu` codec (see {@link createPerCpuKernelMap}).
 *
 * @example
 * using m = createKernelMap({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 64 }, { key: u32, value: u64 });
 * m.update(1, 2n);
 */
export class KernelMap<K = Uint8Array, V = Uint8Array> extends MapBase<K, V> {
  readonly fd: number;

  /** Takes ownership of `fd` (closed on `close()`, also when this constructor throws). */
  constructor(fd: number, spec: MapSpec, codecs?: { key?: Codec<K>; value?: Codec<V> }) {
    const shape: KernelMapShape = {
      name: spec.name ?? '',
      type: spec.type,
      keySize: spec.keySize,
      valueSize: spec.valueSize,
      maxEntries: spec.maxEntries,
      flags: spec.flags ?? 0,
    };
    const ops = new KernelMapOps(fd, shape);
    try {
      super(spec, ops, codecs, rawValueSize(spec, isPerCpuMapType(spec.type) ? possibleCpus() : 1));
    } catch (err) {
      ops.release(); // a codec mismatch must not leak the fd
      throw err;
    }
    this.fd = fd;
  }

  /** Records that this map was opened from the pin at `path`, so `unpin()` removes that pin. */
  rememberPin(path: string): this {
    this.adoptPin(path);
    return this;
  }
}

/**
 * Options of {@link createKernelMap} beyond the spec.
 *
 * @example
 * const options: KernelMapOptions = { btf: { fd: btfFd } };
 * using m = createKernelMap({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 64, btfKeyTypeId: 1, btfValueTypeId: 2 }, undefined, options);
 */
export interface KernelMapOptions {
  /**
   * The BTF object the spec's `btfKeyTypeId` / `btfValueTypeId` refer to
   * (a loaded BTF fd, or any handle with one). Not needed for local storage
   * maps without type ids: a small BTF (int key, opaque value) is made.
   */
  btf?: { readonly fd: number };
  /**
   * `btf_vmlinux_value_type_id` for struct_ops maps: the vmlinux BTF id of
   * `struct bpf_struct_ops_<name>`.
   */
  vmlinuxValueTypeId?: number;
  /**
   * For struct_ops maps whose struct a kernel module defines: that module's
   * BTF fd (`value_type_btf_obj_fd`, sets BPF_F_VTYPE_BTF_OBJ_FD, 6.9); then
   * {@link vmlinuxValueTypeId} is an id in the module's BTF.
   */
  valueTypeBtfObjFd?: number;
}

function checkU32(what: string, v: unknown): void {
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0xffffffff)
    throw new InvalidArgumentError(what, 'an integer from 0 to 4294967295', v);
}

/** Every argument check of a creation, recursively into the inner map, before any system call. */
function validate(spec: MapSpec, options: KernelMapOptions, what: string): void {
  checkMapSpec(spec);
  if (spec.name !== undefined && typeof spec.name !== 'string') throw new InvalidArgumentError(`${what} name`, 'a string', spec.name);
  if (spec.numaNode !== undefined) checkU32(`${what} numaNode`, spec.numaNode);
  if (spec.mapExtra !== undefined && (typeof spec.mapExtra !== 'bigint' || spec.mapExtra < 0n || spec.mapExtra >= 1n << 64n)) {
    throw new InvalidArgumentError(`${what} mapExtra`, 'a bigint from 0n to 2n ** 64n - 1n', spec.mapExtra);
  }
  for (const field of ['btfKeyTypeId', 'btfValueTypeId'] as const) {
    if (spec[field] !== undefined) checkU32(`${what} ${field}`, spec[field]);
  }
  if ((spec.btfKeyTypeId || spec.btfValueTypeId) && options.btf === undefined) {
    throw new InvalidArgumentError(`${what} BTF type ids`, 'the BTF object they refer to in options.btf ({ fd })', 'no options.btf');
  }
  if (options.btf !== undefined) {
    const fd = (options.btf as { fd?: unknown } | null)?.fd;
    if (!Number.isInteger(fd) || (fd as number) < 0)
      throw new InvalidArgumentError('options.btf', 'a BTF handle { fd } with a valid fd', options.btf);
  }
  if (options.vmlinuxValueTypeId !== undefined) checkU32('options.vmlinuxValueTypeId', options.vmlinuxValueTypeId);
  if (options.valueTypeBtfObjFd !== undefined) checkU32('options.valueTypeBtfObjFd', options.valueTypeBtfObjFd);
  if (isMapInMapType(spec.type)) {
    if (typeof spec.innerMap !== 'object' || spec.innerMap === null) {
      throw new InvalidArgumentError(
        `${what} innerMap`,
        `the spec of the inner map (${mapTypeName(spec.type)} maps are created from an inner map template)`,
        spec.innerMap,
      );
    }
    if (isMapInMapType(spec.innerMap.type) && spec.innerMap.innerMap === undefined) {
      throw new InvalidArgumentError(`${what} innerMap`, 'an inner map that is not itself a map of maps', mapTypeName(spec.innerMap.type));
    }
    validate(spec.innerMap, { btf: options.btf }, `${what} innerMap`);
  } else if (spec.innerMap !== undefined) {
    throw new InvalidArgumentError(`${what} innerMap`, 'no inner map (only array_of_maps and hash_of_maps take one)', spec.innerMap);
  }
  if (spec.contents !== undefined) {
    if (!Array.isArray(spec.contents)) throw new InvalidArgumentError(`${what} contents`, 'an array of { key, value }', spec.contents);
    const valueBytes = rawValueSize(spec, isPerCpuMapType(spec.type) ? possibleCpus() : 1);
    spec.contents.forEach((e: { key?: unknown; value?: unknown } | null, i) => {
      if (!(e?.key instanceof Uint8Array) || e.key.byteLength !== spec.keySize) {
        throw new InvalidArgumentError(`${what} contents[${i}].key`, `a Uint8Array of ${spec.keySize} bytes`, e?.key);
      }
      if (!(e.value instanceof Uint8Array) || e.value.byteLength !== valueBytes) {
        throw new InvalidArgumentError(`${what} contents[${i}].value`, `a Uint8Array of ${valueBytes} bytes`, e.value);
      }
    });
  }
}

/**
 * Every argument check {@link createKernelMap} makes before its first
 * system call (spec shape, `numaNode`, `mapExtra`, BTF ids and handle, the
 * inner map, `contents` sizes), without creating anything.
 *
 * @throws InvalidArgumentError naming what was expected
 * @example
 * checkKernelMapSpec({ type: MapType.ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 1 }); // throws: innerMap expected
 */
export function checkKernelMapSpec(spec: MapSpec, options: KernelMapOptions = {}): void {
  validate(spec, options, 'map spec');
}

/** A BTF object with a 4-byte int (id 1) and an opaque struct of `valueSize` bytes (id 3), for maps that need BTF. */
function defaultBtf(valueSize: number): number {
  const b = new BtfBuilder();
  const int = b.addInt('int', 4, true);
  const byte = b.addInt('unsigned char', 1, false);
  const value = b.addStruct('bpfkit_value', valueSize, valueSize > 0 ? [['bytes', byte, 0]] : []);
  if (int !== 1 || value !== 3) throw new Error('bpfkit: BtfBuilder numbered types unexpectedly');
  return btfLoad(
    b.encode(),
    {},
    { subject: 'BTF for a map', hint: 'local storage and struct_ops maps need BTF; pass options.btf with your own' },
  );
}

/** Creates the map and returns its fd; temporary inner maps and BTF objects are closed before returning. */
function createFd(spec: MapSpec, options: KernelMapOptions): number {
  const owned: number[] = [];
  try {
    let btfFd = options.btf?.fd;
    let keyId = spec.btfKeyTypeId ?? 0;
    let valueId = spec.btfValueTypeId ?? 0;
    const needsBtf = (isLocalStorageMapType(spec.type) && !valueId) || (options.vmlinuxValueTypeId && btfFd === undefined);
    if (needsBtf) {
      const fd = defaultBtf(spec.valueSize);
      owned.push(fd);
      btfFd = fd;
      if (isLocalStorageMapType(spec.type)) [keyId, valueId] = [1, 3];
    }
    let innerMapFd: number | undefined;
    if (spec.innerMap) {
      innerMapFd = createFd(spec.innerMap, { btf: options.btf });
      owned.push(innerMapFd);
    }
    const flags =
      ((spec.flags ?? 0) |
        (spec.numaNode !== undefined ? MapFlags.NUMA_NODE : 0) |
        (options.valueTypeBtfObjFd !== undefined ? MapFlags.VTYPE_BTF_OBJ_FD : 0)) >>>
      0;
    const fields = {
      mapType: spec.type,
      keySize: spec.keySize,
      valueSize: spec.valueSize,
      maxEntries: spec.maxEntries,
      mapFlags: flags,
      mapName: kernelObjectName(spec.name),
      numaNode: spec.numaNode ?? 0,
      mapExtra: spec.mapExtra ?? 0n,
      btfFd: btfFd ?? 0,
      btfKeyTypeId: keyId,
      btfValueTypeId: valueId,
      innerMapFd: innerMapFd ?? 0,
      btfVmlinuxValueTypeId: options.vmlinuxValueTypeId ?? 0,
      ...(options.valueTypeBtfObjFd !== undefined ? { valueTypeBtfObjFd: options.valueTypeBtfObjFd } : {}),
    };
    const r = tryBpf(BpfCommand.BPF_MAP_CREATE, encodeMapCreateAttr(fields));
    if (r >= 0) return r;
    const hint = createRefusalHint(spec, -r, { btf: btfFd !== undefined, vmlinuxValueTypeId: options.vmlinuxValueTypeId });
    throw bpfError(BpfCommand.BPF_MAP_CREATE, -r, { subject: `${mapTypeName(spec.type)} map '${spec.name ?? ''}'`, hint });
  } finally {
    for (const fd of owned) native.close(fd);
  }
}

/**
 * BPF_MAP_CREATE from a spec, returning the bare fd (the caller owns it).
 * Every option of the spec is honoured: flags, `numaNode` (sets
 * BPF_F_NUMA_NODE), `mapExtra`, `innerMap` (a temporary template map is
 * created and closed), BTF type ids with `options.btf`, and a small BTF
 * made on the fly for local storage maps. `contents` are not written.
 *
 * @throws InvalidArgumentError for a malformed spec, before any system call
 * @throws BpfError when the kernel refuses, with a hint naming the likely cause
 * @example
 * const fd = createKernelMapFd({ type: MapType.TASK_STORAGE, keySize: 4, valueSize: 8, maxEntries: 0, flags: MapFlags.NO_PREALLOC });
 */
export function createKernelMapFd(spec: MapSpec, options: KernelMapOptions = {}): number {
  validate(spec, options, 'map spec');
  return createFd(spec, options);
}

/**
 * Creates a map from a spec (BPF_MAP_CREATE) and writes its initial
 * `contents`. Bad specs throw {@link InvalidArgumentError} before the
 * system call; kernel refusals throw `BpfError` whose hint names the likely
 * cause (a flag the type does not take, a size rule, a missing feature with
 * the first kernel that has it). Per-CPU values are the flat layout of
 * `possibleCpus()` slots; see {@link createPerCpuKernelMap} for arrays.
 *
 * @example
 * using m = createKernelMap({ name: 'counts', type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 });
 * using b = createKernelMap({ type: MapType.BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 100, mapExtra: 3n }, { key: noKey, value: u32 });
 */
export function createKernelMap(spec: MapSpec, codecs?: undefined, options?: KernelMapOptions): KernelMap;
export function createKernelMap<K, V>(spec: MapSpec, codecs: MapCodecs<K, V> | undefined, options?: KernelMapOptions): KernelMap<K, V>;
export function createKernelMap<K, V>(
  spec: MapSpec,
  codecs?: MapCodecs<K, V>,
  options: KernelMapOptions = {},
): KernelMap<K, V> | KernelMap {
  validate(spec, options, 'map spec');
  const name = kernelObjectName(spec.name);
  const fd = createFd(spec, options);
  const map = new KernelMap<K, V>(fd, { ...spec, name: spec.name ?? name }, codecs);
  try {
    const ops = new KernelMapOps(fd, {
      name: map.name,
      type: spec.type,
      keySize: spec.keySize,
      valueSize: spec.valueSize,
      maxEntries: spec.maxEntries,
      flags: map.flags,
    });
    for (const { key, value } of spec.contents ?? []) ops.update(key, value, 0);
  } catch (err) {
    map.close();
    throw err;
  }
  return map;
}

/**
 * Creates a per-CPU map (percpu_hash, percpu_array, lru_percpu_hash,
 * percpu_cgroup_storage) whose values are arrays of one value per possible
 * CPU, encoded with `codecs.value` into the kernel's flat layout.
 *
 * @throws InvalidArgumentError when the type is not per-CPU
 * @example
 * using m = createPerCpuKernelMap({ type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 }, { key: u32, value: u64 });
 * m.lookup(0); // [0n, 0n] on a machine with 2 possible CPUs
 */
export function createPerCpuKernelMap<K, V>(spec: MapSpec, codecs: MapCodecs<K, V>, options: KernelMapOptions = {}): KernelMap<K, V[]> {
  if (typeof spec !== 'object' || spec === null || !isPerCpuMapType(spec.type)) {
    throw new InvalidArgumentError(
      'per-CPU map spec type',
      'a per-CPU map type (percpu_hash, percpu_array, lru_percpu_hash, percpu_cgroup_storage)',
      typeof spec === 'object' && spec !== null ? mapTypeName(spec.type) : spec,
    );
  }
  if (typeof codecs !== 'object' || codecs === null || typeof codecs.value !== 'object') {
    throw new InvalidArgumentError('per-CPU map codecs', '{ key, value } codecs', codecs);
  }
  if (codecs.value.size !== spec.valueSize) {
    throw new InvalidArgumentError(
      'per-CPU map value codec',
      `a codec of ${spec.valueSize} bytes (one CPU's value)`,
      `${codecs.value.name} of ${codecs.value.size} bytes`,
    );
  }
  return createKernelMap(spec, { key: codecs.key, value: perCpu(codecs.value, possibleCpus()) }, options);
}

/** Builds the spec of an open map fd from the kernel's info. */
function specOf(fd: number): MapSpec {
  const i = mapInfoByFd(fd);
  return { name: i.name, type: i.type, keySize: i.keySize, valueSize: i.valueSize, maxEntries: i.maxEntries, flags: i.mapFlags };
}

/**
 * Wraps an fd this process owns in a {@link KernelMap}, reading its shape
 * from the kernel; `check` sees that shape before the codecs are applied,
 * and may refuse it by throwing. The fd is closed when anything fails (not
 * a map, the check, codecs of other sizes).
 *
 * @example
 * import { objGet } from '@bpfkit/syscalls';
 * using m = adoptMapFd(objGet('/sys/fs/bpf/counts'), { key: u32, value: u64 });
 */
export function adoptMapFd<K, V>(fd: number, codecs?: MapCodecs<K, V>, check?: (found: MapSpec) => void): KernelMap<K, V> {
  try {
    const kind = bpfObjectKind(fd);
    if (kind !== undefined && kind !== 'map') {
      throw new BpfError(Errno.EINVAL, {
        syscall: 'bpf',
        subject: `fd ${fd}`,
        hint: `the object is not a map but a ${kind === 'non-BPF file' ? kind : `BPF ${kind}`}`,
      });
    }
    const spec = specOf(fd);
    check?.(spec);
    // The codecs are checked against the map's sizes here too: a refusal must not leak the fd.
    return new KernelMap<K, V>(fd, spec, codecs);
  } catch (err) {
    native.close(fd);
    throw err;
  }
}

/**
 * Options of {@link openPinnedMap} and {@link openMapById}.
 *
 * @example
 * using m = openPinnedMap('/sys/fs/bpf/counts', undefined, { access: 'rdonly' });
 */
export interface OpenMapOptions {
  /** Open the fd read-only (`BPF_F_RDONLY`) or write-only (`BPF_F_WRONLY`) for user space. */
  access?: 'rdonly' | 'wronly';
}

function accessFlags(options: OpenMapOptions | undefined): number {
  const a = options?.access;
  if (a === undefined) return 0;
  if (a === 'rdonly') return MapFlags.RDONLY;
  if (a === 'wronly') return MapFlags.WRONLY;
  throw new InvalidArgumentError('access', "'rdonly' or 'wronly'", a);
}

/**
 * Opens a map pinned in bpffs (BPF_OBJ_GET).
 *
 * @example
 * using m = openPinnedMap('/sys/fs/bpf/counts', { key: u32, value: u64 });
 */
export function openPinnedMap(path: string): KernelMap;
export function openPinnedMap<K, V>(path: string, codecs: MapCodecs<K, V> | undefined, options?: OpenMapOptions): KernelMap<K, V>;
export function openPinnedMap<K, V>(path: string, codecs?: MapCodecs<K, V>, options?: OpenMapOptions): KernelMap<K, V> | KernelMap {
  if (typeof path !== 'string' || path.length === 0) throw new InvalidArgumentError('pin path', 'a path in bpffs', path);
  const fileFlags = accessFlags(options);
  return adoptMapFd(objGet(path, { fileFlags }, { subject: `pin '${path}'` }), codecs).rememberPin(path);
}

/**
 * Opens a map by its kernel id (BPF_MAP_GET_FD_BY_ID).
 *
 * @example
 * using m = openMapById(42);
 */
export function openMapById(id: number): KernelMap;
export function openMapById<K, V>(id: number, codecs: MapCodecs<K, V> | undefined, options?: OpenMapOptions): KernelMap<K, V>;
export function openMapById<K, V>(id: number, codecs?: MapCodecs<K, V>, options?: OpenMapOptions): KernelMap<K, V> | KernelMap {
  if (!Number.isInteger(id) || id <= 0 || id > 0xffffffff) throw new InvalidArgumentError('map id', 'a positive integer', id);
  const openFlags = accessFlags(options);
  return adoptMapFd(getFdById('map', id, { openFlags }, { subject: `map id ${id}` }), codecs);
}
