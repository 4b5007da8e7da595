#!/usr/bin/env bash
# Builds Vigil's eBPF capture driver for the running kernel (install and test time; nothing built
# is committed): dumps the kernel's BTF to vmlinux.h, compiles the CO-RE probe with clang, generates
# the libbpf skeleton with bpftool and links the loader. Output: native/bpf/build/.
#
#   scripts/build-bpf.sh             build, failing with a message if something is missing
#   scripts/build-bpf.sh --optional  same, but exit 0 with a warning when a prerequisite is missing
#                                    (the eBPF tests then skip, naming the reason)
#
# Prerequisites (Debian 12): apt-get install clang libbpf-dev bpftool make gcc, and a kernel with BTF
# (/sys/kernel/btf/vmlinux). x86_64 only for now.
set -euo pipefail
cd "$(dirname "$0")/.."

optional=0
[[ "${1:-}" == "--optional" ]] && optional=1

missing() {
  if ((optional)); then
    echo "build-bpf: skipped: $1" >&2
    exit 0
  fi
  echo "build-bpf: $1" >&2
  exit 1
}

[[ "$(uname -s)" == Linux ]] || missing "the eBPF driver needs Linux"
[[ "$(uname -m)" == x86_64 ]] || missing "the eBPF probe reads x86_64 syscall registers; $(uname -m) is not supported yet"
[[ -r /sys/kernel/btf/vmlinux ]] || missing "this kernel exposes no BTF (/sys/kernel/btf/vmlinux): CONFIG_DEBUG_INFO_BTF=y is needed"
need=()
command -v clang >/dev/null || need+=(clang)
command -v bpftool >/dev/null || need+=(bpftool)
command -v make >/dev/null || need+=(make)
command -v cc >/dev/null || need+=(gcc)
[[ -r /usr/include/bpf/libbpf.h ]] || need+=(libbpf-dev)
((${#need[@]} == 0)) || missing "missing tools; install them with: apt-get install ${need[*]}"

# Rebuild when the kernel changed: vmlinux.h describes the running kernel.
stamp=native/bpf/build/.kernel
if [[ -f "$stamp" && "$(cat "$stamp")" != "$(uname -r)" ]]; then
  make -s -C native/bpf clean
fi
make -s -C native/bpf
uname -r > "$stamp"
echo "build-bpf: built native/bpf/build/vigil-capture for kernel $(uname -r)"
