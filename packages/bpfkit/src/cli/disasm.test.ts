import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assemble } from '@bpfkit/elf';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './main.js';

/** A minimal BPF object: section headers null, `xdp` (code), `.shstrtab`. */
function objectWith(code: Uint8Array): Uint8Array {
  const names = new TextEncoder().encode('\0xdp\0.shstrtab\0');
  const codeAt = 64;
  const namesAt = codeAt + code.length;
  const shoff = Math.ceil((namesAt + names.length) / 8) * 8;
  const out = new Uint8Array(shoff + 3 * 64);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  v.setUint16(16, 1, true); // ET_REL
  v.setUint16(18, 247, true); // EM_BPF
  v.setBigUint64(40, BigInt(shoff), true);
  v.setUint16(58, 64, true);
  v.setUint16(60, 3, true);
  v.setUint16(62, 2, true);
  out.set(code, codeAt);
  out.set(names, namesAt);
  const header = (i: number, name: number, type: number, flags: bigint, offset: number, size: number) => {
    const h = shoff + i * 64;
    v.setUint32(h, name, true);
    v.setUint32(h + 4, type, true);
    v.setBigUint64(h + 8, flags, true);
    v.setBigUint64(h + 24, BigInt(offset), true);
    v.setBigUint64(h + 32, BigInt(size), true);
  };
  header(1, 1, 1, 6n, codeAt, code.length); // PROGBITS, ALLOC|EXECINSTR
  header(2, 5, 3, 0n, namesAt, names.length); // STRTAB
  return out;
}

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('bpfkit disasm', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfkit-disasm-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'prog.o');
  fs.writeFileSync(file, objectWith(assemble('mov %r0, 2\nexit')));

  it('prints the program sections bpftool-style', async () => {
    const r = await cli('disasm', file);
    expect(r.code).toBe(0);
    expect(r.out).toBe('xdp:\n  0: (b7) r0 = 2\n  1: (95) exit');
    expect((await cli('disasm', file, 'xdp')).out).toMatch(/r0 = 2/);
  });

  it('names the sections there are, and refuses files that are not BPF objects', async () => {
    expect((await cli('disasm', file, 'tc')).err).toMatch(
      /program or section: expected a program \(\) or a code section of the object, got the string "tc"/,
    );
    const notElf = path.join(dir, 'text.o');
    fs.writeFileSync(notElf, 'hello');
    const r = await cli('disasm', notElf);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/ELF: file of 5 bytes is shorter than the 64-byte ELF header/);
  });

  it('prints one program as it will be loaded: linked, with what the loader rewrites annotated', async () => {
    const core = path.resolve(import.meta.dirname, '../../../elf/testdata/core.bpf.o');
    const r = await cli('disasm', core, 'core_fields');
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toMatch(/^core_fields \(section xdp, \d+ instructions linked\):$/);
    expect(r.out).toMatch(/^ {2}\d+: \(b7\) r1 = 0 {2}; CO-RE byte_off task_struct 0:0$/m);
    expect(r.out).toMatch(/; global \.bss\+0$/m);
    expect(r.out).toMatch(/; subprogram parent_tgid$/m);
    const tail = path.resolve(import.meta.dirname, '../../../elf/testdata/tailcalls.bpf.o');
    expect((await cli('disasm', tail, 'dispatch')).out).toMatch(/; map jump_table$/m);
    const err = await cli('disasm', core, 'nope');
    expect(err.code).toBe(1);
    expect(err.err).toMatch(/expected a program \(core_fields, core_types, core_direct\) or a code section/);
  });

  it('writes the same as JSON with --json', async () => {
    const r = await cli('disasm', file, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual([
      {
        name: 'xdp',
        instructions: [
          { slot: 0, text: '(b7) r0 = 2' },
          { slot: 1, text: '(95) exit' },
        ],
      },
    ]);
    const core = path.resolve(import.meta.dirname, '../../../elf/testdata/core.bpf.o');
    const linked = JSON.parse((await cli('disasm', core, 'core_fields', '--json')).out) as {
      name: string;
      section: string;
      instructions: { slot: number; text: string; notes?: string[] }[];
    };
    expect(linked).toMatchObject({ name: 'core_fields', section: 'xdp' });
    expect(linked.instructions.find((i) => i.notes?.includes('CO-RE byte_off task_struct 0:0'))?.text).toBe('(b7) r1 = 0');
    expect(linked.instructions.some((i) => i.notes?.includes('subprogram parent_tgid'))).toBe(true);
  });
});
