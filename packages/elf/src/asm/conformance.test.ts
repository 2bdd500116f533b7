import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assemble } from './assemble.js';
import { disassemble } from './disasm.js';

// The suite is vendored at the repository's root (vendor/bpf-conformance, with its license and origin).
const DIR = path.resolve(import.meta.dirname, '../../../../vendor/bpf-conformance/tests');
const files = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.data'))
  .sort();

function sections(text: string): Map<string, string> {
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

function rawBytes(raw: string): Uint8Array {
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

describe('conformance suite', () => {
  it('finds all 313 test files', () => {
    expect(files.length).toBe(313);
  });

  const failures: string[] = [];
  let rawChecked = 0;
  for (const file of files) {
    it(`assembles ${file}`, () => {
      const s = sections(fs.readFileSync(path.join(DIR, file), 'utf8'));
      const asm = s.get('asm');
      expect(asm).toBeDefined();
      try {
        const bytes = assemble(asm ?? '');
        const raw = s.get('raw');
        if (raw !== undefined) {
          expect(Array.from(bytes)).toEqual(Array.from(rawBytes(raw)));
          rawChecked++;
        }
        const again = assemble(disassemble(bytes).join('\n'));
        expect(Array.from(again)).toEqual(Array.from(bytes));
      } catch (err) {
        failures.push(`${file}: ${(err as Error).message.split('\n')[0] ?? ''}`);
        throw err;
      }
    });
  }

  it('passes every file', () => {
    expect(failures).toEqual([]);
    expect(rawChecked).toBe(1);
  });
});
