import fs from 'node:fs';
import { BpfError, InvalidArgumentError, NotSupportedError, mapTypeName, programTypeName } from '@bpfkit/core';
import type { ProgramInfo } from '@bpfkit/core';
import { bootTimeMs, kernelProgramInfo, listPrograms, loadTimeToDate, openProgram, programInstructions } from '@bpfkit/attach';
import { CallSrc, PseudoSrc, formatInstruction, makeInstruction, ParseError } from '@bpfkit/elf';
import type { Instruction } from '@bpfkit/elf';
import { openMapById } from '@bpfkit/maps';
import { HOST_LITTLE_ENDIAN } from '@bpfkit/syscalls';
import { textTable } from '../features/format.js';
import { interruption } from './interrupt.js';
import type { CliIo, ParsedArgs } from './main.js';
import { parseAttachTarget } from './attach-target-parse.js';

const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x), 2);

/** The info as JSON output shows it: the kernel's fields plus the type's name and the load date. */
function infoJson(i: ProgramInfo, bootMs: number | undefined): Record<string, unknown> {
  return {
    ...i,
    typeName: programTypeName(i.type),
    ...(bootMs !== undefined ? { loadedAt: loadTimeToDate(i.loadTime, bootMs).toISOString() } : {}),
  };
}

const LIST_HEADER = ['id', 'type', 'name', 'tag', 'maps', 'xlated', 'jited', 'loaded'];

function listRow(i: ProgramInfo, bootMs: number | undefined): string[] {
  return [
    String(i.id),
    programTypeName(i.type),
    i.name,
    i.tag,
    i.mapIds.join(',') || '-',
    String(i.xlatedSize),
    String(i.jitedSize),
    bootMs !== undefined ? loadTimeToDate(i.loadTime, bootMs).toISOString() : '?',
  ];
}

/** Boot time for load dates; undefined when /proc/uptime cannot be read (then dates are left out). */
function bootMs(): number | undefined {
  try {
    return bootTimeMs();
  } catch {
    return undefined;
  }
}

/** Whether the kernel counts run time and runs (`kernel.bpf_stats_enabled`); undefined when unknown. */
function statsEnabled(): boolean | undefined {
  try {
    return fs.readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim() !== '0';
  } catch {
    return undefined;
  }
}

