import { Errno, MapFlags, MapType, mapTypeName } from '@bpfkit/core';
import { mapFail } from '../map-errors.js';
import type { MockMapMeta } from '../map-spec.js';
import { MockMapStore } from '../map-store.js';
import type { MockKernel } from '../mock-kernel.js';

/**
 * Resolves the map fd a map-in-map update carries and checks it against the
 * inner template as the kernel's `bpf_map_meta_equal` does: same type, key
 * size, value size and flags, and for plain arrays (without
 * BPF_F_INNER_MAP) the same max entries. EBADF for an fd that is not open,
 * EINVAL for one that is not a map or does not match.
 */
export function checkInnerMap(kernel: MockKernel, template: MockMapMeta, fd: number, outer: string): MockMapStore {
  const subject = `map '${outer}' (mock)`;
  const object = kernel.resolveFd(fd, 'BPF_MAP_UPDATE_ELEM', 'map', subject);
  if (!(object instanceof MockMapStore)) return mapFail(Errno.EINVAL, 'BPF_MAP_UPDATE_ELEM', outer, `fd ${fd} is not a map`);
  const m = object.meta;
  const differences: string[] = [];
  if (m.type !== template.type) differences.push(`type ${mapTypeName(m.type)} instead of ${mapTypeName(template.type)}`);
  if (m.keySize !== template.keySize) differences.push(`key size ${m.keySize} instead of ${template.keySize}`);
  if (m.valueSize !== template.valueSize) differences.push(`value size ${m.valueSize} instead of ${template.valueSize}`);
  if (m.flags !== template.flags) differences.push(`flags 0x${m.flags.toString(16)} instead of 0x${template.flags.toString(16)}`);
  if (template.type === MapType.ARRAY && !(template.flags & MapFlags.INNER_MAP) && m.maxEntries !== template.maxEntries) {
    differences.push(`max_entries ${m.maxEntries} instead of ${template.maxEntries} (BPF_F_INNER_MAP on the template allows any)`);
  }
  if (differences.length > 0) {
    mapFail(Errno.EINVAL, 'BPF_MAP_UPDATE_ELEM', outer, `map fd ${fd} does not match the inner map template: ${differences.join(', ')}`);
  }
  return object;
}
