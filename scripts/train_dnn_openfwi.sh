#!/usr/bin/env bash
# The OpenFWI check of the data-driven DNN (issue 12; docs/RESULTS.md):
#  1. a training set of psfwi's own layered, faulted and blocky models, modelled with
#     OpenFWI's acquisition (configs/openfwi_forward.ini): SAMPLES models
#     spanning 1500..4500 m/s each (seed 1) and SPAN_SAMPLES models whose own
#     velocity range is a random 30..100 % of it (seed 2, [dataset] span);
#  2. the whole-model network trained on it (configs/dnn_openfwi.ini) ->
#     models/dnn_openfwi.nc;
#  3. OpenFWI's FlatVel-A test models (../shared/data/openfwi, never seen in
#     training) modelled with the same acquisition and scored: MAE and RMSE
#     of velocities scaled to [-1, 1] over [1500, 4500] m/s, SSIM of [0, 1]
#     maps, beside InversionNet's published FlatVel-A figures.
# SEEDS=N (default 1) also trains N-1 networks with other seeds
# (models/dnn_openfwi_s<seed>.nc) and scores their ensemble (the mean of
# the members' predictions) beside the first network.
# Every step resumes where it stopped (shards, training state).
#   [PSFWI=binary] [SAMPLES=4096] [SPAN_SAMPLES=8192] [TEST=500] [SEEDS=1] scripts/train_dnn_openfwi.sh
set -euo pipefail
cd "$(dirname "$0")/.."
psfwi=${PSFWI:-build/psfwi}
samples=${SAMPLES:-4096}
span_samples=${SPAN_SAMPLES:-8192}
ntest=${TEST:-500}
seeds=${SEEDS:-1}
[ -x "$psfwi" ] || { cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
  cmake --build build -j"$(nproc)" --target psfwi_cli; }
fv=../shared/data/openfwi/ddnet_FlatVelA_test_vmodel.zip
t0=$(date +%s)
stamp() { echo "[$(($(date +%s) - t0)) s] $*"; }

stamp "training set: $samples + $span_samples samples"
"$psfwi" dataset generate -c configs/openfwi_forward.ini --set dataset.samples="$samples"
"$psfwi" dataset generate -c configs/openfwi_forward.ini --set dataset.samples="$span_samples" \
  --set dataset.seed=2 --set dataset.span=0.3:1 --set output.prefix=data/openfwi/train_span
stamp "training"
"$psfwi" dnn train -c configs/dnn_openfwi.ini "$@"
nets=models/dnn_openfwi.nc
for s in $(seq 2 "$seeds"); do
  stamp "training (seed $s)"
  "$psfwi" dnn train -c configs/dnn_openfwi.ini --set training.seed="$s" \
    --set output.network="models/dnn_openfwi_s$s.nc" "$@"
  nets="$nets,models/dnn_openfwi_s$s.nc"
done
if [ -f "$fv" ]; then
  stamp "FlatVel-A test set: $ntest models (vmodel11.npy)"
  "$psfwi" dataset generate -c configs/openfwi_forward.ini --set dataset.models="$fv" \
    --set dataset.models_key=vmodel11 --set dataset.samples="$ntest" \
    --set output.prefix=data/openfwi/flatvela_test
  stamp "scores"
  "$psfwi" dnn test --net models/dnn_openfwi.nc --data data/openfwi/flatvela_test \
    --range 1500:4500
  if [ "$seeds" -gt 1 ]; then
    stamp "scores of the ensemble of $seeds networks"
    "$psfwi" dnn test --net "$nets" --data data/openfwi/flatvela_test --range 1500:4500
  fi
  echo "InversionNet on FlatVel-A (Deng et al. 2022): MAE 0.0131, RMSE 0.0211, SSIM 0.9895"
else
  echo "FlatVel-A models absent ($fv): no score"
fi
"$psfwi" dnn info models/dnn_openfwi.nc | tail -1
stamp "done"
