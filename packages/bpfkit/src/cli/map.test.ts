import { MapType } from '@bpfkit/core';
import { createKernelMap } from '@bpfkit/maps';
import { mountPrivateBpffs } from '@bpfkit/syscalls';
import { describe, expect, it } from 'vitest';
import { runCli } from './main.js';
import { textFormat } from './value-format.js';
import { whenKernel } from '@bpfkit/syscalls/testing';

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('CLI value formats', () => {
  it('reads and prints hex and named formats, refusing the wrong size', () => {
    expect([...textFormat('hex', 4).parse('01 02 0a ff', 4)]).toEqual([1, 2, 10, 255]);
    expect(textFormat(undefined, 2).print(Uint8Array.of(0xab, 1))).toBe('ab 01');
    expect(textFormat('u64', 8).print(textFormat('u64', 8).parse('18446744073709551615', 8))).toBe('18446744073709551615');
    expect(textFormat('ipv4', 4).print(textFormat('ipv4', 4).parse('10.0.0.1', 4))).toBe('10.0.0.1');
    expect(() => textFormat('hex', 4).parse('0102', 4)).toThrow(/4 bytes as 8 hex digits/);
    expect(() => textFormat('u32', 8).parse('1', 8)).toThrow(/a format of 8 bytes/);
    expect(() => textFormat('float', 4)).toThrow(/one of hex, string, u8/);
  });
});

whenKernel().describe('bpfkit map on the kernel', () => {
  it('shows, updates, looks up, dumps, lists and deletes by pin path and by id', async () => {
    using fsys = mountPrivateBpffs();
    using m = createKernelMap({ name: 'cli_map', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 8 });
    const pin = `${fsys.dir}/cli_map`;
    m.pin(pin);
    const id = String(m.info().id);

    expect((await cli('map', 'show', pin)).out).toMatch(/cli_map/);
    expect((await cli('map', 'update', pin, '7', '700', '--key', 'u32', '--value', 'u64')).code).toBe(0);
    expect((await cli('map', 'update', id, '08 00 00 00', '01 00 00 00 00 00 00 00')).code).toBe(0);
    expect((await cli('map', 'lookup', id, '7', '--key', 'u32', '--value', 'u64')).out).toBe('700');
    const dump = JSON.parse((await cli('map', 'dump', pin, '--key', 'u32', '--value', 'u64', '--json')).out) as {
      key: string;
      value: string;
    }[];
    expect(dump.sort((a, b) => Number(a.key) - Number(b.key))).toEqual([
      { key: '7', value: '700' },
      { key: '8', value: '1' },
    ]);
    const list = JSON.parse((await cli('map', 'list', '--json')).out) as { id: number; name: string }[];
    expect(list.find((i) => String(i.id) === id)?.name).toBe('cli_map');
    expect((await cli('map', 'delete', pin, '7', '--key', 'u32')).code).toBe(0);
    const gone = await cli('map', 'delete', pin, '7', '--key', 'u32');
    expect(gone.code).toBe(1);
    expect(gone.err).toMatch(/ENOENT/);
    const missing = await cli('map', 'lookup', id, '7', '--key', 'u32');
    expect([missing.code, missing.err]).toEqual([1, 'bpfkit map lookup: key not found']);
    m.unpin();
  });

  it('explains bad references and update flags', async () => {
    expect((await cli('map', 'show', 'counts')).err).toMatch(/a map id \(digits\) or an absolute pin path/);
    expect((await cli('map', 'show', '2147483000')).err).toMatch(/ENOENT/);
    expect((await cli('map', 'frobnicate')).err).toMatch(/one of list, show, dump/);
  });
});
