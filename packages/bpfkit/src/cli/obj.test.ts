import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { programInfo } from '@bpfkit/attach';
import { parseElf } from '@bpfkit/elf';
import { mountPrivateBpffs } from '@bpfkit/syscalls';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './main.js';
import type { ObjectReport } from './obj.js';
import { kernelHas, whenKernel } from '@bpfkit/syscalls/testing';

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const object = path.resolve(import.meta.dirname, '../../../elf/testdata/basics.bpf.o');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfkit-obj-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const openFds = () => fs.readdirSync('/proc/self/fd').length;

describe('bpfkit obj inspect', () => {
  it('reports sections, maps, global variables, programs with references, and BTF', async () => {
    const r = await cli('obj', 'inspect', object, '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as ObjectReport;
    expect(report.sections.find((s) => s.name === 'xdp')).toMatchObject({ type: 'progbits', flags: ['alloc', 'execinstr'] });
    expect(report.sections.find((s) => s.name === '.bss')).toMatchObject({ type: 'nobits', size: 8, flags: ['write', 'alloc'] });
    expect(report.maps).toEqual([
      {
        name: 'flows',
        source: 'btf',
        type: 'hash',
        keySize: 12,
        valueSize: 8,
        maxEntries: 1024,
        flags: ['no_prealloc'],
        pinning: 'by-name',
      },
      { name: 'events', source: 'btf', type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 65536, flags: [], pinning: 'none' },
      {
        name: 'outer',
        source: 'btf',
        type: 'array_of_maps',
        keySize: 4,
        valueSize: 4,
        maxEntries: 4,
        flags: [],
        pinning: 'none',
        inner: { name: 'outer.inner', type: 'array', keySize: 4, valueSize: 4, maxEntries: 1, flags: [] },
      },
    ]);
    // Offsets come from the symbols: the object's DATASEC leaves them at 0.
    expect(report.globals).toEqual([
      {
        section: '.rodata',
        size: 6,
        readOnly: true,
        variables: [
          { name: 'target_pid', offset: 0, size: 4 },
          { name: 'delta', offset: 4, size: 2 },
        ],
      },
      { section: '.bss', size: 8, readOnly: false, variables: [{ name: 'packets', offset: 0, size: 8 }] },
      { section: '.data', size: 4, readOnly: false, variables: [{ name: 'initialised', offset: 0, size: 4 }] },
    ]);
    const xdp = report.programs.find((p) => p.name === 'count_packets')!;
    expect(xdp).toMatchObject({ section: 'xdp', type: 'xdp', expectedAttachType: 'xdp', attachTo: null });
    // The linked program: the xdp section's code plus add_one from .text.
    const elf = parseElf(new Uint8Array(fs.readFileSync(object)));
    expect(xdp.instructions).toBe((elf.section('xdp')!.size + elf.section('.text')!.size) / 8);
    expect(xdp.references.filter((x) => x.kind === 'map').map((x) => x.target)).toEqual(['flows', 'flows']);
    expect(
      xdp.references
        .filter((x) => x.kind === 'map_value')
        .map((x) => `${x.target}+${x.offset}`)
        .sort(),
    ).toEqual(['.bss+0', '.rodata+0', '.rodata+4']);
    expect(report.programs.find((p) => p.name === 'trace_openat')).toMatchObject({
      type: 'tracepoint',
      expectedAttachType: null,
      attachTo: 'syscalls/sys_enter_openat',
    });
    expect(report.license).toBe('GPL');
    expect(report.btf!.ext).toBe(true);
    expect(report.btf!.kinds).toMatchObject({ datasec: 5, func: 3 });
    expect(report.btf!.types).toBe(Object.values(report.btf!.kinds).reduce((a, b) => a + b, 0));
  });

  it('prints the same as tables', async () => {
    const r = await cli('obj', 'inspect', object);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ {2}flows\s+btf\s+hash\s+12\s+8\s+1024\s+no_prealloc\s+by-name$/m);
    expect(r.out).toMatch(/^ {2}outer \(inner: array 4\/4\/1\)\s+btf\s+array_of_maps/m);
    expect(r.out).toMatch(/^ {4}delta\s+4\s+2$/m);
    expect(r.out).toMatch(
      /^ {2}count_packets\s+xdp\s+xdp\s+xdp\s+-\s+\d+\s+\d+\/\d+\s+0\s+global \.rodata\+0, map flows x2, global \.bss\+0, global \.rodata\+4$/m,
    );
    expect(r.out).toMatch(
      /^ {2}trace_openat\s+tracepoint\/syscalls\/sys_enter_openat\s+tracepoint\s+-\s+syscalls\/sys_enter_openat\s+\d+\s+\d+\/\d+\s+0\s+map events, global \.data\+0$/m,
    );
    expect(r.out).toMatch(/^btf: \d+ types \(.*datasec 5.*\), \.BTF\.ext: yes$/m);
  });

  it('refuses a missing file, a file that is not ELF and a bad subcommand, with typed errors and exit code 1', async () => {
    const missing = await cli('obj', 'inspect', path.join(dir, 'nope.o'));
    expect(missing.code).toBe(1);
    expect(missing.err).toBe(
      `bpfkit obj: object '${path.join(dir, 'nope.o')}': open failed: ENOENT (no such entry): cannot read the object file`,
    );
    const text = path.join(dir, 'text.o');
    fs.writeFileSync(text, 'hello');
    const notElf = await cli('obj', 'inspect', text);
    expect(notElf.code).toBe(1);
    expect(notElf.err).toMatch(/ELF: file of 5 bytes is shorter than the 64-byte ELF header/);
    expect((await cli('obj', 'load', text)).err).toMatch(/shorter than the 64-byte ELF header/);
    expect((await cli('obj', 'inspect')).err).toMatch(/file: expected a BPF object file/);
    const bad = await cli('obj', 'unpack', object);
    expect([bad.code, bad.err]).toEqual([1, 'bpfkit obj: obj command: expected one of inspect, load, got the string "unpack"']);
  });
});

