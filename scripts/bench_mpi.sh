#!/usr/bin/env bash
# MPI speed-up of the FWI gradient: the same `psfwi gradient` on 1 rank and
# on 2 MPI ranks (one thread each), and on 1 rank with 2 OpenMP threads for
# reference, interleaved repetition by repetition; prints medians of the
# gradient's own wall time (set-up excluded) and the ratios.
#   scripts/bench_mpi.sh [PSFWI_BINARY] [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
psfwi=${1:-build/psfwi}
reps=${2:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
"$psfwi" model synth --family layered --nx 300 --nz 100 --dx 10 --seed 5 --vmin 1500 --vmax 3500 \
  -o "$tmp/true.nc" >/dev/null
"$psfwi" model smooth "$tmp/true.nc" --sigma 100 -o "$tmp/start.nc" >/dev/null
cat > "$tmp/g.ini" <<INI
[model]
vp = start.nc
true = true.nc
[wavelet]
frequency = 10
[time]
duration = 1.2
sample_interval = 0.002
[survey]
source_x = 100:200:14
source_z = 20
receiver_x = 0:10:300
receiver_z = 20
[propagator]
vmin = 1400
vmax = 3600
[output]
gradient = g.nc
INI
t() { grep -o 'in [0-9.]* s' "$tmp/err" | head -1 | awk '{print $2}'; }
: > "$tmp/serial"; : > "$tmp/mpi"; : > "$tmp/omp"
for r in $(seq "$reps"); do
  OMP_NUM_THREADS=1 "$psfwi" gradient -c "$tmp/g.ini" >/dev/null 2>"$tmp/err"; t >> "$tmp/serial"
  OMP_NUM_THREADS=1 mpirun -np 2 --oversubscribe "$psfwi" gradient -c "$tmp/g.ini" >/dev/null 2>"$tmp/err"; t >> "$tmp/mpi"
  OMP_NUM_THREADS=2 "$psfwi" gradient -c "$tmp/g.ini" >/dev/null 2>"$tmp/err"; t >> "$tmp/omp"
done
med() { sort -g "$1" | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
s=$(med "$tmp/serial"); m=$(med "$tmp/mpi"); o=$(med "$tmp/omp")
echo "gradient of 14 shots, 300 x 100 cells, 601 samples; medians of $reps (load: $(cut -d' ' -f1-3 /proc/loadavg))"
echo "| run | time | speed-up |"
echo "|---|---|---|"
echo "| 1 rank, 1 thread | $s s | 1.00 |"
awk -v s="$s" -v m="$m" 'BEGIN { printf "| 2 MPI ranks, 1 thread each | %s s | %.2f |\n", m, s / m }'
awk -v s="$s" -v o="$o" 'BEGIN { printf "| 1 rank, 2 OpenMP threads | %s s | %.2f |\n", o, s / o }'
echo "all runs (s): serial $(tr '\n' ' ' < "$tmp/serial")| mpi $(tr '\n' ' ' < "$tmp/mpi")| omp $(tr '\n' ' ' < "$tmp/omp")"
