#!/usr/bin/env bash
# The whole psfwi test suite on a fresh Debian 12 machine: install the
# dependencies, build with warnings as errors, run every test through ctest.
# With --sanitize (or CI=true, as in CI) a second full pass runs in an
# address + undefined-behaviour sanitizer build.
#   scripts/run_tests.sh [--sanitize] [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=0
if [ "${1:-}" = "--sanitize" ]; then sanitize=1; shift; fi
if [ "${CI:-}" = "true" ]; then sanitize=1; fi
jobs=$(nproc)

bash scripts/install_deps.sh

echo "== build (RelWithDebInfo, -Werror) =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPSFWI_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
echo "== tests =="
ctest --test-dir build --output-on-failure -j"$jobs" "$@"

if [ "$sanitize" = 1 ]; then
  echo "== build (address + undefined sanitizers) =="
  # -O1, as AddressSanitizer's authors advise: the same checks, and half the
  # time of -O0 (docs/BENCHMARKS.md, "Test suite")
  cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_C_FLAGS_DEBUG=-g -O1" \
    -DPSFWI_WERROR=ON -DPSFWI_SANITIZE=ON >/dev/null
  cmake --build build-sanitize -j"$jobs"
  echo "== tests under sanitizers =="
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    LSAN_OPTIONS=suppressions="$PWD/tests/lsan.supp" \
    ctest --test-dir build-sanitize --output-on-failure -j"$jobs" "$@"
fi
