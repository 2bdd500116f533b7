import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './main.js';

const object = path.resolve(import.meta.dirname, '../../testdata/gen.bpf.o');

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) }, out, err };
}

describe('bpfkit gen', () => {
  it('gen types writes the skeleton of an object to -o, or to stdout', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfkit-gen-cli-'));
    try {
      const file = path.join(dir, 'gen.ts');
      const c = capture();
      expect(await runCli(['gen', 'types', object, '-o', file, '--name', 'Probe'], c.io)).toBe(0);
      expect(c.out.join('\n')).toMatch(/^wrote .*gen\.ts \(\d+ bytes\)$/);
      const code = fs.readFileSync(file, 'utf8');
      expect(code).toMatch(/export function loadProbe\(/);
      expect(code).toMatch(/from gen\.bpf\.o/);
      const s = capture();
      expect(await runCli(['gen', 'types', object, '--types', 'struct config,kind', '--ringbuf', 'events=struct config'], s.io)).toBe(0);
      const printed = s.out.join('\n');
      expect(printed).toMatch(/export interface config \{/);
      expect(printed).not.toMatch(/export interface event \{/);
      expect(printed).toMatch(/GenRecords: \{ events: \$bpfkit\.Codec<config>;/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says what it expected when the arguments are wrong', async () => {
    for (const [argv, message] of [
      [['gen'], /gen: expected the subcommand 'types'/],
      [['gen', 'types'], /expected a BPF object file/],
      [['gen', 'types', object, '--ringbuf', 'events'], /--ringbuf: expected map=type pairs/],
      [['gen', 'types', object, '-o'], /-o: expected a file/],
      [['gen', 'types', object, '--types', 'nope'], /names of structs, unions, enums or typedefs/],
    ] as const) {
      const c = capture();
      expect(await runCli([...argv], c.io)).toBe(1);
      expect(c.err.join('\n')).toMatch(message);
    }
    const h = capture();
    expect(await runCli(['gen', '--help'], h.io)).toBe(0);
    expect(h.out[0]).toMatch(/^usage: bpfkit gen types <file\.o \| BTF file> \[-o out\.ts\]/);
  });
});