/** basics.bpf.o with trace_openat's final `exit` turned into `r0 = 0`: the verifier rejects it. */
function brokenObject(): string {
  const bytes = new Uint8Array(fs.readFileSync(object));
  const s = parseElf(bytes).section('tracepoint/syscalls/sys_enter_openat')!;
  const last = s.offset + s.size - 8;
  expect(bytes[last]).toBe(0x95);
  bytes[last] = 0xb7;
  const file = path.join(dir, 'broken.o');
  fs.writeFileSync(file, bytes);
  return file;
}

whenKernel().describe('bpfkit obj load on the kernel', () => {
  it('shows progress on a terminal (io.progress) and clears it, and writes none of it to the output', async () => {
    const progress: (string | undefined)[] = [];
    const out: string[] = [];
    const code = await runCli(['obj', 'load', object, '--json'], {
      out: (s) => out.push(s),
      err: () => {},
      progress: (line) => progress.push(line),
    });
    expect(code).toBe(0);
    expect(progress).toEqual(['loading count_packets (1/2)…', 'loading trace_openat (2/2)…', undefined]);
    expect(JSON.parse(out.join('\n')).programs).toHaveLength(2);
  });

  it('loads every program and map, prints them, and closes them all without --pin', async () => {
    const before = openFds();
    const r = await cli('obj', 'load', object, '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out) as {
      programs: { name: string; status: string; id: number; xlatedSize: number; tag: string }[];
      maps: { name: string; id: number }[];
    };
    expect(out.programs.map((p) => [p.name, p.status])).toEqual([
      ['count_packets', 'loaded'],
      ['trace_openat', 'loaded'],
    ]);
    expect(out.programs.every((p) => p.id > 0 && p.xlatedSize > 0 && /^[0-9a-f]{16}$/.test(p.tag))).toBe(true);
    expect(out.maps.map((m) => m.name).sort()).toEqual(['.bss', '.data', '.rodata', 'events', 'flows', 'outer']);
    expect(openFds()).toBe(before);
    // Nothing holds the programs any more: the kernel unloads them (freed after an RCU grace period).
    for (
      let i = 0;
      i < 100 &&
      out.programs.some((p) => {
        try {
          programInfo(p.id);
          return true;
        } catch {
          return false;
        }
      });
      i++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const p of out.programs) expect(() => programInfo(p.id)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    const text = await cli('obj', 'load', object);
    expect(text.out).toMatch(/^ {2}count_packets\s+xdp\s+\d+\s+[0-9a-f]{16}\s+\d+\s+\d+\s+loaded$/m);
    expect(text.out).toMatch(/^ {2}flows\s+hash\s+\d+\s+12\s+8\s+1024$/m);
  });

  it('pins every program and map under --pin in a bpffs', async () => {
    using fsys = mountPrivateBpffs();
    const r = await cli('obj', 'load', object, '--pin', fsys.dir);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`${fsys.dir}/_rodata`);
    const pins = ['_bss', '_data', '_rodata', 'count_packets', 'events', 'flows', 'outer', 'trace_openat'];
    expect(
      fs
        .readdirSync(fsys.dir)
        .filter((f) => !f.endsWith('.debug'))
        .sort(),
    ).toEqual(pins);
    // The pins keep the programs loaded after the command closed its fds.
    expect(programInfo(path.join(fsys.dir, 'count_packets')).name).toBe('count_packets');
    expect((await cli('prog', 'show', path.join(fsys.dir, 'trace_openat'))).out).toMatch(/^name\s+trace_openat$/m);
    // Loading again into the same directory: the by-name map is reused, the rest collide; nothing is left half-pinned.
    const again = await cli('obj', 'load', object, '--pin', fsys.dir);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/EEXIST/);
    expect(
      fs
        .readdirSync(fsys.dir)
        .filter((f) => !f.endsWith('.debug'))
        .sort(),
    ).toEqual(pins);
    for (const f of pins) fs.rmSync(path.join(fsys.dir, f));
  });

  it('refuses a --pin directory outside bpffs or missing, before loading anything', async () => {
    const before = openFds();
    const notBpf = await cli('obj', 'load', object, '--pin', dir);
    expect(notBpf.code).toBe(1);
    expect(notBpf.err).toMatch(/--pin: expected a directory on a bpf file system \(mount -t bpf bpf <dir>\), not \w+, got the string/);
    const missing = await cli('obj', 'load', object, '--pin', path.join(dir, 'none'));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/--pin directory '.*none': stat failed: ENOENT/);
    expect((await cli('obj', 'load', object, '--pin', 'relative/dir')).err).toMatch(/--pin: expected an absolute directory path/);
    expect(openFds()).toBe(before);
  });

  it('takes kconfig values and kernel BTF from files (--kconfig, plain or gzipped; --kernel-btf)', async () => {
    const externs = path.resolve(import.meta.dirname, '../../../elf/testdata/externs.bpf.o');
    const config = path.join(dir, 'config');
    fs.writeFileSync(config, 'CONFIG_BPF_SYSCALL=y\nCONFIG_BPF_JIT=y\nCONFIG_HZ=100\nCONFIG_LOCALVERSION="-file"\n');
    const r = await cli('obj', 'load', externs, '--kconfig', config);
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out).toMatch(/^ {2}read_externs\s+socket_filter\s+\d+.*loaded$/m);
    fs.writeFileSync(`${config}.gz`, zlib.gzipSync(fs.readFileSync(config)));
    expect((await cli('obj', 'load', externs, '--kconfig', `${config}.gz`)).code).toBe(0);
    const missing = await cli('obj', 'load', externs, '--kconfig', path.join(dir, 'none'));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/--kconfig: expected a readable file \(ENOENT\)/);
    if (kernelHas('kernel-btf')) {
      const core = path.resolve(import.meta.dirname, '../../../elf/testdata/core.bpf.o');
      expect((await cli('obj', 'load', core, '--kernel-btf', '/sys/kernel/btf/vmlinux')).code).toBe(0);
    }
  });

  it('reports the program the verifier rejects, loads the others, exits 1, and prints the whole log with --verbose', async () => {
    const file = brokenObject();
    const before = openFds();
    const r = await cli('obj', 'load', file);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^ {2}trace_openat\s+tracepoint\s+-\s+-\s+-\s+-\s+failed$/m);
    expect(r.out).toMatch(/^ {2}count_packets\s+xdp\s+\d+\s+[0-9a-f]{16}\s+\d+\s+\d+\s+loaded$/m);
    expect(r.err.split('\n')[0]).toMatch(/^bpfkit obj load: program 'trace_openat': bpf\(BPF_PROG_LOAD\) failed: \w+ .*verifier: /);
    expect(r.err).toMatch(/--verbose prints the whole verifier log/);
    // --verbose also gives the verifier's statistics of each program that loaded.
    const stats = await cli('obj', 'load', file, '--verbose');
    expect(stats.out).toMatch(/^verifier:\n {2}count_packets: processed \d+ insns/m);
    const verbose = await cli('obj', 'load', file, '--verbose', '--json');
    expect(verbose.code).toBe(1);
    const out = JSON.parse(verbose.out) as { programs: { name: string; status: string }[]; errors: { program: string; log: string }[] };
    expect(out.programs.map((p) => [p.name, p.status])).toEqual([
      ['count_packets', 'loaded'],
      ['trace_openat', 'failed'],
    ]);
    expect(out.errors.map((e) => e.program)).toEqual(['trace_openat']);
    expect(out.errors[0]!.log.length).toBeGreaterThan(0);
    expect(verbose.err).toContain(out.errors[0]!.log.trimEnd());
    expect(openFds()).toBe(before);
  });
});
