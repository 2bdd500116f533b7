import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from '@bpfkit/core';
import { generateTypes } from '../gen/index.js';
import type { GenerateTypesOptions } from '../gen/index.js';
import type { CliIo, ParsedArgs } from './main.js';

/** The usage text of `bpfkit gen`. */
export const GEN_USAGE =
  'bpfkit gen types <file.o | BTF file> [-o out.ts] [--types name,name] [--name Name] [--ringbuf map=type,...] [--base <btf>]\n' +
  'TypeScript types and codecs for the structs, unions, enums and typedefs of the BTF; for an object file also a\n' +
  'typed skeleton: load<Name>(system, object, { constants }) with its maps, programs and variables typed.\n' +
  '--types keeps those types and what they hold; --name names the skeleton (default from the file name);\n' +
  '--ringbuf names the record type of a ring buffer or perf event array where the sizes its programs send do not tell it;\n' +
  "--base is the BTF a split BTF file extends (a kernel module's: /sys/kernel/btf/vmlinux). Without -o the code goes to stdout.";

/** `-o <file>` among the positionals (parseArgs reads only `--` options): the file, and the positionals without it. */
function takeOutput(args: ParsedArgs): { out: string | undefined; positional: string[] } {
  const positional = [...args.positional];
  let out = args.options.out ?? args.options.o;
  const i = positional.indexOf('-o');
  if (i >= 0) {
    out = positional[i + 1];
    if (out === undefined) throw new InvalidArgumentError('-o', 'a file to write the TypeScript to', undefined);
    positional.splice(i, 2);
  }
  return { out, positional };
}

const list = (s: string | undefined) =>
  s === undefined
    ? undefined
    : s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);

/**
 * `bpfkit gen types <file.o | BTF file> [-o out.ts] [--types a,b]`: writes
 * the TypeScript that {@link generateTypes} makes for the file, to `-o` or
 * to stdout.
 *
 * @example
 * import { parseArgs } from './main.js';
 * runGen(parseArgs(['types', 'typed.bpf.o', '-o', 'typed.ts']), io);
 */
export function runGen(args: ParsedArgs, io: CliIo): number {
  const { out, positional } = takeOutput(args);
  const [sub, file, extra] = positional;
  if (sub !== 'types') throw new InvalidArgumentError('gen', "the subcommand 'types'", sub);
  if (!file)
    throw new InvalidArgumentError('file', 'a BPF object file (clang -target bpf -g) or a BTF file (/sys/kernel/btf/vmlinux)', file);
  if (extra !== undefined)
    throw new InvalidArgumentError('arguments', 'one input file (options: -o, --types, --name, --ringbuf, --base)', extra);
  const options: GenerateTypesOptions = { source: path.basename(file) };
  const types = list(args.options.types);
  if (types) options.types = types;
  if (args.options.name !== undefined) options.name = args.options.name;
  const rings = list(args.options.ringbuf);
  if (rings) {
    const named: Record<string, string> = {};
    for (const r of rings) {
      const eq = r.indexOf('=');
      if (eq <= 0 || eq === r.length - 1) throw new InvalidArgumentError('--ringbuf', 'map=type pairs, e.g. events=struct event', r);
      named[r.slice(0, eq)] = r.slice(eq + 1);
    }
    options.ringBuffers = named;
  }
  if (args.options.base !== undefined) options.base = new Uint8Array(fs.readFileSync(args.options.base));
  const code = generateTypes(new Uint8Array(fs.readFileSync(file)), options);
  if (out === undefined) io.out(code.trimEnd());
  else {
    fs.writeFileSync(out, code);
    io.out(`wrote ${out} (${code.length} bytes)`);
  }
  return 0;
}
