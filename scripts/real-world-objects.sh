#!/usr/bin/env bash
# Real-world check: build bcc's libbpf-tools and libbpf-bootstrap's examples against this
# kernel's vmlinux.h, then load every object with `bpftool prog loadall` and with
# `bpfkit obj load`, and print one row per object and the counts.
#
# A tool, not a test: CI does not run it. It needs root (CAP_BPF/CAP_SYS_ADMIN for loading
# and for mounting a private bpffs), clang, llvm-strip, bpftool and libbpf's headers
# (Debian: clang-19 llvm-19 bpftool libbpf-dev), and a built bpfkit
# (`pnpm --filter bpfkit run build`).
#
# Sources: cloned from GitHub into $WORK unless given:
#   BCC_SRC=<bcc checkout>                  (its libbpf-tools/ is built)
#   LIBBPF_BOOTSTRAP_SRC=<checkout>         (its examples/c/ is built)
#   LIBBPF_SRC=<libbpf checkout>            (optional: the headers libbpf-bootstrap and bcc
#                                            vendor as submodules; an object that does not
#                                            build with the system's headers is built again
#                                            with these, and marked 'vendored')
# Other knobs: WORK (scratch dir, default a fresh mktemp -d), CLANG (default clang-19 or clang),
#   LLVM_STRIP, BPFTOOL, BPFKIT_CLI (default <repo>/packages/bpfkit/dist/bpfkit.cjs),
#   ONLY=<regex> (object names to run), TIMEOUT (seconds per load, default 120),
#   SET=bcc|bootstrap|all (default all), LIBBPF_LOAD_FLAGS (the libbpf the per-program check
#   links, default -lbpf). BPFTOOL serves all three uses (vmlinux.h, `gen object`, `prog loadall`):
#   a bpftool older than 7.4 writes no kfunc prototypes into vmlinux.h, which sigsnoop needs.
#
# Output: a table `set object build bpftool bpfkit first-error`, then the counts; the full
# logs of every build and load stay in $WORK/logs.
set -uo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-$(mktemp -d /tmp/real-world-objects.XXXXXX)}
CLANG=${CLANG:-$(command -v clang-19 || command -v clang)}
LLVM_STRIP=${LLVM_STRIP:-$(command -v llvm-strip-19 || command -v llvm-strip)}
BPFTOOL=${BPFTOOL:-$(command -v bpftool || echo /usr/sbin/bpftool)}
BPFKIT_CLI=${BPFKIT_CLI:-$REPO/packages/bpfkit/dist/bpfkit.cjs}
TIMEOUT=${TIMEOUT:-120}
ONLY=${ONLY:-.}
SET=${SET:-all}
ARCH=$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/' -e 's/s390x/s390/' -e 's/riscv64/riscv/' -e 's/loongarch64/loongarch/')

