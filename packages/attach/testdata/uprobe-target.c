/*
 * The program the uprobe tests probe (packages/attach/src/hooks/uprobe.test.ts
 * builds it with cc into a temporary directory).
 *
 *   uprobe-target N [wait]
 *
 * calls bpfkit_uprobe_a, bpfkit_uprobe_b and libc's getppid N times each.
 * With a second argument it first waits for a line on stdin, so that a test
 * can attach a probe filtered on its pid before the calls are made.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((noinline)) int bpfkit_uprobe_a(int x) {
  __asm__ volatile("" ::: "memory");
  return x + 1;
}

__attribute__((noinline)) int bpfkit_uprobe_b(int x) {
  __asm__ volatile("" ::: "memory");
  return x * 2;
}

/* Called through volatile pointers, so no compiler inlines or clones them. */
static int (*volatile call_a)(int) = bpfkit_uprobe_a;
static int (*volatile call_b)(int) = bpfkit_uprobe_b;

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1;
  if (argc > 2) {
    char line[16];
    if (!fgets(line, sizeof line, stdin)) return 2;
  }
  volatile long sum = 0;
  for (int i = 0; i < n; i++) {
    sum += call_a(i);
    sum += call_b(i);
    sum += getppid();
  }
  return sum < 0;
}
