import fs from 'node:fs';
import { InvalidArgumentError } from '@bpfkit/core';
import { coreReloKindName, disassemble, Elf, parseElf, readObject, sectionInfo } from '@bpfkit/elf';
import type { ObjectSpec } from '@bpfkit/elf';
import type { CliIo, ParsedArgs } from './main.js';

/**
 * `bpfkit disasm <file.o> [program|section] [--json]`: the instructions of every
 * program section of an object, bpftool-style; or of one program as it will
 * be loaded — linked with its subprograms, each instruction the loader
 * rewrites annotated (map, global, extern, kfunc, CO-RE relocation); or of
 * one section.
 *
 * @example
 * import { parseArgs } from './main.js';
 * runDisasm(parseArgs(['prog.bpf.o', 'count_packets']), io);
 */
export function runDisasm(args: ParsedArgs, io: CliIo): number {
  const [file, only] = args.positional;
  const asJson = args.flags.has('json');
  // With --json: one object a listing, `{ name, section?, instructions: [{ slot, text, notes? }] }`.
  const listings: { name: string; section?: string; instructions: { slot: number; text: string; notes?: string[] }[] }[] = [];
  const listing = (name: string, section?: string) => {
    const l = { name, ...(section ? { section } : {}), instructions: [] as { slot: number; text: string; notes?: string[] }[] };
    listings.push(l);
    return l;
  };
  const slotOf = (line: string) => Number(line.slice(0, line.indexOf(':')));
  const textOf = (line: string) => line.slice(line.indexOf(':') + 1).trim();
  if (!file) throw new InvalidArgumentError('file', 'a BPF object file (clang -target bpf -c)', file);
  const bytes = new Uint8Array(fs.readFileSync(file));
  const elf = parseElf(bytes);
  if (only !== undefined && !elf.section(only)) {
    const spec = readObject(bytes);
    const program = spec.programs[only];
    if (!program) {
      throw new InvalidArgumentError(
        'program or section',
        `a program (${Object.keys(spec.programs).join(', ')}) or a code section of the object`,
        only,
      );
    }
    if (!asJson) io.out(`${program.name} (section ${program.section}, ${program.instructions.byteLength / 8} instructions linked):`);
    const out = listing(program.name, program.section);
    const notes = new Map<number, string[]>();
    const note = (slot: number, text: string) => notes.set(slot, [...(notes.get(slot) ?? []), text]);
    for (const r of program.references) {
      note(
        r.index,
        r.kind === 'map' ? `map ${r.target}` : r.kind === 'map_value' ? `global ${r.target}+${r.offset}` : `${r.kind} ${r.target}`,
      );
    }
    for (const r of program.coreRelocations)
      note(r.index, `CO-RE ${coreReloKindName(r.kind)} ${typeName(spec, r.typeId)} ${r.accessString}`);
    for (const f of program.funcInfo) if (f.insnOff > 0) note(f.insnOff, `subprogram ${spec.btf?.type(f.typeId)?.name ?? ''}`.trim());
    for (const line of disassemble(program.instructions, spec.littleEndian)) {
      const slot = slotOf(line);
      const extra = notes.get(slot);
      if (asJson) out.instructions.push({ slot, text: textOf(line), ...(extra ? { notes: extra } : {}) });
      else io.out(`  ${line}${extra ? `  ; ${extra.join('; ')}` : ''}`);
    }
    if (asJson) io.out(JSON.stringify(listings[0], null, 2));
    return 0;
  }
  const programs = elf.sections.filter(
    (s) =>
      s.type === Elf.SHT_PROGBITS && (s.flags & BigInt(Elf.SHF_EXECINSTR)) !== 0n && s.size > 0 && (only === undefined || s.name === only),
  );
  if (only !== undefined && programs.length === 0) {
    throw new InvalidArgumentError(
      'section',
      `one of ${
        elf.sections
          .filter((s) => (s.flags & 4n) !== 0n)
          .map((s) => s.name)
          .join(', ') || '(no code sections)'
      }`,
      only,
    );
  }
  for (const s of programs) {
    const info = sectionInfo(s.name);
    const lines = disassemble(elf.data(s), elf.littleEndian);
    if (asJson) listing(s.name).instructions.push(...lines.map((line) => ({ slot: slotOf(line), text: textOf(line) })));
    else {
      io.out(`${s.name}${info ? '' : ' (subprograms)'}:`);
      for (const line of lines) io.out(`  ${line}`);
    }
  }
  if (asJson) io.out(JSON.stringify(listings, null, 2));
  return 0;
}

function typeName(spec: ObjectSpec, id: number): string {
  const t = spec.btf?.type(id);
  return t?.name || `type ${id}`;
}
