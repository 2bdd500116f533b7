import { BpfError, InvalidArgumentError, NotSupportedError } from '@bpfkit/core';
import { ParseError } from '@bpfkit/elf';
import { probeFeatures } from '@bpfkit/syscalls';
import { formatFeatures } from '../features/format.js';
import { runMapCommand } from './map.js';
import { runDisasm } from './disasm.js';
import { runProgCommand } from './prog.js';
import { runLinkCommand } from './link.js';
import { runEventsCommand } from './events.js';
import { runObjCommand } from './obj.js';
import { GEN_USAGE, runGen } from './gen.js';
import { FORMAT_NAMES } from './value-format.js';
import { ATTACH_TARGET_SYNTAX } from './attach-target-parse.js';
import { bpfkitVersion } from './version.js';

/** Where the CLI writes. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /**
   * Settles (with the signal's name) when the user interrupts a command
   * that runs until then, such as `prog attach` without `--pin`. Default:
   * the process receiving SIGINT (Ctrl-C) or SIGTERM.
   */
  interrupted?: Promise<string>;
  /**
   * Shows where long work is (a line rewritten in place; undefined clears
   * it). Given only when stderr is a terminal: scripts see no progress.
   */
  progress?(line: string | undefined): void;
}

interface Command {
  summary: string;
  usage: string;
  run(args: ParsedArgs, io: CliIo): number | Promise<number>;
}

/** Positional arguments and `--flag`/`--key value` options. */
export interface ParsedArgs {
  positional: string[];
  flags: Set<string>;
  options: Record<string, string>;
}

/** Options that take a value; everything else starting with `--` is a boolean flag. */
const VALUE_OPTIONS = new Set<string>([
  'key',
  'value',
  'flag',
  'pin',
  'kconfig',
  'kernel-btf',
  'count',
  'btf-type',
  'btf',
  'types',
  'out',
  'name',
  'ringbuf',
  'base',
]);

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const parsed: ParsedArgs = { positional: [], flags: new Set(), options: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const [name, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
      if (inline !== undefined) parsed.options[name] = inline;
      else if (VALUE_OPTIONS.has(name)) {
        const v = argv[++i];
        if (v === undefined) throw new InvalidArgumentError(`--${name}`, 'a value', undefined);
        parsed.options[name] = v;
      } else parsed.flags.add(name);
    } else parsed.positional.push(a);
  }
  return parsed;
}