function showLines(i: ProgramInfo, boot: number | undefined): string {
  const stats = statsEnabled();
  const notCounted = stats === false ? ' (not counted: kernel.bpf_stats_enabled is 0)' : '';
  const rows: [string, string][] = [
    ['id', String(i.id)],
    ['name', i.name || '(none)'],
    ['type', `${programTypeName(i.type)} (${i.type})`],
    ['tag', i.tag],
    ['map ids', i.mapIds.join(', ') || 'none'],
    ['run count', `${i.runCount}${notCounted}`],
    ['run time', `${i.runTimeNs} ns${notCounted}`],
    ['xlated', `${i.xlatedSize} bytes${i.xlatedSize ? '' : ' (withheld: needs CAP_BPF)'}`],
    ['jited', `${i.jitedSize} bytes${i.jitedSize ? '' : ' (not JITed, or withheld)'}`],
    ['btf id', i.btfId ? String(i.btfId) : 'none'],
    ['loaded', boot !== undefined ? loadTimeToDate(i.loadTime, boot).toISOString() : `${i.loadTime} ns after boot`],
  ];
  if (i.createdByUid !== undefined) rows.push(['uid', String(i.createdByUid)]);
  if (i.gplCompatible !== undefined) rows.push(['gpl', i.gplCompatible ? 'yes' : 'no']);
  if (i.verifiedInsns) rows.push(['verified', `${i.verifiedInsns} instructions`]);
  if (i.recursionMisses) rows.push(['recursion misses', String(i.recursionMisses)]);
  if (i.attachBtfId)
    rows.push(['attach btf', `type ${i.attachBtfId}${i.attachBtfObjId ? ` in BTF object ${i.attachBtfObjId}` : ' (vmlinux)'}`]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

/**
 * `bpfkit prog attach <id|pin> <target> [--pin <path>]`: attaches a
 * loaded program to the hook that the compact target names
 * ({@link parseAttachTarget}). With `--pin` the link is pinned and bpfkit
 * exits, leaving it attached; without, it stays attached until the user
 * interrupts (Ctrl-C, SIGTERM), then detaches and exits 0.
 */
async function attachCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const [, ref, text, ...extra] = args.positional;
  if (extra.length)
    throw new InvalidArgumentError('prog attach', 'a program and a target (quote a target with spaces)', args.positional.join(' '));
  // The target first: a typo is reported before anything is opened.
  if (text === undefined)
    throw new InvalidArgumentError(
      'prog attach: target',
      'a target such as raw_tracepoint:sched_switch (bpfkit prog --help lists them)',
      text,
    );
  const target = parseAttachTarget(text);
  const pin = args.options.pin;
  using prog = openProgram(need(ref));
  const progInfo = prog.info();
  using link = prog.attach(target);
  const info = link.info();
  const what = info.id !== undefined ? `link ${info.id}` : `a ${info.kind} attachment (not a BPF link)`;
  const program = `program ${progInfo.id} (${progInfo.name || 'no name'})`;
  const asJson = args.flags.has('json');
  const report = () => io.out(json({ program: progInfo.id, link: info.id ?? null, kind: info.kind, target, pinned: pin ?? null }));
  if (pin !== undefined) {
    link.pin(pin);
    if (asJson) report();
    else io.out(`attached ${program} to ${text}: ${what}, pinned at ${pin} (it stays attached until unpinned: bpfkit link unpin ${pin})`);
    // Pinned, the link stays attached when this handle closes.
    return 0;
  }
  // Listening before saying so: whoever reads the line may signal at once.
  const interrupted = interruption(io);
  if (asJson) report();
  else io.out(`attached ${program} to ${text}: ${what}; detaching on Ctrl-C or SIGTERM`);
  const signal = await interrupted;
  link.close();
  if (!asJson) io.out(`${signal}: detached ${what}`);
  return 0;
}

/**
 * `bpfkit prog list|show|dump|attach`: the kernel's programs, by id or pin path.
 *
 * @example
 * import { parseArgs } from './main.js';
 * runProgCommand(parseArgs(['dump', '42']), io);
 */
export function runProgCommand(args: ParsedArgs, io: CliIo): number | Promise<number> {
  const [sub, ref] = args.positional;
  const asJson = args.flags.has('json');
  const boot = bootMs();
  switch (sub) {
    case 'list': {
      const all = listPrograms();
      io.out(
        asJson
          ? json(all.map((i) => infoJson(i, boot)))
          : textTable(
              LIST_HEADER,
              all.map((i) => listRow(i, boot)),
            ),
      );
      return 0;
    }
    case 'show': {
      using prog = openProgram(need(ref));
      const info = kernelProgramInfo(prog.fd, `program ${ref}`);
      io.out(asJson ? json({ ...infoJson(info, boot), statsEnabled: statsEnabled() ?? null }) : showLines(info, boot));
      return 0;
    }
    case 'dump': {
      using prog = openProgram(need(ref));
      const info = kernelProgramInfo(prog.fd, `program ${ref}`);
      const code = programInstructions(prog);
      if (code.withheld) {
        throw new NotSupportedError(
          'reading the translated instructions',
          undefined,
          `the kernel withheld program ${info.id}'s code (it needs CAP_BPF, and CAP_SYSLOG with kptr_restrict for constant-blinded programs)`,
        );
      }
      const lines = dumpLines(code.xlated, code.mapIds);
      if (asJson)
        io.out(
          json({
            id: info.id,
            name: info.name,
            type: programTypeName(info.type),
            xlatedSize: code.xlatedSize,
            jitedSize: code.jitedSize,
            instructions: lines,
          }),
        );
      else {
        io.out(
          `${info.id}: ${programTypeName(info.type)}  name ${info.name || '(none)'}  tag ${info.tag}  xlated ${code.xlatedSize}B  jited ${code.jitedSize}B`,
        );
        for (const l of lines) io.out(`  ${l.pc}: (${l.code}) ${l.text}`);
      }
      return 0;
    }
    case 'attach':
      return attachCommand(args, io);
    default:
      throw new InvalidArgumentError('prog command', 'one of list, show, dump, attach', sub);
  }
}

function need(ref: string | undefined): string {
  if (!ref) throw new InvalidArgumentError('program', 'a program id or a pin path', ref);
  return ref;
}

/**
 * One line of `prog dump`: the slot index, the opcode in hex, the text.
 *
 * @example
 * const line: DumpLine = { pc: 0, code: 'b7', text: 'r0 = 42' };
 */
export interface DumpLine {
  pc: number;
  code: string;
  text: string;
}

/**
 * Disassembles translated instructions as the kernel hands them out: map
 * loads name the map by id (and name), helper and kfunc calls name the
 * kernel function (from /proc/kallsyms, when readable), subprogram calls
 * give the relative target, and kernel-internal instructions are spelled
 * out rather than refused.
 *
 * @example
 * const { xlated, mapIds } = programInstructions(prog);
 * dumpLines(xlated, mapIds).map((l) => `${l.pc}: ${l.text}`);
 */
export function dumpLines(
  xlated: Uint8Array,
  mapIds: readonly number[],
  symbols: (imm: number) => string | undefined = kernelCallResolver(),
): DumpLine[] {
  const names = mapNames(mapIds);
  const view = new DataView(xlated.buffer, xlated.byteOffset, xlated.byteLength);
  const le = HOST_LITTLE_ENDIAN;
  const out: DumpLine[] = [];
  for (let at = 0; at + 8 <= xlated.byteLength; ) {
    const opcode = view.getUint8(at);
    const regs = view.getUint8(at + 1);
    const fields = {
      opcode,
      dst: le ? regs & 0xf : regs >> 4,
      src: le ? regs >> 4 : regs & 0xf,
      offset: view.getInt16(at + 2, le),
      imm: view.getInt32(at + 4, le),
    };
    const wide = opcode === 0x18 && at + 16 <= xlated.byteLength;
    const hiImm = wide ? view.getInt32(at + 12, le) : 0;
    let insn: Instruction | undefined;
    try {
      insn = makeInstruction(wide ? { ...fields, imm64: (BigInt(hiImm >>> 0) << 32n) | BigInt(fields.imm >>> 0) } : fields);
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
    }
    out.push({
      pc: at / 8,
      code: opcode.toString(16).padStart(2, '0'),
      text: insn ? xlatedText(insn, hiImm, names, symbols) : internalText(fields),
    });
    at += wide ? 16 : 8;
  }
  return out;
}

function xlatedText(
  insn: Instruction,
  hiImm: number,
  names: ReadonlyMap<number, string>,
  symbols: (imm: number) => string | undefined,
): string {
  const { opcode, dst, src, offset, imm } = insn;
  const named = (id: number) => (names.has(id) ? `  ; ${names.get(id)}` : '');
  if (opcode === 0x18 && src === PseudoSrc.MAP_FD) return `r${dst} = map[id:${imm >>> 0}] ll${named(imm >>> 0)}`;
  if (opcode === 0x18 && src === PseudoSrc.MAP_VALUE) return `r${dst} = map_value[id:${imm >>> 0}]+${hiImm} ll${named(imm >>> 0)}`;
  if (opcode === 0x85) {
    // Subprogram calls keep their relative target in `off` once the program is JITed or patched for the interpreter.
    if (src === CallSrc.LOCAL) return `call pc${offset < 0 ? offset : `+${offset}`}`;
    // Helper and kfunc calls hold the function's offset from __bpf_call_base, not an id.
    if (src === CallSrc.HELPER || src === CallSrc.KFUNC)
      return `call ${symbols(imm) ?? (src === CallSrc.KFUNC ? 'kfunc' : 'unknown')}#${imm}`;
  }
  return formatInstruction(insn);
}

/** Instructions only the kernel writes (they never come out of a compiler). */
function internalText(f: { opcode: number; dst: number; src: number; offset: number; imm: number }): string {
  if (f.opcode === 0xbf && f.offset === -1) return `r${f.dst} = &(void __percpu *)(r${f.src})`;
  if (f.opcode === 0xbf && f.offset === 1) return `r${f.dst} = addr_space_cast(r${f.src}, ${f.imm >>> 16}, ${f.imm & 0xffff})`;
  if (f.opcode === 0xc2) return 'nospec';
  return `<kernel-internal: code 0x${f.opcode.toString(16)} dst r${f.dst} src r${f.src} off ${f.offset} imm ${f.imm}>`;
}

/** The names of the maps a program uses, by id; maps gone since (or not openable) are left out. */
function mapNames(ids: readonly number[]): Map<number, string> {
  const out = new Map<number, string>();
  for (const id of ids) {
    try {
      using m = openMapById(id);
      const i = m.info();
      out.set(id, `${i.name || '(unnamed)'} (${mapTypeName(i.type)})`);
    } catch (err) {
      if (!(err instanceof BpfError)) throw err;
    }
  }
  return out;
}

/**
 * Resolves the call immediates of translated code (offsets from
 * `__bpf_call_base`) to kernel symbol names through /proc/kallsyms, read on
 * first use; resolves nothing when the addresses are hidden (kptr_restrict).
 */
function kernelCallResolver(kallsyms = '/proc/kallsyms'): (imm: number) => string | undefined {
  let text: string | undefined;
  let base: bigint | undefined;
  return (imm) => {
    if (text === undefined) {
      try {
        text = fs.readFileSync(kallsyms, 'utf8');
      } catch {
        text = '';
      }
      const m = /^([0-9a-f]+) \w __bpf_call_base$/m.exec(text);
      base = m ? BigInt(`0x${m[1]}`) : 0n;
    }
    if (!base) return undefined;
    const hex = BigInt.asUintN(64, base + BigInt(imm))
      .toString(16)
      .padStart(16, '0');
    const at = text.indexOf(`\n${hex} `);
    if (at < 0) return undefined;
    const line = text.slice(at + 1, text.indexOf('\n', at + 1));
    return line.split(/\s+/)[2];
  };
}
