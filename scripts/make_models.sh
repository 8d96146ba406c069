#!/usr/bin/env bash
# Make the models that configs/ refer to, in models/ (generated, not committed):
#   models/synthetic_faulted.nc   3 km x 1.2 km faulted model, 10 m, seed 42
#   models/marmousi_20m.nc        Marmousi resampled to 20 m (needs a copy of
#                                 marmousi_vp.segy: MARMOUSI=path, or
#                                 ../shared/data/marmousi/ beside the checkout)
#   models/marmousi_40m.nc        Marmousi resampled to 40 m (configs/marmousi_fwi.ini)
#   models/marmousi_40m_start.nc  its FWI starting model: smoothed in slowness
#                                 (sigma 400 m), the water layer kept
# Usage: scripts/make_models.sh [PSFWI_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
psfwi=${1:-build/psfwi}
mkdir -p models
"$psfwi" model synth --family faulted --nx 300 --nz 120 --dx 10 --seed 42 \
  --vmin 1500 --vmax 4500 --water 100 -o models/synthetic_faulted.nc
marm=${MARMOUSI:-../shared/data/marmousi/marmousi_vp.segy}
if [ -f "$marm" ]; then
  "$psfwi" model import "$marm" -o models/marmousi_4m.nc
  "$psfwi" model resample models/marmousi_4m.nc --dx 20 -o models/marmousi_20m.nc
  "$psfwi" model resample models/marmousi_4m.nc --dx 40 -o models/marmousi_40m.nc
  "$psfwi" model smooth models/marmousi_40m.nc --sigma 400 --slowness --keep-water \
    -o models/marmousi_40m_start.nc
  rm -f models/marmousi_4m.nc
else
  echo "make_models: no Marmousi at '$marm' (set MARMOUSI=path/to/marmousi_vp.segy); skipped" >&2
fi
