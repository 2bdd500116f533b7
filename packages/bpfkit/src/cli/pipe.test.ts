import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const cli = path.resolve(import.meta.dirname, '../../dist/bpfkit.cjs');
const object = path.resolve(import.meta.dirname, '../../../elf/testdata/core.bpf.o');

describe.skipIf(!fs.existsSync(cli))(
  `the built CLI${fs.existsSync(cli) ? '' : ' — skipped: packages/bpfkit is not built (pnpm build)'}`,
  () => {
    it('stops quietly when its reader goes away (| head)', () => {
      const r = spawnSync('bash', ['-c', `set -o pipefail; node ${JSON.stringify(cli)} disasm ${JSON.stringify(object)} | head -n 1`], {
        encoding: 'utf8',
      });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('.text (subprograms):\n');
      expect(r.status).toBe(0);
    });
  },
);
