#!/usr/bin/env bash
# The cross-engine test (docs/RESULTS.md, "Survey data"): Marmousi observed
# data modelled on a grid 5 times finer than the inversion's (8 m against
# 40 m, 1151 x 376 cells), with a free surface, an airgun-like causal
# wavelet with a bubble (not a Ricker), band-limited noise at 10 dB SNR and
# 1 % dead traces, sources and receivers off the inversion grid, written to
# SEG-Y; then inverted by psfwi fwi -c configs/survey_fwi.ini from the
# smoothed start (a) with the wavelet estimated at each band, never given,
# and (b) with the true wavelet given, so the cost of not knowing it is
# measured. Prints the metrics table and the estimated wavelet's error.
# Usage: scripts/cross_engine.sh [OUT_DIR]        (default runs/cross_engine)
# Environment: PSFWI (default build/psfwi), MARMOUSI (marmousi_vp.segy;
# default ../shared/data/marmousi/), OBSERVED (the SEG-Y file written;
# default data/marmousi_survey.segy, the file configs/survey_fwi.ini reads).
# Runs resume: finished steps are skipped, a killed inversion continues
# from its state file.
set -euo pipefail
cd "$(dirname "$0")/.."
psfwi=${PSFWI:-build/psfwi}
out=${1:-runs/cross_engine}
marm=${MARMOUSI:-../shared/data/marmousi/marmousi_vp.segy}
obs=${OBSERVED:-data/marmousi_survey.segy}
mkdir -p "$out" "$(dirname "$obs")"
abs() { realpath -m "$1"; }

# models: 8 m for the data, 40 m for the inversion (true and smoothed start,
# made as scripts/make_models.sh makes models/marmousi_40m*.nc)
if [ ! -f "$out/fine_8m.nc" ] || [ ! -f "$out/start_40m.nc" ]; then
  [ -f "$marm" ] || { echo "cross_engine: no Marmousi at '$marm' (set MARMOUSI)" >&2; exit 1; }
  "$psfwi" model import "$marm" -o "$out/marmousi_4m.nc"
  "$psfwi" model resample "$out/marmousi_4m.nc" --dx 8 -o "$out/fine_8m.nc"
  "$psfwi" model resample "$out/marmousi_4m.nc" --dx 40 -o "$out/true_40m.nc"
  "$psfwi" model smooth "$out/true_40m.nc" --sigma 400 --slowness --keep-water \
    -o "$out/start_40m.nc"
  rm -f "$out/marmousi_4m.nc"
fi

# the source: a causal 6 Hz pulse, front-loaded, and its bubble (0.4 of it,
# inverted) 120 ms later, sampled at the record's 4 ms
awk 'BEGIN {pi = 3.14159265358979; for (i = 0; i < 1001; i++) { t = i * 0.004;
  p = (t / 0.03)^2 * exp(-t / 0.03) * sin(2 * pi * 6 * t); b = t - 0.12;
  q = b >= 0 ? (b / 0.03)^2 * exp(-b / 0.03) * sin(2 * pi * 6 * b) : 0;
  printf "%.9g\n", p - 0.4 * q } }' > "$out/true_wavelet.txt"

# the observed data, modelled finely
cat > "$out/fine_forward.ini" <<INI
; written by scripts/cross_engine.sh
[model]
vp = $(abs "$out/fine_8m.nc")
[wavelet]
kind = file
file = $(abs "$out/true_wavelet.txt")
[time]
duration = 4.0
sample_interval = 0.004
[survey]
source_x = 310:500:18
source_z = 14
receiver_x = 25:40:229
receiver_z = 9
[propagator]
free_surface = true
scheme = kspace
absorber = pml
boundary_cells = 30
[output]
data = $(abs "$out/observed.nc")
segy = $(abs "$obs")
noise_snr_db = 10
noise_band = 1.5:15
noise_seed = 11
dead_fraction = 0.01
INI
if [ ! -f "$obs" ] || [ ! -f "$out/observed.nc" ]; then
  start=$(date +%s)
  "$psfwi" forward -c "$out/fine_forward.ini" 2>&1 | tee "$out/forward.log"
  echo "forward: $(($(date +%s) - start)) s" | tee -a "$out/forward.log"
fi
"$psfwi" data info "$obs" | tee "$out/observed_info.txt"

run() { # name extra-args...
  local name=$1
  shift
  [ -f "$out/$name.nc" ] && return 0
  local resume=()
  [ -f "$out/$name.state.nc" ] && resume=(--resume)
  local start=$(date +%s)
  "$psfwi" fwi -c configs/survey_fwi.ini --set model.vp="$(abs "$out/start_40m.nc")" \
    --set model.true="$(abs "$out/true_40m.nc")" --set data.observed="$(abs "$obs")" \
    --set output.model="$(abs "$out/$name.nc")" \
    --set output.history="$(abs "$out/${name}_history.nc")" \
    --set output.state="$(abs "$out/$name.state.nc")" "$@" "${resume[@]}" \
    > "$out/$name.log" 2>&1
  echo "$name: $(($(date +%s) - start)) s" | tee -a "$out/times.txt"
}
run a_estimated
run b_true_wavelet --set wavelet.kind=file --set wavelet.file="$(abs "$out/true_wavelet.txt")" \
  --set inversion.wavelet_estimate=none
"$psfwi" compare "$out/true_40m.nc" "$out/start_40m.nc" "$out/a_estimated.nc" \
  "$out/b_true_wavelet.nc" | tee "$out/table.txt"
# the estimated wavelet per band against the true one (relative L2 over the
# record; needs python3 with netCDF4 or xarray, as the plotting scripts)
/usr/bin/python3 - "$out" <<'PY' | tee "$out/wavelet.txt" || true
import sys
import numpy as np
import xarray as xr
out = sys.argv[1]
true = np.loadtxt(f"{out}/true_wavelet.txt")
h = xr.open_dataset(f"{out}/a_estimated_history.nc")
w = h["wavelet"].values
seen = []
for i in range(w.shape[0]):
    if not seen or not np.array_equal(w[i], seen[-1][1]):
        seen.append((i, w[i]))
for i, wi in seen:
    n = min(len(wi), len(true))
    err = np.linalg.norm(wi[:n] - true[:n]) / np.linalg.norm(true[:n])
    print(f"iteration {i:3d}: estimated wavelet {100 * err:6.1f} % from the true one")
np.savetxt(f"{out}/estimated_wavelet.txt", seen[-1][1], fmt="%.9g")
PY
