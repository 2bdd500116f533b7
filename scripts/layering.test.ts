import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without types
import { checkLayers, importsOf } from './check-layers.mjs';

const root = path.resolve(import.meta.dirname, '..');

describe('layering', () => {
  it('holds for the repository', () => {
    expect(checkLayers(root)).toEqual([]);
  });

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfkit-layers-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  function fakePackage(name: string, deps: Record<string, string>, source: string) {
    const dir = path.join(tmp, 'packages', name, 'src');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(tmp, 'packages', name, 'package.json'), JSON.stringify({ name, dependencies: deps }));
    fs.writeFileSync(path.join(dir, 'index.ts'), source);
  }

  it('catches mock importing syscalls, an upward import, a dependency and a node built-in in core', () => {
    fakePackage('mock', {}, "import { native } from '@bpfkit/syscalls';\n");
    fakePackage('maps', { bpfkit: 'workspace:^' }, "export { x } from 'bpfkit';\nconst y = await import('@bpfkit/attach');\n");
    fakePackage('core', {}, "import fs from 'node:fs';\nimport { a } from '../../maps/src/index.js';\n");
    const found = checkLayers(tmp)
      .map((v: { specifier: string }) => v.specifier)
      .sort();
    expect(found).toEqual(['../../maps/src/index.js', '@bpfkit/attach', '@bpfkit/syscalls', 'bpfkit', 'bpfkit', 'node:fs']);
  });

  it('reads every import form', () => {
    expect(
      importsOf("import a from 'x';\nimport type { B } from \"y\";\nexport * from './z.js';\nimport 'side';\nawait import('dyn');"),
    ).toEqual(['x', 'y', './z.js', 'side', 'dyn']);
  });
});
