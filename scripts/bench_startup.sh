#!/usr/bin/env bash
# Where a psfwi process's start-up goes (issue 16: "start-up and I/O kept
# under 10 % of a 1 % run"; docs/BENCHMARKS.md, "Time to accuracy").
# Builds empty programs (int main(void) { return 0; }) linked against one of
# psfwi's direct dependencies each, with everything that dependency loads in
# turn, and times them beside `psfwi --version` (which loads all of them):
# the difference to the bare program is what loading and initialising that
# library costs. Rounds interleave the programs; medians of RUNS runs.
#   scripts/bench_startup.sh [PSFWI] [RUNS]      (default build/psfwi, 41)
set -euo pipefail
cd "$(dirname "$0")/.."
psfwi=${1:-build/psfwi}
runs=${2:-41}
[ -x "$psfwi" ] || { echo "bench_startup: no binary '$psfwi' (build first)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo 'int main(void) { return 0; }' >"$tmp/e.c"
# name | linker flags (libraries psfwi links directly; see CMakeLists.txt)
libs=(
  "none|"
  "fftw3f|-lfftw3f -lfftw3f_threads"
  "openblas+lapacke|-lopenblas -llapacke"
  "netcdf|-lnetcdf"
  "hdf5 (loaded by netcdf)|-lhdf5_serial"
  "curl-gnutls (loaded by netcdf, hdf5)|-lcurl-gnutls"
  "mpi|-lmpi"
  "inih+segyio+zip|-linih -lsegyio -lzip"
  "gomp|-lgomp"
)
names=()
for entry in "${libs[@]}"; do
  name=${entry%%|*}
  flags=${entry#*|}
  exe="$tmp/e$((${#names[@]}))"
  # shellcheck disable=SC2086
  gcc "$tmp/e.c" -o "$exe" -Wl,--no-as-needed $flags
  names+=("$name")
done
names+=("psfwi --version (all of them)")
now_us() { echo $(($(date +%s%N) / 1000)); }
declare -A t
for ((r = 0; r < runs; r++)); do
  for ((k = 0; k < ${#names[@]}; k++)); do
    if ((k < ${#names[@]} - 1)); then cmd=("$tmp/e$k"); else cmd=("$psfwi" --version); fi
    s=$(now_us)
    "${cmd[@]}" >/dev/null
    t[$k]+="$(($(now_us) - s)) "
  done
done
echo "| program | median wall time (ms) | over the bare program (ms) |"
echo "|---|---|---|"
median() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
base=$(echo "${t[0]}" | median)
for ((k = 0; k < ${#names[@]}; k++)); do
  m=$(echo "${t[$k]}" | median)
  awk -v n="${names[$k]}" -v m="$m" -v b="$base" \
    'BEGIN {printf "| %s | %.1f | %.1f |\n", n, m / 1000, (m - b) / 1000}'
done
echo "($runs interleaved rounds; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg))"
