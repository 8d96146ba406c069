#!/usr/bin/env bash
# Run one libFuzzer target of tests/fuzz for a while (docs/RELIABILITY.md).
# Usage: scripts/fuzz.sh TARGET SECONDS [extra libFuzzer options...]
#   TARGET: config | netcdf | segy | npy | csv | learn
# Builds build-fuzz/ with clang (-DPSFWI_FUZZ=ON) when needed, fuzzes one
# process on one core over build-fuzz/corpus-TARGET (a copy of the seeds in
# tests/fuzz/corpus/TARGET that grows; the committed corpus stays small),
# with a 1 s time-out and a 1 GB RSS limit. Crashes, time-outs and OOMs
# go to build-fuzz/crashes-TARGET/; the log to build-fuzz/fuzz-TARGET.log.
# FUZZ_KEEP_GOING=1: carry on after a crash (-fork=1 -ignore_crashes=1 ...:
# still one fuzzing process at a time, under a mostly idle supervisor).
# FUZZ_BUILD_DIR overrides build-fuzz.
set -euo pipefail

if [ $# -lt 2 ]; then
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
target=$1
seconds=$2
shift 2
case "$target" in
  config) max_len=4096 ;;
  netcdf) max_len=65536 ;;
  segy) max_len=16384 ;;
  npy) max_len=4096 ;;
  csv) max_len=4096 ;;
  learn) max_len=8192 ;;
  *) echo "fuzz.sh: unknown target '$target' (config netcdf segy npy csv learn)" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
bdir=${FUZZ_BUILD_DIR:-$root/build-fuzz}

# ---- Own install step: clang and libFuzzer's runtime (not in install_deps.sh:
# fuzzing is not part of CI, which only replays the corpus and regressions).
if ! command -v clang >/dev/null 2>&1 ||
   ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "fuzz.sh: installing clang and libclang-rt-14-dev (libFuzzer runtime)"
  "$root/scripts/install_deps.sh" --no-python
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev
fi

# ---- Build (clang, -j2)
if [ ! -f "$bdir/CMakeCache.txt" ]; then
  CC=clang cmake -S "$root" -B "$bdir" -DPSFWI_FUZZ=ON -DPSFWI_BUILD_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$bdir" -j2 --target "fuzz_$target"

# ---- Corpus copy and run
corpus=$bdir/corpus-$target
crashes=$bdir/crashes-$target
log=$bdir/fuzz-$target.log
mkdir -p "$corpus" "$crashes"
cp -n "$root/tests/fuzz/corpus/$target/"* "$corpus/" 2>/dev/null || true
if [ -d "$root/tests/fuzz/regressions/$target" ]; then
  cp -n "$root/tests/fuzz/regressions/$target/"* "$corpus/" 2>/dev/null || true
fi

keep=()
if [ "${FUZZ_KEEP_GOING:-0}" = 1 ]; then
  keep=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:symbolize=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp:print_suppressions=0}
export OMP_NUM_THREADS=1
echo "fuzz.sh: $bdir/fuzz_$target on $corpus for $seconds s (log $log)"
set +e
"$bdir/fuzz_$target" -max_total_time="$seconds" -timeout=1 -rss_limit_mb=1024 \
  -max_len="$max_len" -artifact_prefix="$crashes/" -print_final_stats=1 \
  ${keep[@]+"${keep[@]}"} "$@" "$corpus" 2>&1 | tee "$log" |
  grep --line-buffered -E "^#[0-9]+(:|[[:space:]]+(INITED|pulse|DONE))|SUMMARY|ERROR|Test unit written|^Done"
status=${PIPESTATUS[0]}
set -e
# Inputs' files of processes that died on a crash (fuzz_common.h removes its
# file at a normal exit only).
for f in /dev/shm/psfwi-fuzz-"$target"-* "${TMPDIR:-/tmp}"/psfwi-fuzz-"$target"-*; do
  [ -e "$f" ] || continue
  pid=${f##*/psfwi-fuzz-"$target"-}
  pid=${pid%%.*}
  if ! kill -0 "$pid" 2>/dev/null; then rm -f "$f"; fi
done

echo "---- fuzz.sh: $target, $seconds s, exit status $status"
grep -E "^stat::" "$log" || true
last=$(grep -E "^#[0-9]+" "$log" | tail -1 || true)
echo "last status: $last"
# Fork mode prints no stat:: lines: executions and rate from its last line.
if [ "${FUZZ_KEEP_GOING:-0}" = 1 ]; then
  echo "$last" | awk '{n = substr($1, 2) + 0; for (i = 1; i <= NF; i++) if ($i == "time:") t = $(i + 1) + 0;
    if (t > 0) printf "executions: %d in %d s, %.0f exec/s; oom/timeout/crash as above\n", n, t, n / t}'
fi
grep -E "SUMMARY: |ERROR: libFuzzer" "$log" | sort | uniq -c || true
n=$(find "$crashes" -type f | wc -l)
echo "fuzz.sh: $n file(s) in $crashes"
if [ "$n" -gt 0 ]; then
  cat <<MSG
To reproduce one: $bdir/fuzz_$target FILE   (stack trace on stderr)
To keep it as a regression test once the defect is fixed: copy it to
  tests/fuzz/regressions/$target/<what-it-triggers>.<ext>
(replayed by ctest as fuzz_replay_$target); while the defect is not fixed,
keep it in tests/fuzz/pending/$target/ (not replayed).
MSG
fi
exit "$status"
