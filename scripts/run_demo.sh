#!/usr/bin/env bash
# psfwi's main job on its built-in default, on a fresh Debian 12 machine:
# install the dependencies, build, then
#   1. make a synthetic faulted model under 100 m of water (the "true"
#      model, 3 km x 1.2 km at 20 m) and a smoothed starting model;
#   2. forward-model a marine survey on the true model (8 shots, 150
#      receivers) with the pseudo-spectral propagator;
#   3. invert the shot gathers with classical FWI (3 frequency bands,
#      bounded L-BFGS, illumination preconditioning, water layer frozen);
#   4. invert the same gathers with the theory-guided RNN (the same bands,
#      bounds and water layer, Adam over mini-batches of 2 shots, about the
#      FWI's budget in wave propagations);
#   5. print the compare table (RMSE, relative error, SSIM, ...) of the
#      starting, FWI and RNN models against the true one, and draw them;
#   6. the data-driven DNN and the hybrid: a layered model of 70 x 70 cells
#      in the acquisition the shipped network (models/dnn_openfwi.nc) was
#      trained for, its velocity predicted from the shot gathers alone, then
#      20 FWI iterations from that prediction; compare table and picture.
# Outputs in models/ and data/ (or OUTPUT_DIR): demo_true.nc, demo_start.nc,
# demo_shots.nc, demo_fwi.nc, demo_fwi_history.nc, demo_rnn.nc,
# demo_rnn_history.nc, demo.png, demo_shots.png; demo_dnn_true.nc,
# demo_dnn_shots.nc, demo_dnn.nc, demo_dnn_fwi.nc, demo_dnn.png.
# About 4-5 minutes on 2 cores (FWI and RNN about 1.5 min each, step 6
# half a minute).
#   scripts/run_demo.sh [OUTPUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-}
models=${out:-models}
data=${out:-data}
mkdir -p "$models" "$data"

bash scripts/install_deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target psfwi_cli
psfwi=build/psfwi

echo "== 1. true and starting models =="
"$psfwi" model synth --family faulted --nx 150 --nz 60 --dx 20 --seed 42 \
  --vmin 1500 --vmax 4500 --water 100 -o "$models/demo_true.nc"
"$psfwi" model smooth "$models/demo_true.nc" --sigma 200 --slowness --keep-water \
  -o "$models/demo_start.nc"
"$psfwi" info "$models/demo_true.nc"

echo "== 2. forward modelling =="
"$psfwi" forward -c configs/demo_forward.ini --set model.vp="$models/demo_true.nc" \
  --set output.data="$data/demo_shots.nc"
/usr/bin/python3 scripts/plot_gather.py "$data/demo_shots.nc" --shot 3 -o "$models/demo_shots.png" ||
  echo "run_demo: gather picture skipped (python3-matplotlib missing?)"

echo "== 3. classical FWI =="
"$psfwi" fwi -c configs/demo_fwi.ini --set model.vp="$models/demo_start.nc" \
  --set model.true="$models/demo_true.nc" --set data.observed="$data/demo_shots.nc" \
  --set output.model="$models/demo_fwi.nc" --set output.history="$models/demo_fwi_history.nc"

echo "== 4. theory-guided RNN =="
"$psfwi" rnn -c configs/demo_rnn.ini --set model.vp="$models/demo_start.nc" \
  --set model.true="$models/demo_true.nc" --set data.observed="$data/demo_shots.nc" \
  --set output.model="$models/demo_rnn.nc" --set output.history="$models/demo_rnn_history.nc"

echo "== 5. comparison =="
"$psfwi" compare "$models/demo_true.nc" "$models/demo_start.nc" "$models/demo_fwi.nc" \
  "$models/demo_rnn.nc"
/usr/bin/python3 scripts/plot_model.py "$models/demo_start.nc" "$models/demo_fwi.nc" \
  "$models/demo_rnn.nc" --true "$models/demo_true.nc" --psfwi "$psfwi" -o "$models/demo.png"

echo "== 6. data-driven DNN, then FWI from its prediction =="
"$psfwi" model synth --family layered --nx 70 --nz 70 --dx 10 --seed 5 --vmin 1600 --vmax 4200 \
  -o "$models/demo_dnn_true.nc"
"$psfwi" forward -c configs/demo_dnn_forward.ini --set model.vp="$models/demo_dnn_true.nc" \
  --set output.data="$data/demo_dnn_shots.nc"
"$psfwi" dnn predict --net models/dnn_openfwi.nc --data "$data/demo_dnn_shots.nc" \
  --like "$models/demo_dnn_true.nc" -o "$models/demo_dnn.nc"
"$psfwi" fwi -c configs/demo_dnn_fwi.ini --set model.vp="$models/demo_dnn.nc" \
  --set model.true="$models/demo_dnn_true.nc" --set data.observed="$data/demo_dnn_shots.nc" \
  --set output.model="$models/demo_dnn_fwi.nc" --set output.history="$models/demo_dnn_fwi_history.nc"
"$psfwi" compare "$models/demo_dnn_true.nc" "$models/demo_dnn.nc" "$models/demo_dnn_fwi.nc"
/usr/bin/python3 scripts/plot_model.py "$models/demo_dnn.nc" "$models/demo_dnn_fwi.nc" \
  --true "$models/demo_dnn_true.nc" --psfwi "$psfwi" -o "$models/demo_dnn.png" ||
  echo "run_demo: DNN picture skipped (python3-matplotlib missing?)"
echo "run_demo: pictures in $models/demo.png, $models/demo_shots.png and $models/demo_dnn.png"
