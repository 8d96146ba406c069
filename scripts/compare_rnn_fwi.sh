#!/usr/bin/env bash
# "RNN against classical FWI" (docs/RESULTS.md): the same observed data,
# starting model, bands, bounds and budget in wave propagations for both,
# on the demo's faulted model, on a folded model of the same size (the RNN's
# settings were chosen on the faulted one only), on the faulted model's data
# with white Gaussian noise at 10 dB SNR, and on Marmousi at 40 m.
#   [PSFWI=binary] scripts/compare_rnn_fwi.sh [demo|folded|noise|marmousi|all] [OUTPUT_DIR]
# ONLY=fwi or ONLY=rnn runs one method (the other's earlier outputs are
# compared when present).
# Prints one table per case (whole model, and a window around the faults),
# wall times, and writes pictures to OUTPUT_DIR (default build/compare).
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
out=${2:-build/compare}
psfwi=${PSFWI:-build/psfwi}
[ -x "$psfwi" ] || { cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
  cmake --build build -j"$(nproc)" --target psfwi_cli; }
mkdir -p "$out"
py=/usr/bin/python3

# run LABEL CMD...: time a run, keep its stderr in OUT/LABEL.log
run() { local label=$1; shift
  local t0; t0=$(date +%s.%N)
  "$@" 2> "$out/$label.log" > /dev/null
  awk -v a="$t0" -v b="$(date +%s.%N)" -v l="$label" 'BEGIN { printf "%s %.1f s\n", l, b - a }' \
    >> "$out/times.txt"; }

# case NAME TRUE START SHOTS WINDOW: FWI and RNN on the same data
# ONLY=rnn (or fwi) runs one of the two (the other's outputs from an earlier run
# are compared when present).
one_case() {
  local name=$1 truth=$2 start=$3 shots=$4 window=$5 fwi_cfg=$6 rnn_cfg=$7 nshot=$8
  echo "== $name =="
  # no shots file: both runs synthesise the observed data in the true model
  # (the same propagator and survey, so the same data)
  local data=()
  [ -n "$shots" ] && data=(--set data.observed="$shots")
  [ "${ONLY:-}" = rnn ] ||
  run "${name}_fwi" "$psfwi" fwi -c "$fwi_cfg" --set model.vp="$start" --set model.true="$truth" \
    "${data[@]}" --set output.model="$out/${name}_fwi.nc" \
    --set output.history="$out/${name}_fwi_history.nc"
  [ "${ONLY:-}" = fwi ] ||
  run "${name}_rnn" "$psfwi" rnn -c "$rnn_cfg" --set model.vp="$start" --set model.true="$truth" \
    "${data[@]}" --set output.model="$out/${name}_rnn.nc" \
    --set output.history="$out/${name}_rnn_history.nc"
  local models=("$start")
  for m in fwi rnn; do [ -f "$out/${name}_$m.nc" ] && models+=("$out/${name}_$m.nc"); done
  "$psfwi" compare "$truth" "${models[@]}" | tee "$out/${name}_table.txt"
  "$psfwi" compare "$truth" "${models[@]}" --window "$window" | tee "$out/${name}_window.txt"
  grep "^${name}_" "$out/times.txt" | tail -2
  "$py" scripts/plot_model.py "${models[@]}" --true "$truth" \
    --psfwi "$psfwi" -o "$out/${name}_models.png" || true
  "$py" scripts/plot_compare.py "$out/${name}_fwi_history.nc" "$out/${name}_rnn_history.nc" \
    --shots "$nshot" --title "$name: model error against cost" -o "$out/${name}_cost.png" || true
}

synthetic() { # FAMILY: a 3 km x 1.2 km model at 20 m under 100 m of water, seed 42
  local fam=$1 noise=${2:-}
  "$psfwi" model synth --family "$fam" --nx 150 --nz 60 --dx 20 --seed 42 --vmin 1500 \
    --vmax 4500 --water 100 -o "$out/${fam}_true.nc" > /dev/null
  "$psfwi" model smooth "$out/${fam}_true.nc" --sigma 200 --slowness --keep-water \
    -o "$out/${fam}_start.nc" > /dev/null
  local extra=()
  [ -n "$noise" ] && extra=(--set output.noise_snr_db="$noise" --set output.noise_seed=5)
  "$psfwi" forward -c configs/demo_forward.ini --set model.vp="$out/${fam}_true.nc" \
    --set output.data="$out/${fam}_shots${noise:+_noisy}.nc" "${extra[@]}" 2> /dev/null > /dev/null
}

case_demo() { synthetic faulted
  one_case faulted "$out/faulted_true.nc" "$out/faulted_start.nc" "$out/faulted_shots.nc" \
    300:2200,200:1180 configs/demo_fwi.ini configs/demo_rnn.ini 8; }
case_folded() { synthetic folded
  one_case folded "$out/folded_true.nc" "$out/folded_start.nc" "$out/folded_shots.nc" \
    300:2700,200:1180 configs/demo_fwi.ini configs/demo_rnn.ini 8; }
case_noise() { synthetic faulted 10
  one_case noisy10dB "$out/faulted_true.nc" "$out/faulted_start.nc" \
    "$out/faulted_shots_noisy.nc" 300:2200,200:1180 configs/demo_fwi.ini configs/demo_rnn.ini 8; }
case_marmousi() {
  bash scripts/make_models.sh "$psfwi" > /dev/null
  [ -f models/marmousi_40m.nc ] || { echo "compare: no Marmousi (scripts/make_models.sh)"; return; }
  # the faulted block of Marmousi: x 4.0-7.0 km, z 0.4-2.0 km
  one_case marmousi models/marmousi_40m.nc models/marmousi_40m_start.nc "" \
    4000:7000,400:2000 configs/marmousi_fwi.ini configs/marmousi_rnn.ini 14; }

case "$what" in
  demo) case_demo ;;
  folded) case_folded ;;
  noise) case_noise ;;
  marmousi) case_marmousi ;;
  all) case_demo; case_folded; case_noise; case_marmousi ;;
  *) echo "usage: scripts/compare_rnn_fwi.sh [demo|folded|noise|marmousi|all] [OUTPUT_DIR]" >&2; exit 2 ;;
esac
