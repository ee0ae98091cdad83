#!/usr/bin/env bash
# Build every ISA test program (test/isa/src/*.S) and run it on QEMU's spike
# machine, which honours the HTIF `tohost` convention and exits with the
# program's code (only its low 8 bits survive as the exit status).
#
#   test/isa/qemu-check.sh               all programs must pass
#   test/isa/qemu-check.sh --break N     build with -DISA_BREAK=N (the checks of
#                                        case N are inverted): every program
#                                        that has a case N must now fail with N
#   test/isa/qemu-check.sh --break-all   for every case N of every program,
#                                        build with -DISA_BREAK=N and expect
#                                        failure N (slow: one run per case)
#   test/isa/qemu-check.sh [--break N] prog.S ...   only these programs
# ISA_OUT=dir keeps the built ELFs in dir.
#
# QEMU_SPIKE is defined for these builds: QEMU's spike machine does not
# implement the `time` CSR (rdtime traps), colinux must.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
CC="${CC:-riscv64-linux-gnu-gcc}"
QEMU="${QEMU:-qemu-system-riscv64}"
NM="${CC%gcc}nm"
break_case=""
break_all=""
if [ "${1:-}" = "--break" ]; then break_case="$2"; shift 2; fi
if [ "${1:-}" = "--break-all" ]; then break_all=1; shift; fi
command -v "$CC" >/dev/null || { echo "missing $CC (apt-get install gcc-riscv64-linux-gnu)"; exit 2; }
command -v "$QEMU" >/dev/null || { echo "missing $QEMU (apt-get install qemu-system-misc)"; exit 2; }
if [ -n "${ISA_OUT:-}" ]; then out="$ISA_OUT"; mkdir -p "$out"; else out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT; fi
if [ $# -gt 0 ]; then srcs=("$@"); else srcs=("$here"/src/*.S); fi
defs=(-DQEMU_SPIKE)
build() { # src elf [extra defines...]
  local src="$1" elf="$2"; shift 2
  "$CC" -nostdlib -nostartfiles -static -no-pie -march=rv64gc -mabi=lp64d \
    -mno-relax -Wl,--build-id=none -Wl,--no-warn-rwx-segments -I"$here/src" \
    "${defs[@]}" "$@" -T "$here/link.ld" -o "$elf" "$src"
}
run() { # elf -> exit status
  timeout 60 "$QEMU" -M spike -bios none -nographic -monitor none -serial none \
    -kernel "$1" </dev/null
}
cases() { # elf -> case numbers
  "$NM" "$1" | while read -r v _ s; do
    case "$s" in isa_case_L*) echo $(( 0x$v ));; esac; done | sort -n
}

if [ -n "$break_all" ]; then
  failed=0
  for src in "${srcs[@]}"; do
    name="$(basename "$src" .S)"
    build "$src" "$out/$name.elf" || { echo "BUILD FAIL $name"; failed=1; continue; }
    total=0; unchecked=""
    for n in $(cases "$out/$name.elf"); do
      total=$((total + 1))
      build "$src" "$out/$name.break.elf" "-DISA_BREAK=$n" || { echo "BUILD FAIL $name ($n)"; failed=1; continue; }
      run "$out/$name.break.elf"; rc=$?
      [ "$rc" = $(( n & 255 )) ] || unchecked="$unchecked $n(exit $rc)"
    done
    if [ -z "$unchecked" ]; then echo "ok   $name: all $total cases fail when broken"
    else echo "note $name: $total cases; not failing when broken:$unchecked"; fi
  done
  exit $failed
fi

failed=0
for src in "${srcs[@]}"; do
  name="$(basename "$src" .S)"
  elf="$out/$name.elf"
  if ! build "$src" "$elf"; then
    echo "BUILD FAIL $name"; failed=1; continue
  fi
  if [ -n "$break_case" ] && ! cases "$elf" | grep -qx "$break_case"; then
    echo "skip $name (no case $break_case)"; continue
  fi
  if [ -n "$break_case" ]; then
    build "$src" "$elf" "-DISA_BREAK=$break_case" || { echo "BUILD FAIL $name"; failed=1; continue; }
  fi
  run "$elf"
  rc=$?
  if [ -n "$break_case" ]; then
    want=$(( break_case & 255 ))
    if [ "$rc" = "$want" ]; then echo "ok   $name (broken case $break_case fails: exit $rc)";
    else echo "FAIL $name: with case $break_case broken, exit $rc (want $want)"; failed=1; fi
  else
    if [ "$rc" = 0 ]; then echo "ok   $name";
    elif [ "$rc" = 124 ]; then echo "FAIL $name: timeout"; failed=1;
    else
      lines=$("$NM" "$elf" 2>/dev/null | while read -r v _ s; do
        case "$s" in isa_case_L*) [ $(( 0x$v % 256 )) = "$rc" ] && printf '%s(case %d) ' "${s#isa_case_L}" $(( 0x$v ));; esac; done)
      echo "FAIL $name: exit $rc (failing case number mod 256; source line(s) $lines)"; failed=1; fi
  fi
done
exit $failed
