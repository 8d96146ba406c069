#!/usr/bin/env bash
# The survey-data workflow on data that no inversion wavelet made
# (docs/data.md, "A survey-like run"): the demo's faulted model observed with
# a free surface, 10 dB of noise and a source wavelet with a bubble that the
# inversions are not told; FWI from the smoothed start (a) with a Ricker
# taken as the wavelet, (b) with the same Ricker re-estimated at each band
# (wavelet_estimate = band) and a mute along picked first breaks, and (c)
# with the true wavelet (the reference). Prints the metrics table.
# Usage: scripts/survey_demo.sh [OUT_DIR]        (default runs/survey_demo)
# Environment: PSFWI (default build/psfwi), BANDS (default 4:8,8:8,0:8).
set -euo pipefail
cd "$(dirname "$0")/.."
psfwi=${PSFWI:-build/psfwi}
out=${1:-runs/survey_demo}
bands=${BANDS:-4:8,8:8,0:8}
mkdir -p "$out"
[ -f "$out/true.nc" ] || "$psfwi" model synth --family faulted --nx 150 --nz 60 --dx 20 --seed 42 \
  --vmin 1500 --vmax 4500 --water 100 -o "$out/true.nc"
[ -f "$out/start.nc" ] || "$psfwi" model smooth "$out/true.nc" --sigma 200 --slowness --keep-water \
  -o "$out/start.nc"
# the source: a 6 Hz causal, front-loaded pulse and its bubble 120 ms later
awk 'BEGIN {pi = 3.14159265358979; for (i = 0; i < 401; i++) { t = i * 0.004;
  p = (t / 0.03)^2 * exp(-t / 0.03) * sin(2 * pi * 6 * t); b = t - 0.12;
  q = b >= 0 ? (b / 0.03)^2 * exp(-b / 0.03) * sin(2 * pi * 6 * b) : 0;
  printf "%.9g\n", p - 0.4 * q } }' > "$out/true_wavelet.txt"
common=(--set propagator.free_surface=true)
[ -f "$out/obs.nc" ] || "$psfwi" forward -c configs/demo_forward.ini "${common[@]}" \
  --set model.vp="$(realpath "$out/true.nc")" --set wavelet.kind=file \
  --set wavelet.file="$(realpath "$out/true_wavelet.txt")" --set output.noise_snr_db=10 \
  --set output.noise_seed=5 --set output.data="$(realpath -m "$out/obs.nc")"
run() { # name extra-args...
  local name=$1
  shift
  [ -f "$out/$name.nc" ] && return 0
  "$psfwi" fwi -c configs/demo_fwi.ini "${common[@]}" --set model.vp="$(realpath "$out/start.nc")" \
    --set model.true="$(realpath "$out/true.nc")" --set data.observed="$(realpath "$out/obs.nc")" \
    --set inversion.bands="$bands" --set output.model="$(realpath -m "$out/$name.nc")" \
    --set output.history="$(realpath -m "$out/${name}_history.nc")" \
    --set output.state="$(realpath -m "$out/$name.state.nc")" "$@" > "$out/$name.log" 2>&1
}
run a_ricker --set wavelet.kind=ricker --set wavelet.frequency=6
run b_estimated --set wavelet.kind=ricker --set wavelet.frequency=6 \
  --set inversion.wavelet_estimate=band --set data.pick_window=0.08 --set data.pick_margin=0.1
run c_true --set wavelet.kind=file --set wavelet.file="$(realpath "$out/true_wavelet.txt")"
"$psfwi" compare "$out/true.nc" "$out/start.nc" "$out/a_ricker.nc" "$out/b_estimated.nc" \
  "$out/c_true.nc" | tee "$out/table.txt"
