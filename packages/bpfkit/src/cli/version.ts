import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The version of the installed `bpfkit` package: from the nearest
 * package.json named `bpfkit` above this module, which is the package's own
 * from `src/` (tests), `dist/` and the CLI bundle alike (all one directory
 * below it). Undefined when there is none (a copy of the bundle moved
 * elsewhere).
 */
export function bpfkitVersion(from: string = fileURLToPath(import.meta.url)): string | undefined {
  for (let dir = path.dirname(from); ; ) {
    const manifest = path.join(dir, 'package.json');
    try {
      const parsed: unknown = JSON.parse(fs.readFileSync(manifest, 'utf8'));
      if (typeof parsed === 'object' && parsed !== null) {
        const { name, version } = parsed as { name?: unknown; version?: unknown };
        if (name === 'bpfkit' && typeof version === 'string') return version;
      }
    } catch {
      // no manifest here, or not one that parses: keep walking up
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
