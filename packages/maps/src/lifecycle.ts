import fs from 'node:fs';
import { BpfError, Errno, InvalidArgumentError, MapFlags, MapMismatchError, mapDifferences } from '@bpfkit/core';
import type { MapCodecs, MapDifference, MapInfo, MapSpec, OpenOrCreateOptions } from '@bpfkit/core';
import { objGet, readEachById } from '@bpfkit/syscalls';
import { adoptMapFd, checkKernelMapSpec, createKernelMap, kernelMapInfo, type KernelMap } from './kernel-map.js';
import type { KernelMapOptions } from './kernel-map.js';

/**
 * Every map of the kernel (BPF_MAP_GET_NEXT_ID, then the info of each).
 * Maps that vanish during the walk (ENOENT) and maps this process may not
 * open (EPERM, e.g. exclusive maps) are skipped.
 *
 * @throws BpfError EPERM when this process may not list maps at all
 * @example
 * for (const m of listMaps()) console.log(m.id, mapTypeName(m.type), m.name);
 */
export function listMaps(): MapInfo[] {
  return readEachById('map', (fd, id) => kernelMapInfo(fd, `map id ${id}`));
}

/** Thrown by the check of a pinned map that differs from the spec (the fd is closed, the differences kept). */
const MISMATCH = Symbol('pinned map differs');

/**
 * Opens the map pinned at `options.pinPath` when it matches `spec` (type,
 * key and value size, max entries, flags); creates and pins it when nothing
 * is pinned there. On a mismatch, `onMismatch: 'fail'` (the default) throws
 * {@link MapMismatchError} naming every difference; `'replace'` creates a
 * new map, then swaps the pin over to it (the old map lives on while
 * others hold it). A pinned map is opened with the spec's `BPF_F_RDONLY` /
 * `BPF_F_WRONLY` access.
 *
 * @throws InvalidArgumentError for a bad spec, path or option, before any system call
 * @throws MapMismatchError when the pinned map differs and onMismatch is 'fail'
 * @example
 * import { mountPrivateBpffs } from '@bpfkit/syscalls';
 * using fsys = mountPrivateBpffs();
 * using m = openOrCreateMap({ name: 'counts', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 100 },
 *   { pinPath: `${fsys.dir}/counts` }, { key: u32, value: u64 });
 */
export function openOrCreateMap(spec: MapSpec, options: OpenOrCreateOptions): KernelMap;
export function openOrCreateMap<K, V>(
  spec: MapSpec,
  options: OpenOrCreateOptions,
  codecs: MapCodecs<K, V> | undefined,
  createOptions?: KernelMapOptions,
): KernelMap<K, V>;
export function openOrCreateMap<K, V>(
  spec: MapSpec,
  options: OpenOrCreateOptions,
  codecs?: MapCodecs<K, V>,
  createOptions: KernelMapOptions = {},
): KernelMap<K, V> | KernelMap {
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError('openOrCreate options', '{ pinPath, onMismatch? }', options);
  const { pinPath, onMismatch = 'fail' } = options;
  if (typeof pinPath !== 'string' || pinPath.length === 0) throw new InvalidArgumentError('pinPath', 'a path in bpffs', pinPath);
  if (onMismatch !== 'fail' && onMismatch !== 'replace') throw new InvalidArgumentError('onMismatch', "'fail' or 'replace'", onMismatch);
  // Checks the whole spec without creating anything (an invalid spec must not touch an existing pin).
  checkKernelMapSpec(spec, createOptions);
  const fileFlags = (spec.flags ?? 0) & (MapFlags.RDONLY | MapFlags.WRONLY);
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = objGet(pinPath, { fileFlags }, { subject: `open pinned '${pinPath}'` });
    } catch (err) {
      if (!(err instanceof BpfError) || err.errno !== Errno.ENOENT) throw err;
      // Nothing pinned: create and pin. Another process may pin first (EEXIST): then open theirs.
      const created = createKernelMap(spec, codecs, createOptions);
      try {
        created.pin(pinPath);
        return created;
      } catch (pinErr) {
        created.close();
        if (pinErr instanceof BpfError && pinErr.errno === Errno.EEXIST && attempt < 3) continue;
        throw pinErr;
      }
    }
    // Compared before the codecs are applied: codecs sized for the spec would refuse a pinned map of
    // another size with their own error, where the caller asked for the differences.
    let differences: MapDifference[] = [];
    try {
      return adoptMapFd(fd, codecs ? { key: codecs.key, value: codecs.value } : undefined, (found) => {
        differences = mapDifferences({ ...found, flags: found.flags ?? 0 }, spec);
        if (differences.length > 0) throw MISMATCH;
      }).rememberPin(pinPath);
    } catch (err) {
      if (err !== MISMATCH) throw err;
    }
    if (onMismatch === 'fail') throw new MapMismatchError(pinPath, differences);
    // Replace: create first, so a refused spec leaves the old pin in place.
    const created = createKernelMap(spec, codecs, createOptions);
    try {
      fs.rmSync(pinPath, { force: true });
      created.pin(pinPath);
      return created;
    } catch (err) {
      created.close();
      if (err instanceof BpfError && err.errno === Errno.EEXIST && attempt < 3) continue;
      throw err;
    }
  }
}
