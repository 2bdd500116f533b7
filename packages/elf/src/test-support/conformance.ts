// The vendored eBPF conformance suite (vendor/bpf-conformance, bpf_conformance by Alan Jowett, MIT):
// its programs and their sections, for the assembler's tests and the mock VM's.
import fs from 'node:fs';
import path from 'node:path';

/** The suite's `tests` directory. */
export const CONFORMANCE_DIR = path.resolve(import.meta.dirname, '../../../../vendor/bpf-conformance/tests');

/** The suite's test programs, sorted: file name and sections (`asm`, `raw`, `mem`, `result`, `error`, …) by name. */
export function conformancePrograms(): { file: string; sections: Map<string, string> }[] {
  return fs
    .readdirSync(CONFORMANCE_DIR)
    .filter((f) => f.endsWith('.data'))
    .sort()
    .map((file) => ({ file, sections: conformanceSections(fs.readFileSync(path.join(CONFORMANCE_DIR, file), 'utf8')) }));
}

/** The `-- name` sections of a test file, each with its text. */
export function conformanceSections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let current: string | undefined;
  for (const line of text.split('\n')) {
    const m = /^-- (.+?)\s*$/.exec(line);
    if (m !== null) {
      current = m[1] ?? '';
      out.set(current, '');
    } else if (current !== undefined) {
      out.set(current, `${out.get(current) ?? ''}${line}\n`);
    }
  }
  return out;
}

/** A `-- raw` section's 64-bit instruction words as little-endian bytes. */
export function conformanceRaw(raw: string): Uint8Array {
  const words = raw
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l !== '');
  const out = new Uint8Array(words.length * 8);
  const view = new DataView(out.buffer);
  words.forEach((w, i) => {
    view.setBigUint64(i * 8, BigInt(w), true);
  });
  return out;
}

/** A `-- mem` section's hex bytes. */
export function conformanceMem(text: string): Uint8Array {
  const hex = text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .join(' ')
    .split(/\s+/)
    .filter((w) => w !== '');
  return Uint8Array.from(hex.map((h) => Number.parseInt(h, 16)));
}
