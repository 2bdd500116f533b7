import { bpfAccess } from 'bpfkit';
import { describe, expect, it } from 'vitest';
import { demo } from './demo.js';

describe('demo', () => {
  it('runs on the mock', async () => {
    const lines: string[] = [];
    await demo('mock', (l) => lines.push(l));
    const text = lines.join('\n');
    expect(text).toMatch(/backend: mock/);
    expect(text).toMatch(/entries\s+= 80=>1, 443=>4430/);
  });

  const access = bpfAccess();
  it.skipIf(!access.available)(`runs on the kernel${access.reason ? ` — skipped: ${access.reason}` : ''}`, async () => {
    const lines: string[] = [];
    await demo('kernel', (l) => lines.push(l));
    const text = lines.join('\n');
    expect(text).toMatch(/backend: kernel/);
    expect(text).toMatch(/entries\s+= 80=>1, 443=>4430/);
    expect(text).toMatch(/^hash\s+yes$/m);
  });
});
