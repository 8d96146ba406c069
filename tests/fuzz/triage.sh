#!/usr/bin/env bash
# One line per crash/time-out/OOM file: its kind and its top frames (psfwi,
# libnetcdf, libhdf5, ...; libFuzzer, ASan and libc start-up frames left
# out), for grouping the output of a campaign:
#   tests/fuzz/triage.sh build-fuzz/fuzz_netcdf build-fuzz/crashes-netcdf/* \
#     | cut -d'|' -f2- | sort | uniq -c | sort -rn
set -u
if [ $# -lt 2 ]; then
  echo "usage: tests/fuzz/triage.sh FUZZ_BINARY FILE..." >&2
  exit 2
fi
bin=$1
shift
root=$(cd "$(dirname "$0")/../.." && pwd)
export LSAN_OPTIONS=suppressions=$root/tests/lsan.supp
export ASAN_OPTIONS=symbolize=1:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for f in "$@"; do
  out=$(timeout -s KILL 60 "$bin" -timeout=1 -rss_limit_mb=1024 "$f" 2>&1)
  rc=$?
  kind=$(printf '%s\n' "$out" | grep -m1 -oE "ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer): [a-zA-Z-]+|runtime error: .*|allocator is out of memory" | head -1)
  frames=$(printf '%s\n' "$out" | grep -E "^ +#[0-9]+ 0x" |
    grep -vE "fuzzer::|libc_start|_start |LLVMFuzzerTestOneInput|in main |__asan|__interceptor|in (malloc|calloc|realloc|free) |__sanitizer" |
    head -8 |
    sed -E 's/^ +#[0-9]+ 0x[0-9a-f]+ in ([^ ]+) [^ ]*\/([^/ ]+:[0-9]+)(:[0-9]+)?.*$/\1(\2)/;
            s/^ +#[0-9]+ 0x[0-9a-f]+ in ([^ ]+) \(([^+)]+).*/\1[\2]/;
            s/^ +#[0-9]+ 0x[0-9a-f]+ +\(([^+)]+).*/?[\1]/;
            s/\/(usr\/)?lib\/x86_64-linux-gnu\///' | tr '\n' ' ')
  echo "$(basename "$f") rc=$rc | ${kind:-no crash when replayed alone} | $frames"
done
