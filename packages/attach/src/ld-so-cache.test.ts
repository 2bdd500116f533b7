import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from '@bpfkit/core';
import { describe, expect, it } from 'vitest';
import { resolveBinary } from './hooks/uprobe.js';
import { ldSoCachePath, lookupLdSoCache, parseLdSoCache } from './ld-so-cache.js';

const LE = os.endianness() === 'LE';
const HWCAPS = 1n << 62n;

interface Entry {
  name: string;
  path: string;
  flags: number;
  hwcap?: bigint;
}

/** A new-format cache ("glibc-ld.so.cache1.1") holding `entries` in the given order, written by hand from dl-cache.h. */
function newFormat(entries: readonly Entry[], byteOrder: number = LE ? 2 : 3): Uint8Array {
  const header = 48 + entries.length * 24;
  const strings: number[] = [];
  const offsetOf = new Map<string, number>();
  const intern = (s: string) => {
    if (!offsetOf.has(s)) {
      offsetOf.set(s, header + strings.length);
      strings.push(...Buffer.from(`${s}\0`, 'latin1'));
    }
    return offsetOf.get(s)!;
  };
  const keys = entries.map((e) => [intern(e.name), intern(e.path)] as const);
  const out = new Uint8Array(header + strings.length);
  const v = new DataView(out.buffer);
  out.set(Buffer.from('glibc-ld.so.cache1.1', 'latin1'));
  v.setUint32(20, entries.length, LE);
  v.setUint32(24, strings.length, LE);
  out[28] = byteOrder;
  entries.forEach((e, i) => {
    const at = 48 + i * 24;
    v.setInt32(at, e.flags, LE);
    v.setUint32(at + 4, keys[i]![0], LE);
    v.setUint32(at + 8, keys[i]![1], LE);
    v.setBigUint64(at + 16, e.hwcap ?? 0n, LE);
  });
  out.set(strings, header);
  return out;
}

/** An old-format cache ("ld.so-1.7.0"); with `embedded`, the new format follows at the next multiple of 8 (offsets then count from it). */
function oldFormat(entries: readonly Entry[], embedded?: Uint8Array): Uint8Array {
  const head = 16 + entries.length * 12;
  if (embedded) {
    const at = (head + 7) & ~7;
    const out = new Uint8Array(at + embedded.byteLength);
    out.set(Buffer.from('ld.so-1.7.0', 'latin1'));
    new DataView(out.buffer).setUint32(12, entries.length, LE);
    out.set(embedded, at);
    return out;
  }
  const strings: number[] = [];
  const index = (s: string) => {
    const o = strings.length;
    strings.push(...Buffer.from(`${s}\0`, 'latin1'));
    return o;
  };
  const out = new Uint8Array(head + 64 * entries.length);
  const v = new DataView(out.buffer);
  out.set(Buffer.from('ld.so-1.7.0', 'latin1'));
  v.setUint32(12, entries.length, LE);
  entries.forEach((e, i) => {
    v.setInt32(16 + i * 12, e.flags, LE);
    v.setUint32(20 + i * 12, index(e.name), LE);
    v.setUint32(24 + i * 12, index(e.path), LE);
  });
  out.set(strings, head);
  return out.subarray(0, head + strings.length);
}

const X64 = 0x0303;
const ARM64 = 0x0a03;
const I386 = 0x0003;

