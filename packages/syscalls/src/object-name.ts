/**
 * The name the kernel will accept for a map or program: at most 15
 * characters (`BPF_OBJ_NAME_LEN` - 1) from `[A-Za-z0-9_.]`; anything else
 * is replaced by `_` (bpf_obj_name_cpy rejects other characters with EINVAL).
 *
 * @example
 * kernelObjectName('my-counter/map'); // 'my_counter_map'
 */
export function kernelObjectName(name: string | undefined): string {
  return (name ?? '').replace(/[^A-Za-z0-9_.]/g, '_').slice(0, 15);
}
