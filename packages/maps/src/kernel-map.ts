import fs from 'node:fs';
import { BpfError, checkMapSpec, Errno, InvalidArgumentError, MapBase } from '@bpfkit/core';
import type { Codec, MapCodecs, MapInfo, MapSpec, RawMapOps } from '@bpfkit/core';
import { closeFd, getFdById, kernelObjectName, mapCreate, mapFreeze, mapInfoByFd, native, objGet, objPin } from '@bpfkit/syscalls';
import { mapError } from './errors.js';

const ENOENT = -Errno.ENOENT;

/** Reads `frozen:` from /proc/self/fdinfo (bpf_map_info has no such field). */
function isFrozen(fd: number): boolean {
  try {
    return /^frozen:\s*1$/m.test(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  } catch {
    return false;
  }
}

/** {@link RawMapOps} over a map file descriptor, through the addon's no-allocation entry points. */
class KernelMapOps implements RawMapOps {
  constructor(readonly fd: number, readonly name: string, readonly maxEntries: number) {}

  lookup(key: Uint8Array, value: Uint8Array): boolean {
    const rc = native.mapLookup(this.fd, key, value, 0);
    if (rc === 0) return true;
    if (rc === ENOENT) return false;
    throw mapError('BPF_MAP_LOOKUP_ELEM', -rc, this.name, this.maxEntries);
  }

  update(key: Uint8Array, value: Uint8Array, flags: number): void {
    const rc = native.mapUpdate(this.fd, key, value, flags);
    if (rc < 0) throw mapError('BPF_MAP_UPDATE_ELEM', -rc, this.name, this.maxEntries);
  }

  delete(key: Uint8Array): boolean {
    const rc = native.mapDelete(this.fd, key, 0);
    if (rc === 0) return true;
    if (rc === ENOENT) return false;
    throw mapError('BPF_MAP_DELETE_ELEM', -rc, this.name, this.maxEntries);
  }

  lookupAndDelete(key: Uint8Array | null, value: Uint8Array): boolean {
    const rc = native.mapLookupAndDelete(this.fd, key, value, 0);
    if (rc === 0) return true;
    if (rc === ENOENT) return false;
    throw mapError('BPF_MAP_LOOKUP_AND_DELETE_ELEM', -rc, this.name, this.maxEntries);
  }

  nextKey(key: Uint8Array | null, next: Uint8Array): boolean {
    const rc = native.mapNextKey(this.fd, key, next);
    if (rc === 0) return true;
    if (rc === ENOENT) return false;
    throw mapError('BPF_MAP_GET_NEXT_KEY', -rc, this.name, this.maxEntries);
  }

  pin(path: string): void {
    objPin(path, this.fd, {}, { subject: `map '${this.name}'` });
  }

  unpin(path: string): void {
    try {
      fs.unlinkSync(path);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new BpfError(-(e.errno ?? -Errno.EIO), { syscall: 'unlink', subject: `map '${this.name}' pin ${path}` });
    }
  }

  freeze(): void {
    mapFreeze(this.fd, { subject: `map '${this.name}'` });
  }

  info(): MapInfo {
    const i = mapInfoByFd(this.fd, undefined, { subject: `map '${this.name}'` });
    return {
      id: i.id, name: i.name, type: i.type, keySize: i.keySize, valueSize: i.valueSize, maxEntries: i.maxEntries,
      flags: i.mapFlags, btfId: i.btfId, btfKeyTypeId: i.btfKeyTypeId, btfValueTypeId: i.btfValueTypeId,
      mapExtra: BigInt(i.mapExtra), frozen: isFrozen(this.fd),
    };
  }

  release(): void {
    native.close(this.fd);
  }
}

/**
 * A map on the running kernel. Create one with {@link createKernelMap}, open a
 * pinned one with {@link openPinnedMap}, or one by id with {@link openMapById}.
 *
 * @example
 * using m = createKernelMap({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 64 }, { key: u32, value: u64 });
 * m.update(1, 2n);
 */
export class KernelMap<K = Uint8Array, V = Uint8Array> extends MapBase<K, V> {
  readonly fd: number;

  /** Takes ownership of `fd` (closed on `close()`). */
  constructor(fd: number, spec: MapSpec, codecs?: { key?: Codec<K>; value?: Codec<V> }) {
    const ops = new KernelMapOps(fd, spec.name ?? '', spec.maxEntries);
    try {
      super(spec, ops, codecs);
    } catch (err) {
      native.close(fd); // a codec mismatch must not leak the fd
      throw err;
    }
    this.fd = fd;
  }
}

/**
 * Creates a map from a spec (BPF_MAP_CREATE) and writes its initial
 * `contents`. Bad specs throw {@link InvalidArgumentError} before the
 * system call; kernel refusals throw `BpfError`.
 *
 * @example
 * using m = createKernelMap({ name: 'counts', type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 });
 */
export function createKernelMap(spec: MapSpec): KernelMap;
export function createKernelMap<K, V>(spec: MapSpec, codecs: MapCodecs<K, V>): KernelMap<K, V>;
export function createKernelMap<K, V>(spec: MapSpec, codecs?: MapCodecs<K, V>): KernelMap<K, V> | KernelMap {
  checkMapSpec(spec);
  const name = kernelObjectName(spec.name);
  const fd = mapCreate(
    {
      mapType: spec.type, keySize: spec.keySize, valueSize: spec.valueSize, maxEntries: spec.maxEntries,
      mapFlags: spec.flags ?? 0, mapName: name, numaNode: spec.numaNode ?? 0, mapExtra: spec.mapExtra ?? 0n,
      btfKeyTypeId: spec.btfKeyTypeId ?? 0, btfValueTypeId: spec.btfValueTypeId ?? 0,
    },
    { subject: `map '${spec.name ?? ''}'` },
  );
  const map = new KernelMap<K, V>(fd, { ...spec, name: spec.name ?? name }, codecs);
  try {
    for (const { key, value } of spec.contents ?? []) new KernelMapOps(fd, map.name, spec.maxEntries).update(key, value, 0);
  } catch (err) {
    map.close();
    throw err;
  }
  return map;
}

/** Builds the spec of an open map fd from the kernel's info. */
function specOf(fd: number): MapSpec {
  const i = mapInfoByFd(fd);
  return { name: i.name, type: i.type, keySize: i.keySize, valueSize: i.valueSize, maxEntries: i.maxEntries, flags: i.mapFlags };
}

function adopt<K, V>(fd: number, codecs?: MapCodecs<K, V>): KernelMap<K, V> {
  let spec: MapSpec;
  try {
    spec = specOf(fd);
  } catch (err) {
    closeFd(fd);
    throw err;
  }
  return new KernelMap<K, V>(fd, spec, codecs);
}

/**
 * Opens a map pinned in bpffs (BPF_OBJ_GET).
 *
 * @example
 * using m = openPinnedMap('/sys/fs/bpf/counts', { key: u32, value: u64 });
 */
export function openPinnedMap(path: string): KernelMap;
export function openPinnedMap<K, V>(path: string, codecs: MapCodecs<K, V>): KernelMap<K, V>;
export function openPinnedMap<K, V>(path: string, codecs?: MapCodecs<K, V>): KernelMap<K, V> | KernelMap {
  if (typeof path !== 'string' || path.length === 0) throw new InvalidArgumentError('pin path', 'a path in bpffs', path);
  return adopt(objGet(path, {}, { subject: `pin '${path}'` }), codecs);
}

/**
 * Opens a map by its kernel id (BPF_MAP_GET_FD_BY_ID).
 *
 * @example
 * using m = openMapById(42);
 */
export function openMapById(id: number): KernelMap;
export function openMapById<K, V>(id: number, codecs: MapCodecs<K, V>): KernelMap<K, V>;
export function openMapById<K, V>(id: number, codecs?: MapCodecs<K, V>): KernelMap<K, V> | KernelMap {
  if (!Number.isInteger(id) || id <= 0) throw new InvalidArgumentError('map id', 'a positive integer', id);
  return adopt(getFdById('map', id, {}, { subject: `map id ${id}` }), codecs);
}