const COMMANDS: Record<string, Command> = {
  disasm: {
    summary: 'disassemble the programs of a BPF object file',
    usage:
      'bpfkit disasm <file.o> [program|section] [--json]\n' +
      'with a program name: the program as it will be loaded (subprograms linked), each rewritten instruction annotated',
    run: (args, io) => runDisasm(args, io),
  },
  map: {
    summary: 'list, show, dump, look up, update and delete maps (by id or pin path)',
    usage:
      'bpfkit map list [--json]\n' +
      '       bpfkit map show <id|pin> [--json]\n' +
      '       bpfkit map dump <id|pin> [--key F] [--value F] [--json]\n' +
      '       bpfkit map lookup <id|pin> <key> [--key F] [--value F]\n' +
      '       bpfkit map update <id|pin> <key> <value> [--key F] [--value F] [--flag any|noexist|exist]\n' +
      '       bpfkit map delete <id|pin> <key> [--key F]\n' +
      `formats F: ${FORMAT_NAMES.join(', ')} (default hex)`,
    run: (args, io) => runMapCommand(args, io),
  },
  prog: {
    summary: 'list, show, dump the translated code of, and attach loaded programs (by id or pin path)',
    usage:
      'bpfkit prog list [--json]\n' +
      '       bpfkit prog show <id|pin> [--json]\n' +
      '       bpfkit prog dump <id|pin> [--json]\n' +
      '       bpfkit prog attach <id|pin> <target> [--pin <path>] [--json]\n' +
      'run count and time are counted only while kernel.bpf_stats_enabled is 1\n' +
      'attach without --pin stays attached until Ctrl-C or SIGTERM; with --pin the pinned link stays after bpfkit exits\n' +
      '(an iterator pinned so is run by reading its pin: cat <path>)\n' +
      `targets:\n${Object.values(ATTACH_TARGET_SYNTAX)
        .map((t) => `  ${t}`)
        .join('\n')}`,
    run: (args, io) => runProgCommand(args, io),
  },
  events: {
    summary: 'print the records of a ring buffer or perf event array as they arrive (hex, or decoded by a BTF type)',
    usage:
      'bpfkit events <map id|pin> [--btf-type <struct name> [--btf <file.o>]] [--count N] [--json]\n' +
      'runs until Ctrl-C or SIGTERM, or until --count records; --btf-type decodes with the BTF of the map,\n' +
      'of a loaded program that uses it, or of the object given with --btf',
    run: runEventsCommand,
  },
  link: {
    summary: 'list, show, pin, unpin and detach BPF links (what each program is attached to)',
    usage:
      'bpfkit link list [--json]\n' +
      '       bpfkit link show <id|pin> [--json]\n' +
      '       bpfkit link pin <id|pin> <path>\n' +
      '       bpfkit link unpin <pin>\n' +
      '       bpfkit link detach <id|pin>\n' +
      'detach works in place for cgroup, netns, xdp, tcx, netkit, netfilter, sockmap and struct_ops links;\n' +
      'the others (tracepoints, kprobes, uprobes, tracing, iterators) detach when their last pin and handle go',
    run: (args, io) => runLinkCommand(args, io),
  },
  obj: {
    summary: 'inspect a BPF object file, or load it whole (and pin it)',
    usage:
      'bpfkit obj inspect <file.o> [--json]\n' +
      '       bpfkit obj load <file.o> [--pin <bpffs dir>] [--kconfig <config file>] [--kernel-btf <btf file>] [--json] [--verbose]',
    run: (args, io) => runObjCommand(args, io),
  },
  gen: {
    summary: 'generate TypeScript types and codecs from BTF, and a typed skeleton for an object file',
    usage: GEN_USAGE,
    run: (args, io) => runGen(args, io),
  },
  features: {
    summary: 'probe what this kernel supports (map, program and link types, helpers, environment)',
    usage: 'bpfkit features [--json] [--helpers]',
    run(args, io) {
      const features = probeFeatures();
      if (args.flags.has('json')) {
        io.out(JSON.stringify(features, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2));
      } else {
        io.out(formatFeatures(features, { helpers: args.flags.has('helpers') }));
      }
      return 0;
    },
  },
};

function help(io: CliIo): number {
  io.out('usage: bpfkit <command> [options]\n\ncommands:');
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  for (const [name, c] of Object.entries(COMMANDS)) io.out(`  ${name.padEnd(width)}  ${c.summary}`);
  io.out("\nbpfkit <command> --help shows a command's usage; bpfkit --version, the version.");
  return 0;
}

/**
 * Runs the `bpfkit` command line; returns the exit code. Errors are printed
 * as one line (typed errors carry their own explanation), never as a stack.
 *
 * @example
 * process.exitCode = await runCli(['features', '--json'], { out: console.log, err: console.error });
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') return help(io);
  if (name === '--version' || name === '-V' || name === 'version') {
    io.out(`bpfkit ${bpfkitVersion() ?? '(version unknown: no bpfkit package.json above the command)'}`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.err(`bpfkit: unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(', ')})`);
    return 2;
  }
  try {
    const args = parseArgs(rest);
    if (args.flags.has('help')) {
      io.out(`usage: ${command.usage}\n\n${command.summary}`);
      return 0;
    }
    return await command.run(args, io);
  } catch (err) {
    if (err instanceof BpfError || err instanceof InvalidArgumentError || err instanceof NotSupportedError || err instanceof ParseError) {
      io.err(`bpfkit ${name}: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
