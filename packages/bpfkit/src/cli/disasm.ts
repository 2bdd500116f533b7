import fs from 'node:fs';
import { InvalidArgumentError } from '@bpfkit/core';
import { disassemble, Elf, parseElf, sectionInfo } from '@bpfkit/elf';
import type { CliIo, ParsedArgs } from './main.js';

/**
 * `bpfkit disasm <file.o> [section]`: the instructions of every program
 * section of an object (or of one), bpftool-style. Relocations are shown as
 * the object holds them (map loads print as `r1 = 0x0 ll` until loaded).
 *
 * @example
 * runDisasm(parseArgs(['prog.bpf.o', 'xdp']), io);
 */
export function runDisasm(args: ParsedArgs, io: CliIo): number {
  const [file, only] = args.positional;
  if (!file) throw new InvalidArgumentError('file', 'a BPF object file (clang -target bpf -c)', file);
  const elf = parseElf(new Uint8Array(fs.readFileSync(file)));
  const programs = elf.sections.filter(
    (s) => s.type === Elf.SHT_PROGBITS && (s.flags & BigInt(Elf.SHF_EXECINSTR)) !== 0n && s.size > 0 && (only === undefined || s.name === only),
  );
  if (only !== undefined && programs.length === 0) {
    throw new InvalidArgumentError('section', `one of ${elf.sections.filter((s) => (s.flags & 4n) !== 0n).map((s) => s.name).join(', ') || '(no code sections)'}`, only);
  }
  for (const s of programs) {
    const info = sectionInfo(s.name);
    io.out(`${s.name}${info ? '' : ' (subprograms)'}:`);
    for (const line of disassemble(elf.data(s), elf.littleEndian)) io.out(`  ${line}`);
  }
  return 0;
}
