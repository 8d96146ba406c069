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
# RUNS (default "a b") chooses the inversions; FWI_SET adds --set arguments
# to both and TAG to their output names (e.g. RUNS=a TAG=_tikh0
# FWI_SET="--set regularization.tikhonov=0": the regularization study's
# question on these data, docs/REGULARIZATION.md (c)).
# Runs resume: finished steps are skipped, a killed inversion continues
# from its state file.
set -euo pipefail
cd "$(dirname "$0")/.."
psfwi=${PSFWI:-build/psfwi}
out=${1:-runs/cross_engine}
marm=${MARMOUSI:-../shared/data/marmousi/marmousi_vp.segy}
obs=${OBSERVED:-data/marmousi_survey.segy}
runs=${RUNS:-a b}
tag=${TAG:-}
read -r -a fwi_set <<< "${FWI_SET:-}"
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
    --set output.state="$(abs "$out/$name.state.nc")" --set output.qc="$(abs "$out/${name}_qc")" \
    --set output.wavelet="$(abs "$out/${name}_wavelet.txt")" "$@" "${fwi_set[@]}" "${resume[@]}" \
    > "$out/$name.log" 2>&1
  echo "$name: $(($(date +%s) - start)) s" | tee -a "$out/times.txt"
}
a=a_estimated$tag
b=b_true_wavelet$tag
cmp=("$out/start_40m.nc")
if [[ " $runs " == *" a "* ]]; then
  run "$a"
  cmp+=("$out/$a.nc")
fi
# the true wavelet, low-passed at 12 Hz (the bands stop at 8 Hz; unfiltered,
# its content up to 21 Hz would need a finer grid than 40 m)
if [[ " $runs " == *" b "* ]]; then
  run "$b" --set wavelet.kind=file --set wavelet.file="$(abs "$out/true_wavelet.txt")" \
    --set wavelet.highcut=12 --set inversion.wavelet_estimate=none
  cmp+=("$out/$b.nc")
fi
"$psfwi" compare "$out/true_40m.nc" "${cmp[@]}" | tee "$out/table$tag.txt"
[ -f "$out/$a.nc" ] && [ -f "$out/$b.nc" ] || exit 0 # the rest compares (a) with (b)
# the final estimated wavelet against the true one (relative L2 over the record)
paste <(grep -v '^#' "$out/${a}_wavelet.txt") "$out/true_wavelet.txt" |
  awk '{d = $1 - $2; n += d * d; t += $2 * $2} END {printf "estimated wavelet at the end: %.1f %% from the true one (relative L2)\n", 100 * sqrt(n / t)}' |
  tee "$out/wavelet$tag.txt"
# within the inversion's band (both low-passed at 8 Hz by FFT) and per band
# (the history's wavelet rows); the QC pictures: python3 with
# matplotlib and xarray (Debian's python3-matplotlib, python3-xarray)
if /usr/bin/python3 -c "import matplotlib, xarray" 2>/dev/null; then
  /usr/bin/python3 - "$out" "$a" <<'PY' | tee -a "$out/wavelet$tag.txt"
import sys
import numpy as np
import xarray as xr
out = sys.argv[1]
true = np.loadtxt(f"{out}/true_wavelet.txt")
w = xr.open_dataset(f"{out}/{sys.argv[2]}_history.nc")["wavelet"].values


def low(x, fc=8.0, dt=0.004):
    n = 4 * len(x)
    X = np.fft.rfft(x, n)
    f = np.fft.rfftfreq(n, dt)
    return np.fft.irfft(X / np.sqrt(1 + (f / fc) ** 16), n)[: len(x)]


last = None
for i in range(w.shape[0]):
    if last is None or not np.array_equal(w[i], last):
        n = min(len(w[i]), len(true))
        err = np.linalg.norm(w[i][:n] - true[:n]) / np.linalg.norm(true[:n])
        lt, lw = low(true[:n]), low(w[i][:n])
        err8 = np.linalg.norm(lw - lt) / np.linalg.norm(lt)
        print(f"history row {i:3d}: wavelet {100 * err:6.1f} % from the true one, "
              f"{100 * err8:6.1f} % below 8 Hz")
        last = w[i]
PY
  for name in "$a" "$b"; do
    for obsf in "$out/${name}_qc_band"*_observed.nc; do
      stage=${obsf%_observed.nc}
      for s in 0 1 2; do
        for when in start end; do
          /usr/bin/python3 scripts/plot_gather.py "$obsf" --compare "${stage}_$when.nc" --shot $s \
            -o "${stage}_${when}_shot$s.png" > /dev/null
        done
      done
    done
  done
  echo "QC pictures: $out/*_qc_band*_shot*.png"
  /usr/bin/python3 scripts/plot_model.py "$out/start_40m.nc" "$out/$a.nc" \
    "$out/$b.nc" --true "$out/true_40m.nc" --psfwi "$psfwi" \
    -o "$out/models$tag.png" > /dev/null
  /usr/bin/python3 - "$out" "$a" "$tag" <<'PY'
import sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
out = sys.argv[1]
true = np.loadtxt(f"{out}/true_wavelet.txt")
est = np.loadtxt(f"{out}/{sys.argv[2]}_wavelet.txt", comments="#")
t = np.arange(len(true)) * 0.004
n = 4 * len(true)
f = np.fft.rfftfreq(n, 0.004)
fig, ax = plt.subplots(1, 2, figsize=(11, 3.6))
ax[0].plot(t, true, "k", label="true (airgun-like, with bubble)")
ax[0].plot(t, est, "r--", label="estimated at the last band (<= 8 Hz)")
ax[0].set_xlim(0, 0.6)
ax[0].set_xlabel("time (s)")
ax[0].legend(fontsize=8)
ax[1].plot(f, np.abs(np.fft.rfft(true, n)), "k")
ax[1].plot(f, np.abs(np.fft.rfft(est, n)), "r--")
ax[1].axvline(8, color="grey", lw=0.8)
ax[1].set_xlim(0, 25)
ax[1].set_xlabel("frequency (Hz)")
ax[1].set_title("amplitude spectra (grey: the last band's corner)", fontsize=9)
fig.tight_layout()
fig.savefig(f"{out}/wavelet{sys.argv[3]}.png", dpi=110)
PY
  echo "pictures: $out/models$tag.png, $out/wavelet$tag.png"
fi
