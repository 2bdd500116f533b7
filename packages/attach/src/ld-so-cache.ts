/**
 * glibc's `/etc/ld.so.cache`: where the dynamic loader finds a shared
 * library by name after LD_LIBRARY_PATH and before its default directories.
 *
 * Facts from glibc (sysdeps/generic/dl-cache.h, elf/dl-cache.c, elf/ldconfig.h):
 * - the current format starts with "glibc-ld.so.cache" "1.1"; a 48-byte
 *   header (u32 nlibs at 20, u32 len_strings at 24, u8 flags at 28 whose
 *   low two bits give the byte order: 0 unknown, 1 invalid, 2 little,
 *   3 big; u32 extension_offset at 32), then nlibs 24-byte entries
 *   (s32 flags, u32 key, u32 value, u32 osversion, u64 hwcap), then the
 *   strings. `key` (the soname) and `value` (the path) are offsets from the
 *   start of that header.
 * - the old format ("ld.so-1.7.0", 16-byte header, 12-byte entries whose
 *   offsets count from the end of the entries) may carry the new one after
 *   its entries, at the next multiple of 8; the loader then reads the new one.
 * - an entry is usable when its flags are the architecture's
 *   `_DL_CACHE_DEFAULT_ID` (FLAG_ELF_LIBC6 | the architecture's bits:
 *   0x0303 on x86-64, 0x0a03 on arm64) and its hwcap is 0. Entries whose
 *   hwcap has bit 62 (DL_CACHE_HWCAP_EXTENSION) name a glibc-hwcaps
 *   subdirectory (x86-64-v3, …) the loader prefers when the CPU has that
 *   ISA level; other non-zero hwcaps are a mechanism glibc 2.37 dropped.
 *
 * @module
 */
import fs from 'node:fs';
import os from 'node:os';
import { InvalidArgumentError } from '@bpfkit/core';

const MAGIC_NEW = 'glibc-ld.so.cache1.1';
const MAGIC_OLD = 'ld.so-1.7.0';
const NEW_HEADER = 48;
const NEW_ENTRY = 24;
const OLD_HEADER = 16;
const OLD_ENTRY = 12;
const HWCAP_EXTENSION = 1n << 62n;
/** Upper 32 bits of hwcap that are ISA level bits, not part of the extension marker (DL_CACHE_HWCAP_ISA_LEVEL_MASK). */
const ISA_LEVEL_MASK = (1n << 10n) - 1n;

/** FLAG_ELF_LIBC6 | the architecture's FLAG_*_LIB64 (elf/ldconfig.h): what `_dl_cache_check_flags` accepts. */
const DEFAULT_ID: Readonly<Record<string, number>> = {
  x64: 0x0303,
  arm64: 0x0a03,
};

/** One library of the cache. */
export interface LdSoCacheEntry {
  /** The soname the loader looks up (`libc.so.6`). */
  readonly name: string;
  /** Where it is (`/lib/x86_64-linux-gnu/libc.so.6`). */
  readonly path: string;
  /** `file_entry.flags`: FLAG_ELF_LIBC6 (3) plus the architecture bits. */
  readonly flags: number;
  /** `file_entry_new.hwcap` (0 for the plain entry; 0 in the old format). */
  readonly hwcap: bigint;
  /** Whether this is a glibc-hwcaps subdirectory entry (bit 62 of hwcap). */
  readonly glibcHwcaps: boolean;
}

/** Reads a NUL-terminated string at `at`; undefined when `at` is outside `bytes`. */
function stringAt(bytes: Uint8Array, at: number): string | undefined {
  if (at < 0 || at >= bytes.byteLength) return undefined;
  const end = bytes.indexOf(0, at);
  return new TextDecoder().decode(bytes.subarray(at, end < 0 ? bytes.byteLength : end));
}

/**
 * Every entry of an ld.so.cache image, in file order (the loader's order:
 * sorted by name, glibc-hwcaps entries before the plain one of a name).
 * Throws on bytes that are not an ld.so.cache, or one written for the
 * other byte order.
 *
 * @example
 * const entries = parseLdSoCache(fs.readFileSync('/etc/ld.so.cache'));
 * entries.find((e) => e.name === 'libc.so.6')?.path; // '/lib/x86_64-linux-gnu/libc.so.6'
 */
