// `pnpm --filter @bpfkit/examples gen`: writes the examples' skeletons from their objects.
import fs from 'node:fs';
import { generateSkeleton, SKELETONS, skeletonPath } from './skeleton-sources.js';

for (const object of Object.keys(SKELETONS)) {
  const code = generateSkeleton(object);
  fs.writeFileSync(skeletonPath(object), code);
  console.log(`wrote ${skeletonPath(object)} (${code.length} bytes)`);
}
