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
#  4. with FWI=1, classical FWI (configs/marmousi_fwi.ini) started from the
#     ensemble's prediction -> models/marmousi_dnn_fwi.nc; with RNN=1 the
#     RNN (configs/marmousi_rnn.ini) likewise -> models/marmousi_dnn_rnn.nc.
# Every step resumes where it stopped (shards, training state, fwi state).
#   [PSFWI=binary] [SAMPLES=1024] [TEST=64] [SEEDS=3] [FWI=0] [RNN=0] scripts/train_dnn_marine.sh
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
[ -f models/marmousi_40m.nc ] || scripts/make_models.sh
stamp "Marmousi recorded with the marine acquisition"
[ -f data/marine/marmousi_shots.nc ] || "$psfwi" forward -c configs/dnn_marine_marmousi.ini
stamp "predictions"
"$psfwi" dnn predict --net models/dnn_marine.nc --data data/marine/marmousi_shots.nc \
  --like models/marmousi_40m_start.nc -o models/marmousi_dnn1.nc
"$psfwi" dnn predict --net "$nets" --data data/marine/marmousi_shots.nc \
  --like models/marmousi_40m_start.nc -o models/marmousi_dnn.nc
cmp=(models/marmousi_40m_start.nc models/marmousi_dnn1.nc models/marmousi_dnn.nc)
# FWI=1 / RNN=1: the hybrid, each method started from the ensemble's prediction
for method in fwi rnn; do
  flag=${method^^}
  [ "${!flag:-0}" = 1 ] || continue
  stamp "$method from the DNN prediction"
  "$psfwi" "$method" -c "configs/marmousi_$method.ini" --set model.vp=models/marmousi_dnn.nc \
    --set output.model="models/marmousi_dnn_$method.nc" \
    --set output.history="models/marmousi_dnn_${method}_history.nc"
  cmp+=("models/marmousi_dnn_$method.nc")
done
for m in models/marmousi_fwi.nc models/marmousi_rnn.nc; do [ -f "$m" ] && cmp+=("$m"); done
stamp "scores"
"$psfwi" compare models/marmousi_40m.nc "${cmp[@]}"
"$psfwi" dnn info models/dnn_marine.nc | tail -1
stamp "done"