die() { echo "real-world-objects: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "run as root (loading programs and mounting bpffs need it)"
[ -x "$CLANG" ] || die "no clang (set CLANG)"
[ -x "$LLVM_STRIP" ] || die "no llvm-strip (set LLVM_STRIP)"
[ -x "$BPFTOOL" ] || die "no bpftool (set BPFTOOL)"
[ -f "$BPFKIT_CLI" ] || die "no $BPFKIT_CLI: run 'pnpm --filter bpfkit run build' (or set BPFKIT_CLI)"
[ -r /sys/kernel/btf/vmlinux ] || die "the kernel has no BTF (/sys/kernel/btf/vmlinux)"

mkdir -p "$WORK/logs" "$WORK/obj" "$WORK/vmlinux"
clone() { # url dir
  [ -d "$2" ] || git clone -q --depth 1 "$1" "$2" || die "git clone $1 failed"
}
if [ "$SET" != bootstrap ]; then
  [ -n "${BCC_SRC:-}" ] || { BCC_SRC=$WORK/src/bcc; clone https://github.com/iovisor/bcc "$BCC_SRC"; }
  [ -d "$BCC_SRC/libbpf-tools" ] || die "BCC_SRC=$BCC_SRC has no libbpf-tools/"
fi
if [ "$SET" != bcc ]; then
  [ -n "${LIBBPF_BOOTSTRAP_SRC:-}" ] || { LIBBPF_BOOTSTRAP_SRC=$WORK/src/libbpf-bootstrap; clone https://github.com/libbpf/libbpf-bootstrap "$LIBBPF_BOOTSTRAP_SRC"; }
  [ -d "$LIBBPF_BOOTSTRAP_SRC/examples/c" ] || die "LIBBPF_BOOTSTRAP_SRC=$LIBBPF_BOOTSTRAP_SRC has no examples/c/"
fi
[ -n "${LIBBPF_SRC:-}" ] || { LIBBPF_SRC=$WORK/src/libbpf; clone https://github.com/libbpf/libbpf "$LIBBPF_SRC"; }

# This kernel's types, as both Makefiles expect them (<arch>/vmlinux.h, or -I the dir).
"$BPFTOOL" btf dump file /sys/kernel/btf/vmlinux format c >"$WORK/vmlinux/vmlinux.h" 2>"$WORK/logs/vmlinux.log" ||
  die "bpftool btf dump failed: $(cat "$WORK/logs/vmlinux.log")"

# The vendored headers: what `make install_headers` puts in $(OUTPUT)/bpf/ for both Makefiles.
VENDORED=
if [ -d "$LIBBPF_SRC/src" ]; then
  VENDORED=$WORK/vendored
  mkdir -p "$VENDORED/bpf"
  cp "$LIBBPF_SRC"/src/*.h "$VENDORED/bpf/"
fi
UAPI=()
[ -d "$LIBBPF_SRC/include/uapi" ] && UAPI=(-I"$LIBBPF_SRC/include/uapi")

# libbpf-bootstrap adds clang's own system include dirs with -idirafter.
mapfile -t SYS_INCLUDES < <("$CLANG" -v -E - </dev/null 2>&1 |
  sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter\n\1|p }')

# build_bcc <src.bpf.c> <out.o> <header dir or empty>: as libbpf-tools/Makefile builds it, plus
# clang's system dirs with -idirafter (as libbpf-bootstrap adds them: they only serve includes
# that fail otherwise, e.g. usdt.bpf.h's <linux/errno.h> wants <asm/errno.h>, which Debian keeps
# in the multiarch dir that `-target bpf` does not search).
build_bcc() {
  local extra=()
  [ "$(basename "$1")" = softirqs.bpf.c ] && extra=(-mcpu=v3)
  local inc=()
  [ -n "$3" ] && inc=(-I"$3")
  (cd "$(dirname "$1")" &&
    "$CLANG" -g -O2 -Wall -Werror=undef "${extra[@]}" -target bpf -D__TARGET_ARCH_"$ARCH" \
      -I"$WORK/vmlinux" "${inc[@]}" "${UAPI[@]}" "${SYS_INCLUDES[@]}" -c "$(basename "$1")" -o "$2" &&
    "$LLVM_STRIP" -g "$2")
}
# build_bootstrap <src.bpf.c> <out.o> <header dir or empty>: as examples/c/Makefile builds it
# (clang, then `bpftool gen object` statically links the object).
build_bootstrap() {
  local inc=()
  [ -n "$3" ] && inc=(-I"$3")
  (cd "$(dirname "$1")" &&
    "$CLANG" -g -O2 -target bpf -D__TARGET_ARCH_"$ARCH" "${inc[@]}" "${UAPI[@]}" -I"$WORK/vmlinux" \
      "${SYS_INCLUDES[@]}" -c "$(basename "$1")" -o "${2%.bpf.o}.tmp.bpf.o" &&
    "$BPFTOOL" gen object "$2" "${2%.bpf.o}.tmp.bpf.o")
}

first_error() { # a log file: the first line that says what failed
  local line
  line=$(grep -m1 -E '^bpfkit obj load:' "$1" | sed 's/^bpfkit obj load: //')
  [ -n "$line" ] || line=$(grep -m1 -E "^libbpf: (map|prog) '[^']+': .*(fail|invalid)" "$1")
  [ -n "$line" ] || line=$(grep -m1 -E '^Error:|error:|[Ee]rror|failed|invalid|refused|EPERM|EINVAL|not supported' "$1")
  [ -n "$line" ] || line=$(grep -m1 -v '^\s*$' "$1")
  printf '%s' "${line:0:200}" | tr '\t' ' '
}

BPFFS=$WORK/bpffs
mkdir -p "$BPFFS"
mount -t bpf bpf "$BPFFS" || die "mount -t bpf on $BPFFS failed"
cleanup() { rm -rf "${BPFFS:?}"/* 2>/dev/null; umount "$BPFFS" 2>/dev/null; }
trap cleanup EXIT

declare -A BUILT BT BK BOTH SAME
MISCOUNT=0
TABLE=$WORK/table.tsv
: >"$TABLE"
printf '%-12s %-28s %-9s %-8s %-8s %s\n' set object build bpftool bpfkit first-error

run_set() { # set-name src-dir builder
  local set=$1 dir=$2 builder=$3 src name obj log how bt bk note
  BUILT[$set]=0 BT[$set]=0 BK[$set]=0 BOTH[$set]=0 SAME[$set]=0
  PP_OBJ[$set]=0 PP_SAME[$set]=0 PP_LB[$set]=0 PP_BK[$set]=0
  mkdir -p "$WORK/obj/$set" "$WORK/logs/$set"
  for src in "$dir"/*.bpf.c; do
    name=$(basename "$src" .bpf.c)
    [[ $name =~ $ONLY ]] || continue
    obj=$WORK/obj/$set/$name.bpf.o
    log=$WORK/logs/$set/$name
    how=system
    if ! "$builder" "$src" "$obj" "" >"$log.build" 2>&1; then
      how=
      if [ -n "$VENDORED" ] && "$builder" "$src" "$obj" "$VENDORED" >"$log.build-vendored" 2>&1; then
        how=vendored
      fi
    fi
    if [ -z "$how" ]; then
      note=$(first_error "$log.build")
      printf '%-12s %-28s %-9s %-8s %-8s %s\n' "$set" "$name" FAIL - - "build: $note"
      printf '%s\t%s\tFAIL\t-\t-\tbuild: %s\n' "$set" "$name" "$note" >>"$TABLE"
      continue
    fi
    BUILT[$set]=$((BUILT[$set] + 1))

    rm -rf "${BPFFS:?}/$name"
    if timeout "$TIMEOUT" "$BPFTOOL" prog loadall "$obj" "$BPFFS/$name" >"$log.bpftool" 2>&1; then bt=ok; else bt=FAIL; fi
    # bpftool pins one file per program it loaded; bpfkit prints one 'loaded' row per program.
    nbt=$(find "$BPFFS/$name" -mindepth 1 2>/dev/null | wc -l)
    # The kernel's tag of each program hashes its instructions as loaded (map fds zeroed):
    # equal sorted tag lists mean both loaders handed the kernel the same code.
    tbt=$(find "$BPFFS/$name" -mindepth 1 -type f 2>/dev/null | while read -r pin; do
      "$BPFTOOL" prog show pinned "$pin" | grep -oE 'tag [0-9a-f]{16}' | cut -d' ' -f2; done | sort | tr '\n' ' ')
    rm -rf "${BPFFS:?}/$name"
    if timeout "$TIMEOUT" node "$BPFKIT_CLI" obj load "$obj" >"$log.bpfkit" 2>&1; then bk=ok; else bk=FAIL; fi
    nbk=$(grep -cE '[[:space:]]loaded$' "$log.bpfkit")
    tbk=$(grep -E '[[:space:]]loaded$' "$log.bpfkit" | grep -oE '\b[0-9a-f]{16}\b' | sort | tr '\n' ' ')

    [ $bt = ok ] && BT[$set]=$((BT[$set] + 1))
    [ $bk = ok ] && BK[$set]=$((BK[$set] + 1))
    note=
    if [ $bt = ok ] && [ $bk = ok ]; then
      BOTH[$set]=$((BOTH[$set] + 1))
      if [ "$nbt" != "$nbk" ]; then
        note="programs loaded: bpftool $nbt, bpfkit $nbk"
        MISCOUNT=$((MISCOUNT + 1))
      elif [ "$tbt" = "$tbk" ]; then
        SAME[$set]=$((SAME[$set] + 1))
      else
        note="same programs, different code (tags: bpftool $(printf '%s' "$tbt" | wc -w) vs bpfkit $(printf '%s' "$tbk" | wc -w), common $(comm -12 <(tr ' ' '\n' <<<"$tbt" | sed '/^$/d') <(tr ' ' '\n' <<<"$tbk" | sed '/^$/d') | wc -l))"
      fi
    elif [ $bt = ok ]; then
      note="bpfkit: $(first_error "$log.bpfkit")"
    elif [ $bk = ok ]; then
      note="bpftool: $(first_error "$log.bpftool")"
    else
      note="bpftool: $(first_error "$log.bpftool") | bpfkit: $(first_error "$log.bpfkit")"
    fi
    [ -n "$PER_PROGRAM" ] && per_program "$set" "$name" "$obj" "$log"
    [ $how = vendored ] && name="$name(vendored)"
    printf '%-12s %-28s %-9s %-8s %-8s %s\n' "$set" "$name" ok $bt $bk "$note"
    printf '%s\t%s\tok\t%s\t%s\t%s\n' "$set" "$name" $bt $bk "$note" >>"$TABLE"
  done
}

# Per program, as each tool's user space would load it (scripts/real-world-objects/*): run-time
# map sizes given, programs the kernel refuses or whose target is missing left out, the rest loaded.
LIBBPF_LOAD=$WORK/libbpf-load
PER_PROGRAM=1
# LIBBPF_LOAD_FLAGS picks the libbpf it links (default the system's -lbpf; e.g. a newer build:
# '-I<libbpf>/include <libbpf>/libbpf.a -lelf -lz').
# shellcheck disable=SC2086
"${CC:-cc}" -O2 -o "$LIBBPF_LOAD" "$REPO/scripts/real-world-objects/libbpf-load.c" ${LIBBPF_LOAD_FLAGS:--lbpf} 2>"$WORK/logs/libbpf-load.build" ||
  { PER_PROGRAM=; echo "(no per-program check: libbpf-load does not build, see $WORK/logs/libbpf-load.build)"; }
declare -A PP_SAME PP_OBJ PP_LB PP_BK
PP_TABLE=$WORK/per-program.tsv
: >"$PP_TABLE"
per_program() { # set name obj log
  local set=$1 name=$2 obj=$3 log=$4 lb bk
  PP_OBJ[$set]=$((PP_OBJ[$set] + 1))
  timeout "$TIMEOUT" "$LIBBPF_LOAD" "$obj" >"$log.libbpf-load" 2>&1
  timeout "$TIMEOUT" node "$REPO/scripts/real-world-objects/bpfkit-load.mjs" "$obj" >"$log.bpfkit-load" 2>&1
  # What each loaded (name and tag) and which programs each left out (without the reasons' wording).
  lb=$(sed -E 's/^(skipped [^:]*):.*/\1/' "$log.libbpf-load" | sort)
  bk=$(sed -E 's/^(skipped [^:]*):.*/\1/' "$log.bpfkit-load" | sort)
  PP_LB[$set]=$((PP_LB[$set] + $(grep -c '^loaded ' "$log.libbpf-load")))
  PP_BK[$set]=$((PP_BK[$set] + $(grep -c '^loaded ' "$log.bpfkit-load")))
  if [ "$lb" = "$bk" ]; then
    PP_SAME[$set]=$((PP_SAME[$set] + 1))
  else
    diff <(echo "$lb") <(echo "$bk") | grep -E '^[<>]' | sed -e 's/^</libbpf:/' -e 's/^>/bpfkit:/' | tr '\n' ';' |
      sed "s/^/$set\t$name\t/" >>"$PP_TABLE"
    echo >>"$PP_TABLE"
  fi
}

SETS=()
if [ "$SET" != bootstrap ]; then run_set libbpf-tools "$BCC_SRC/libbpf-tools" build_bcc; SETS+=(libbpf-tools); fi
if [ "$SET" != bcc ]; then run_set bootstrap "$LIBBPF_BOOTSTRAP_SRC/examples/c" build_bootstrap; SETS+=(bootstrap); fi

echo
status=0
for s in "${SETS[@]}"; do
  only_bt=$((BT[$s] - BOTH[$s]))
  echo "$s: built ${BUILT[$s]}, bpftool loads ${BT[$s]}, bpfkit loads ${BK[$s]}, both ${BOTH[$s]} (the same code: ${SAME[$s]}), bpftool only $only_bt, bpfkit only $((BK[$s] - BOTH[$s]))"
  [ $only_bt -eq 0 ] || status=1
done
if [ -n "$PER_PROGRAM" ]; then
  echo
  echo "per program (as the tools' user space loads them: run-time map sizes set, refused programs left out):"
  for s in "${SETS[@]}"; do
    echo "$s: objects ${PP_OBJ[$s]}, the same programs loaded with the same tags and the same left out: ${PP_SAME[$s]}; programs loaded: libbpf ${PP_LB[$s]}, bpfkit ${PP_BK[$s]}"
    [ "${PP_SAME[$s]}" = "${PP_OBJ[$s]}" ] || status=1
  done
  if [ -s "$PP_TABLE" ]; then
    echo "differences (set, object, what differs):"
    cat "$PP_TABLE"
  fi
fi
[ $MISCOUNT -eq 0 ] || { echo "objects both load but with different program counts: $MISCOUNT"; status=1; }
echo "table: $TABLE; logs: $WORK/logs"
exit $status
