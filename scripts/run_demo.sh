#!/usr/bin/env bash
# psfwi's main job on its built-in default, on a fresh Debian 12 machine:
# install the dependencies, build, then
#   1. make a synthetic faulted model (the "true" model) and a smoothed
#      starting model, as CF NetCDF in models/;
#   2. print their summaries and the compare table;
#   3. draw them side by side (models/demo.png).
# Later issues grow this into the end-to-end inversion demo.
#   scripts/run_demo.sh [OUTPUT_DIR]   (default: models/)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-models}
mkdir -p "$out"

bash scripts/install_deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target psfwi_cli
psfwi=build/psfwi

echo "== 1. synthetic model and starting model =="
"$psfwi" model synth --family faulted --nx 300 --nz 120 --dx 10 --seed 42 \
  --vmin 1500 --vmax 4500 --water 100 -o "$out/demo_true.nc"
"$psfwi" model smooth "$out/demo_true.nc" --sigma 150 --slowness --keep-water -o "$out/demo_start.nc"
echo "== 2. summary and comparison =="
"$psfwi" info "$out/demo_true.nc"
"$psfwi" compare "$out/demo_true.nc" "$out/demo_start.nc"
echo "== 3. picture =="
/usr/bin/python3 scripts/plot_model.py "$out/demo_start.nc" --true "$out/demo_true.nc" \
  --psfwi "$psfwi" -o "$out/demo.png"