export function parseLdSoCache(bytes: Uint8Array): LdSoCacheEntry[] {
  const latin1 = (at: number, n: number) => String.fromCharCode(...bytes.subarray(at, at + n));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = os.endianness() === 'LE';
  let base: number;
  if (bytes.byteLength >= NEW_HEADER && latin1(0, MAGIC_NEW.length) === MAGIC_NEW) {
    base = 0;
  } else if (bytes.byteLength >= OLD_HEADER && latin1(0, MAGIC_OLD.length) === MAGIC_OLD) {
    const oldCount = view.getUint32(12, le);
    const oldEnd = OLD_HEADER + oldCount * OLD_ENTRY;
    const newAt = (oldEnd + 7) & ~7;
    if (bytes.byteLength >= newAt + NEW_HEADER && latin1(newAt, MAGIC_NEW.length) === MAGIC_NEW) {
      base = newAt;
    } else {
      // Only the old format: offsets count from the end of its entries; no hwcaps.
      if (oldEnd > bytes.byteLength) throw new InvalidArgumentError('ld.so.cache', `${oldCount} entries within the file`, bytes);
      const strings = bytes.subarray(oldEnd);
      const out: LdSoCacheEntry[] = [];
      for (let i = 0; i < oldCount; i++) {
        const at = OLD_HEADER + i * OLD_ENTRY;
        const name = stringAt(strings, view.getUint32(at + 4, le));
        const path = stringAt(strings, view.getUint32(at + 8, le));
        if (name !== undefined && path !== undefined) out.push({ name, path, flags: view.getInt32(at, le), hwcap: 0n, glibcHwcaps: false });
      }
      return out;
    }
  } else {
    throw new InvalidArgumentError('ld.so.cache', `a glibc ld.so.cache ("${MAGIC_NEW}" or "${MAGIC_OLD}")`, bytes);
  }
  const count = view.getUint32(base + 20, le);
  const order = bytes[base + 28]! & 3;
  if (order === 1 || (order !== 0 && order !== (le ? 2 : 3)))
    throw new InvalidArgumentError('ld.so.cache', `a cache for this ${le ? 'little' : 'big'}-endian machine`, `flags ${order}`);
  if (base + NEW_HEADER + count * NEW_ENTRY > bytes.byteLength)
    throw new InvalidArgumentError('ld.so.cache', `${count} entries within the file`, bytes);
  const strings = bytes.subarray(base);
  const out: LdSoCacheEntry[] = [];
  for (let i = 0; i < count; i++) {
    const at = base + NEW_HEADER + i * NEW_ENTRY;
    const name = stringAt(strings, view.getUint32(at + 4, le));
    const path = stringAt(strings, view.getUint32(at + 8, le));
    if (name === undefined || path === undefined) continue; // an index past the file: the loader skips it too
    const hwcap = view.getBigUint64(at + 16, le);
    const glibcHwcaps = ((hwcap >> 32n) & ~ISA_LEVEL_MASK) === HWCAP_EXTENSION >> 32n;
    out.push({ name, path, flags: view.getInt32(at, le), hwcap, glibcHwcaps });
  }
  return out;
}

/**
 * The path the cache gives for library `name` on this architecture: the
 * first plain entry (hwcap 0) whose flags the loader accepts. glibc-hwcaps
 * entries are passed over (which of them the loader takes depends on the
 * CPU's ISA level); undefined when the cache has no such entry or the
 * architecture is not one bpfkit knows the flags of.
 *
 * @example
 * lookupLdSoCache(parseLdSoCache(fs.readFileSync('/etc/ld.so.cache')), 'libc.so.6');
 */
export function lookupLdSoCache(entries: readonly LdSoCacheEntry[], name: string, arch: string = process.arch): string | undefined {
  const wanted = DEFAULT_ID[arch];
  if (wanted === undefined) return undefined;
  return entries.find((e) => e.name === name && e.flags === wanted && e.hwcap === 0n)?.path;
}

let cached: { mtimeMs: number; size: number; entries: LdSoCacheEntry[] } | undefined;

/**
 * Library `name` as /etc/ld.so.cache lists it (read again when the file
 * changes); undefined without a cache, with one that cannot be read, or
 * without an entry for it.
 *
 * @example
 * ldSoCachePath('libc.so.6'); // '/lib/x86_64-linux-gnu/libc.so.6'
 */
export function ldSoCachePath(name: string, file = '/etc/ld.so.cache'): string | undefined {
  let entries: LdSoCacheEntry[];
  try {
    const st = fs.statSync(file);
    if (file === '/etc/ld.so.cache' && cached && cached.mtimeMs === st.mtimeMs && cached.size === st.size) entries = cached.entries;
    else {
      entries = parseLdSoCache(new Uint8Array(fs.readFileSync(file)));
      if (file === '/etc/ld.so.cache') cached = { mtimeMs: st.mtimeMs, size: st.size, entries };
    }
  } catch {
    return undefined; // no cache, or not one the loader would read: it goes on to its default directories
  }
  return lookupLdSoCache(entries, name);
}