describe('uprobe: libraries by name through /etc/ld.so.cache', () => {
  const crafted = newFormat([
    { name: 'libbar.so.2', path: '/opt/arm64/libbar.so.2', flags: ARM64 },
    { name: 'libfoo.so.1', path: '/opt/glibc-hwcaps/x86-64-v3/libfoo.so.1', flags: X64, hwcap: HWCAPS | 0n },
    { name: 'libfoo.so.1', path: '/opt/i386/libfoo.so.1', flags: I386 },
    { name: 'libfoo.so.1', path: '/opt/legacy-hwcap/libfoo.so.1', flags: X64, hwcap: 1n },
    { name: 'libfoo.so.1', path: '/opt/x64/libfoo.so.1', flags: X64 },
  ]);

  it('uprobe: a crafted cache: entries in file order, the hwcaps marker read from bit 62', () => {
    const entries = parseLdSoCache(crafted);
    expect(entries.map((e) => [e.name, e.path, e.flags, e.glibcHwcaps])).toEqual([
      ['libbar.so.2', '/opt/arm64/libbar.so.2', ARM64, false],
      ['libfoo.so.1', '/opt/glibc-hwcaps/x86-64-v3/libfoo.so.1', X64, true],
      ['libfoo.so.1', '/opt/i386/libfoo.so.1', I386, false],
      ['libfoo.so.1', '/opt/legacy-hwcap/libfoo.so.1', X64, false],
      ['libfoo.so.1', '/opt/x64/libfoo.so.1', X64, false],
    ]);
  });

  it('uprobe: a crafted cache: the lookup takes the plain entry of this architecture, past hwcaps and foreign entries', () => {
    const entries = parseLdSoCache(crafted);
    expect(lookupLdSoCache(entries, 'libfoo.so.1', 'x64')).toBe('/opt/x64/libfoo.so.1');
    expect(lookupLdSoCache(entries, 'libbar.so.2', 'arm64')).toBe('/opt/arm64/libbar.so.2');
    expect(lookupLdSoCache(entries, 'libbar.so.2', 'x64')).toBeUndefined();
    expect(lookupLdSoCache(entries, 'libfoo.so.1', 'arm64')).toBeUndefined();
    expect(lookupLdSoCache(entries, 'libnone.so.0', 'x64')).toBeUndefined();
    expect(lookupLdSoCache(entries, 'libfoo.so.1', 'riscv64')).toBeUndefined();
  });

  it('uprobe: a crafted cache in the old format, alone or carrying the new one', () => {
    const old = oldFormat([{ name: 'libold.so.1', path: '/opt/old/libold.so.1', flags: X64 }]);
    expect(lookupLdSoCache(parseLdSoCache(old), 'libold.so.1', 'x64')).toBe('/opt/old/libold.so.1');
    const both = oldFormat([{ name: 'ignored.so', path: '/ignored', flags: X64 }], crafted);
    expect(lookupLdSoCache(parseLdSoCache(both), 'libfoo.so.1', 'x64')).toBe('/opt/x64/libfoo.so.1');
  });

  it('uprobe: refuses bytes that are no cache, a cache of the other byte order, and more entries than the file holds', () => {
    expect(() => parseLdSoCache(new TextEncoder().encode('not a cache at all, just some text here....'))).toThrow(InvalidArgumentError);
    expect(() => parseLdSoCache(newFormat([{ name: 'a', path: '/a', flags: X64 }], LE ? 3 : 2))).toThrow(/-endian machine/);
    expect(() => parseLdSoCache(newFormat([{ name: 'a', path: '/a', flags: X64 }], 1))).toThrow(/-endian machine/);
    const short = newFormat([{ name: 'a', path: '/a', flags: X64 }]);
    new DataView(short.buffer).setUint32(20, 1000, LE);
    expect(() => parseLdSoCache(short)).toThrow(/1000 entries within the file/);
  });

  const ldconfig = ['/sbin/ldconfig', '/usr/sbin/ldconfig'].find((p) => fs.existsSync(p));
  const realCache = fs.existsSync('/etc/ld.so.cache') ? '/etc/ld.so.cache' : undefined;
  const noReal =
    realCache === undefined
      ? 'no /etc/ld.so.cache on this machine'
      : ldconfig === undefined
        ? 'no ldconfig to compare with'
        : process.arch !== 'x64' && process.arch !== 'arm64'
          ? `no ld.so.cache flags known for ${process.arch}`
          : undefined;

  it.skipIf(noReal !== undefined)(
    `uprobe: the machine's /etc/ld.so.cache agrees with ldconfig -p, entry for entry${noReal ? ` — skipped: ${noReal}` : ''}`,
    () => {
      const printed = spawnSync(ldconfig!, ['-p'], { encoding: 'utf8' });
      expect(printed.status).toBe(0);
      const lines = printed.stdout.split('\n');
      const count = Number(/^(\d+) libs found/.exec(lines[0]!)?.[1]);
      const entries = parseLdSoCache(new Uint8Array(fs.readFileSync(realCache!)));
      expect(entries.length).toBe(count);
      // "\tlibc.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libc.so.6", in file order.
      const listed = lines.slice(1, count + 1).map((l) => /^\t(\S+) \(.*\) => (.*)$/.exec(l)!.slice(1, 3));
      expect(entries.map((e) => [e.name, e.path])).toEqual(listed);
      const libc = listed.find(([name, ,]) => name === 'libc.so.6');
      if (libc) {
        expect(ldSoCachePath('libc.so.6')).toBe(libc[1]);
        expect(resolveBinary('libc.so.6')).toBe(libc[1]);
      }
    },
  );

  it('uprobe: LD_LIBRARY_PATH comes before the cache, and a library nowhere is refused naming where it was looked for', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfkit-ldpath-'));
    const saved = process.env.LD_LIBRARY_PATH;
    try {
      fs.writeFileSync(path.join(dir, 'libc.so.6'), '');
      process.env.LD_LIBRARY_PATH = `relative/ignored:${dir}`;
      expect(resolveBinary('libc.so.6')).toBe(path.join(dir, 'libc.so.6'));
      expect(() => resolveBinary('libbpfkit-none.so.1')).toThrow(new RegExp(`expected a library in ${dir}, /etc/ld.so.cache, .*/lib`));
    } finally {
      if (saved === undefined) delete process.env.LD_LIBRARY_PATH;
      else process.env.LD_LIBRARY_PATH = saved;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
