import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assemble } from './assemble.js';
import { disassemble } from './disasm.js';

import { conformanceRaw as rawBytes, conformanceSections as sections } from '../test-support/conformance.js';

const DIR = path.resolve(import.meta.dirname, '../../../../vendor/bpf-conformance/tests');

// The suite is vendored at the repository's root (vendor/bpf-conformance, with its license and origin).
const files = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.data'))
  .sort();

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
