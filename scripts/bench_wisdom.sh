#!/usr/bin/env bash
# What FFTW wisdom saves ([propagator] fftw_wisdom, docs/BENCHMARKS.md):
# whole-process wall time of a short psfwi forward (one shot, 10 samples, so
# that start-up and planning dominate) on NX x NZ cells with FFTW_MEASURE
# plans and no wisdom, with the wisdom of an earlier run, and with ESTIMATE
# plans; interleaved, REPEAT times each, medians. One thread.
# Usage: scripts/bench_wisdom.sh [NX NZ [REPEAT]]    (default 600 250 5)
# Environment: PSFWI (default build/psfwi)
set -euo pipefail
cd "$(dirname "$0")/.."
psfwi=$(realpath "${PSFWI:-build/psfwi}")
nx=${1:-600}
nz=${2:-250}
repeat=${3:-5}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
"$psfwi" model synth --family layered --nx "$nx" --nz "$nz" --dx 10 --seed 1 -o m.nc > /dev/null
cat > f.ini <<INI
[model]
vp = m.nc
[wavelet]
frequency = 10
[time]
duration = 0.018
sample_interval = 0.002
[survey]
source_x = $((nx * 5)):0:1
source_z = 20
receiver_x = 0:10:$nx
receiver_z = 10
[propagator]
fftw_measure = true
threads = 1
[output]
data = o.nc
INI
t() { /usr/bin/time -f "%e" "$psfwi" forward -c f.ini "$@" 2>&1 >/dev/null | tail -1; }
"$psfwi" forward -c f.ini --set propagator.fftw_wisdom="$dir/w.wis" > /dev/null 2>&1
: > a
: > b
: > c
for _ in $(seq "$repeat"); do
  t >> a
  t --set propagator.fftw_wisdom="$dir/w.wis" >> b
  t --set propagator.fftw_measure=false >> c
done
med() { sort -g "$1" | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
echo "grid ${nx} x ${nz}, ${repeat} runs each, median wall time of the whole process:"
echo "  FFTW_MEASURE, no wisdom:      $(med a) s"
echo "  FFTW_MEASURE, wisdom reused:  $(med b) s"
echo "  FFTW_ESTIMATE:                $(med c) s"
