#!/usr/bin/env bash
# The nn engine against PyTorch on the issue-12 default hourglass
# (docs/BENCHMARKS.md, "NN engine"): bench_nn and scripts/bench_nn_torch.py
# in interleaved rounds, so both engines see the same machine load, at 1
# and 2 threads; psfwi with the OpenBLAS kernels of the environment's
# OPENBLAS_CORETYPE (when set) and with OpenBLAS's own choice by the CPU
# (the variable unset). Prints every run's median and, per configuration,
# the median over rounds.
#   scripts/bench_nn_compare.sh BUILD_DIR [ROUNDS] [REPS] [STEPS]
set -eu
build=${1:?usage: bench_nn_compare.sh BUILD_DIR [ROUNDS] [REPS] [STEPS]}
rounds=${2:-3}
reps=${3:-5}
steps=${4:-20}
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3 # Debian's python3-torch; a pyenv python3 may lack it
out=$(mktemp)
trap 'rm -f "$out"' EXIT
env_core=${OPENBLAS_CORETYPE:-}
echo "OPENBLAS_CORETYPE=${env_core:-(unset)}; psfwi-cpu: OpenBLAS's choice by the CPU" \
  "($(env -u OPENBLAS_CORETYPE "$build/bench_nn" --reps 1 --steps 1 | sed -n 's/.*OpenBLAS core //p'))"
echo "bench_nn_compare: $rounds rounds, batch 64, $reps x $steps steps per run; $(nproc) cores;" \
  "load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
  for t in 1 2; do
    v=$("$build/bench_nn" --threads "$t" --reps "$reps" --steps "$steps" | awk '/median/ {for (i = 1; i < NF; i++) if ($i == "median") print $(i + 1)}')
    echo "round $r threads $t psfwi-env${env_core:+-$env_core} $v" | tee -a "$out"
    if [ -n "$env_core" ]; then
      v=$(env -u OPENBLAS_CORETYPE "$build/bench_nn" --threads "$t" --reps "$reps" \
        --steps "$steps" | awk '/median/ {for (i = 1; i < NF; i++) if ($i == "median") print $(i + 1)}')
      echo "round $r threads $t psfwi-cpu $v" | tee -a "$out"
    fi
    v=$("$py" "$here/bench_nn_torch.py" --threads "$t" --reps "$reps" --steps "$steps" |
      awk '/median/ {for (i = 1; i < NF; i++) if ($i == "median") print $(i + 1)}')
    echo "round $r threads $t torch $v" | tee -a "$out"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "median over rounds (samples/s):"
for t in 1 2; do
  for e in psfwi-env${env_core:+-$env_core} psfwi-cpu torch; do
    m=$(awk -v t="$t" -v e="$e" '$4 == t && $5 == e {print $6}' "$out" | sort -n |
      awk '{v[NR] = $1} END {if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}')
    [ -n "$m" ] && echo "  threads $t $e $m"
  done
done
