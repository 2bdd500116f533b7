import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateSkeleton, SKELETONS, skeletonPath } from './skeleton-sources.js';

describe('the examples’ generated skeletons', () => {
  for (const object of Object.keys(SKELETONS)) {
    it(`${SKELETONS[object]} is what bpfkit gen types makes of bpf/${object} (else: pnpm --filter @bpfkit/examples gen)`, () => {
      expect(fs.readFileSync(skeletonPath(object), 'utf8')).toBe(generateSkeleton(object));
    });
  }
});
