#!/usr/bin/env bash
# The Marmousi check of the profile-mode DNN (issue 12; docs/RESULTS.md):
#  1. a training set of psfwi's own layered, folded and faulted model lines
#     (128 x 76 cells at 40 m) recorded with a towed streamer
#     (configs/dnn_marine.ini): SAMPLES models, seed 1;
#  2. the profile network trained on it (configs/dnn_marine_train.ini) ->
#     models/dnn_marine.nc, and SEEDS-1 more with other seeds
#     (models/dnn_marine_s<seed>.nc) for the ensemble's mean and spread;
#     each scored on TEST held-out model lines of the same families (seed 2,
#     data/marine/test_*.nc) with OpenFWI's metrics (psfwi dnn test);
#  3. Marmousi at 40 m (never seen in training) recorded with the same
#     acquisition (configs/dnn_marine_marmousi.ini), its velocity predicted
#     from the gathers alone -> models/marmousi_dnn.nc (mean, vp_std) and
#     models/marmousi_dnn1.nc (the shipped network alone); both scored
#     against the true model beside the smoothed start;
#  4. a start that needs neither network nor true model, v(z) = 1500 + z
#     (models/marmousi_40m_linear.nc); with FWI=1, classical FWI
#     (configs/marmousi_fwi.ini) started from the ensemble's prediction ->
#     models/marmousi_dnn_fwi.nc; with RNN=1 the RNN (configs/marmousi_rnn.ini)
#     likewise -> models/marmousi_dnn_rnn.nc; with LINEAR=1 FWI from the
#     linear start -> models/marmousi_40m_linear_fwi.nc.
# Shards already written are skipped; a killed training or inversion
# continues with its own --resume (docs/learn.md, docs/fwi.md).
#   [PSFWI=binary] [SAMPLES=1024] [TEST=64] [SEEDS=3] [FWI=0] [RNN=0] [LINEAR=0] [PYTHON=python3]
#   scripts/train_dnn_marine.sh
set -euo pipefail
cd "$(dirname "$0")/.."
psfwi=${PSFWI:-build/psfwi}
samples=${SAMPLES:-1024}
seeds=${SEEDS:-3}
ntest=${TEST:-64}
[ -x "$psfwi" ] || { cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
  cmake --build build -j"$(nproc)" --target psfwi_cli; }
t0=$(date +%s)
stamp() { echo "[$(($(date +%s) - t0)) s] $*"; }

stamp "training set: $samples samples"
"$psfwi" dataset generate -c configs/dnn_marine.ini --set dataset.samples="$samples"
stamp "held-out test set: $ntest samples (seed 2)"
"$psfwi" dataset generate -c configs/dnn_marine.ini --set dataset.samples="$ntest" \
  --set dataset.seed=2 --set output.prefix=data/marine/test
nets=models/dnn_marine.nc
stamp "training (seed 1)"
"$psfwi" dnn train -c configs/dnn_marine_train.ini
for s in $(seq 2 "$seeds"); do
  stamp "training (seed $s)"
  "$psfwi" dnn train -c configs/dnn_marine_train.ini --set training.seed="$s" \
    --set output.network="models/dnn_marine_s$s.nc"
  nets="$nets,models/dnn_marine_s$s.nc"
done
for n in ${nets//,/ }; do
  "$psfwi" dnn test --net "$n" --data data/marine/test
done
[ -f models/marmousi_40m.nc ] || scripts/make_models.sh "$psfwi"
stamp "Marmousi recorded with the marine acquisition"
[ -f data/marine/marmousi_shots.nc ] || "$psfwi" forward -c configs/dnn_marine_marmousi.ini
stamp "predictions"
"$psfwi" dnn predict --net models/dnn_marine.nc --data data/marine/marmousi_shots.nc \
  --like models/marmousi_40m_start.nc -o models/marmousi_dnn1.nc
"$psfwi" dnn predict --net "$nets" --data data/marine/marmousi_shots.nc \
  --like models/marmousi_40m_start.nc -o models/marmousi_dnn.nc
cmp=(models/marmousi_40m_start.nc models/marmousi_dnn1.nc models/marmousi_dnn.nc)
# A start that needs no network and no true model: the textbook gradient
# v(z) = 1500 m/s + 1 /s * z on Marmousi's grid.
"${PYTHON:-python3}" -c "import numpy as np; z = np.arange(76) * 40.0; \
np.save('data/marine/marmousi_40m_linear.npy', np.repeat((1500.0 + z)[:, None], 231, axis=1).astype(np.float32))"
"$psfwi" model import data/marine/marmousi_40m_linear.npy --dx 40 -o models/marmousi_40m_linear.nc
cmp+=(models/marmousi_40m_linear.nc)
# FWI=1 / RNN=1: the hybrid, each method started from the ensemble's
# prediction; FWI also from the linear start (LINEAR=1)
for run in dnn:fwi dnn:rnn 40m_linear:fwi; do
  start=${run%%:*} method=${run##*:}
  flag=${method^^}
  [ "$start" = 40m_linear ] && flag=LINEAR
  [ "${!flag:-0}" = 1 ] || continue
  stamp "$method from models/marmousi_$start.nc"
  "$psfwi" "$method" -c "configs/marmousi_$method.ini" --set model.vp="models/marmousi_$start.nc" \
    --set output.model="models/marmousi_${start}_$method.nc" \
    --set output.history="models/marmousi_${start}_${method}_history.nc"
  cmp+=("models/marmousi_${start}_$method.nc")
done
for m in models/marmousi_fwi.nc models/marmousi_rnn.nc; do [ -f "$m" ] && cmp+=("$m"); done
stamp "scores"
"$psfwi" compare models/marmousi_40m.nc "${cmp[@]}"
"$psfwi" dnn info models/dnn_marine.nc | tail -1
stamp "done"
