#!/usr/bin/env bash
# psfwi dnn as a user runs it: a tiny data set, training with a state per
# epoch (--stop-after then --resume gives the same network bit for bit as
# one run), info, test, predict with one network and with an ensemble
# (vp_std), and the errors: data of another acquisition, a network file
# that is not one, bad keys and options, outputs that overwrite inputs.
# Usage: cli_dnn.sh PSFWI_BINARY SOURCE_DIR
set -u
psfwi=$1
src=$2
. "$src/tests/testlib.sh"

{ tiny_grid; tiny_acquisition; cat <<'INI'
[propagator]
threads = 2
[dataset]
families = layered, faulted
samples = 24
shard_size = 12
seed = 3
vmin = 1500
vmax = 4500
[features]
mode = whole
parts = reim
frequencies = 5, 10, 15, 20
[output]
prefix = sets/train
INI
} > "$tmp/d.ini"
ok "generate the training set" "$psfwi" dataset generate -c "$tmp/d.ini"
ok "generate a test set" "$psfwi" dataset generate -c "$tmp/d.ini" --set dataset.seed=99 \
  --set dataset.samples=6 --set output.prefix="$tmp/sets/test"

cat > "$tmp/t.ini" <<'INI'
[data]
train = sets/train
[network]
base = 8
levels = 2
[training]
epochs = 4
batch = 8
learning_rate = 0.003
validation = 0.25
seed = 5
[output]
network = net.nc
INI
ok "dnn -h" "$psfwi" dnn -h
has "usage names predict" "dnn predict --net" "$tmp/out"
ok "dnn train -h" "$psfwi" dnn train -h
has "train help lists keys" "learning_rate" "$tmp/out"
ok "train" "$psfwi" dnn train -c "$tmp/t.ini"
has "progress per epoch with ETA" "epoch    4/4.*ETA" "$tmp/err"
has "summary" "24 samples (6 for validation)" "$tmp/out"
check "network written" test -s "$tmp/net.nc"
check "state written" test -s "$tmp/net.state.nc"
sum=$(sha256sum < "$tmp/net.nc" | cut -c1-64)

# killed after 2 epochs, resumed: the same weights (the file differs only in
# its time stamps, so compare the parameters)
params() { ncdump -v params,buffers "$1" | sed -n '/^data:/,$p'; }
"$psfwi" dnn train -c "$tmp/t.ini" --set output.network="$tmp/net2.nc" --stop-after 2 \
  >"$tmp/out" 2>"$tmp/err"
check "stopped: exit 3" test $? = 3
has "stop noted" "--resume continues" "$tmp/err"
none "no network after a stop" "$tmp/net2.nc"
ok "resume" "$psfwi" dnn train -c "$tmp/t.ini" --set output.network="$tmp/net2.nc" --resume
has "resumed after epoch 2" "after epoch 2" "$tmp/err"
if command -v ncdump >/dev/null; then
  params "$tmp/net.nc" > "$tmp/p1"
  params "$tmp/net2.nc" > "$tmp/p2"
  check "resumed training gives the same weights" cmp -s "$tmp/p1" "$tmp/p2"
fi
bad "resume with another config" "another configuration" \
  "$psfwi" dnn train -c "$tmp/t.ini" --set output.network="$tmp/net2.nc" --set training.epochs=5 --resume

# network penalties (L1, spectral, Jacobian): the history's penalty column
# is positive, and a stopped, resumed training repeats bit for bit
reg=(--set regularization.l1=1e-5 --set regularization.spectral=1e-3
     --set regularization.jacobian=1e-3)
ok "train with penalties" "$psfwi" dnn train -c "$tmp/t.ini" "${reg[@]}" \
  --set output.network="$tmp/netr.nc"
if command -v ncdump >/dev/null; then
  check "penalty in the history" awk '/penalty =/ {f = 1} f && /;/ {gsub(/[ ;]/, ""); split($0, a, ","); exit !(a[1] + 0 > 0)}' \
    <(ncdump -v penalty "$tmp/netr.nc" | sed -n '/^data:/,$p')
fi
"$psfwi" dnn train -c "$tmp/t.ini" "${reg[@]}" --set output.network="$tmp/netr2.nc" \
  --stop-after 2 >"$tmp/out" 2>"$tmp/err"
check "penalties: stopped" test $? = 3
ok "penalties: resume" "$psfwi" dnn train -c "$tmp/t.ini" "${reg[@]}" \
  --set output.network="$tmp/netr2.nc" --resume
if command -v ncdump >/dev/null; then
  params "$tmp/netr.nc" > "$tmp/p1"
  params "$tmp/netr2.nc" > "$tmp/p2"
  check "penalties: resumed training gives the same weights" cmp -s "$tmp/p1" "$tmp/p2"
  params "$tmp/net.nc" > "$tmp/p0"
  check "penalties change the weights" test "$(sha256sum < "$tmp/p0")" != "$(sha256sum < "$tmp/p1")"
fi
bad "negative penalty" "regularization.*jacobian" "$psfwi" dnn train -c "$tmp/t.ini" \
  --set regularization.jacobian=-1
ok "adversarial training" "$psfwi" dnn train -c "$tmp/t.ini" --set regularization.adversarial=1 \
  --set regularization.adversarial_eps=0.05 --set training.epochs=1 --set output.network="$tmp/neta.nc"
bad "the removed detached estimate" "jacobian_detached" "$psfwi" dnn train -c "$tmp/t.ini" \
  --set regularization.jacobian=1e-3 --set regularization.jacobian_detached=true
ok "operator-norm penalty" "$psfwi" dnn train -c "$tmp/t.ini" --set regularization.jacobian=1e-3 \
  --set regularization.jacobian_kind=operator --set training.epochs=1 \
  --set output.network="$tmp/neto.nc"
ok "Jacobian nuclear penalty (U-Net split at the bottleneck)" "$psfwi" dnn train -c "$tmp/t.ini" \
  --set regularization.jacobian_nuclear=1e-3 --set training.epochs=1 \
  --set output.network="$tmp/netn.nc"
ok "Jacobian penalties on a part of each batch" "$psfwi" dnn train -c "$tmp/t.ini" \
  --set regularization.jacobian=1e-3 --set regularization.jacobian_nuclear=1e-3 \
  --set regularization.jacobian_samples=2 --set training.epochs=1 --set output.network="$tmp/nets.nc"
bad "nuclear split beyond the network" "jacobian_nuclear_split = 99999" "$psfwi" dnn train -c "$tmp/t.ini" \
  --set regularization.jacobian_nuclear=1e-3 --set regularization.jacobian_nuclear_split=99999

ok "two prefixes" "$psfwi" dnn train -c "$tmp/t.ini" --set data.train="$tmp/sets/train,$tmp/sets/test" \
  --set output.network="$tmp/net_both.nc" --set training.epochs=1
has "both sets read" "30 samples" "$tmp/out"
printf '[data]\ntrain = sets/train, sets/test\n[training]\nepochs = 1\n[output]\nnetwork = nb.nc\n' \
  > "$tmp/t2.ini"
ok "two prefixes relative to the config" "$psfwi" dnn train -c "$tmp/t2.ini"
has "both sets read (file)" "30 samples" "$tmp/out"
ok "info" "$psfwi" dnn info "$tmp/net.nc"
has "info: parameters" "parameters" "$tmp/out"
has "info: layers" "convt1d" "$tmp/out"
has "info: acquisition" "mode = whole" "$tmp/out"
has "info: history" "training: 4 epochs" "$tmp/out"
ok "psfwi info on a network" "$psfwi" info "$tmp/net.nc"
has "history attribute" "psfwi dnn train -c" "$tmp/out"
has "geometric complexity per epoch" "geometric_complexity(epoch)" "$tmp/out"

ok "test" "$psfwi" dnn test --net "$tmp/net.nc" --data "$tmp/sets/test"
has "test: 6 samples" "6 samples" "$tmp/out"
has "test: SSIM" "SSIM" "$tmp/out"
# the shipped networks load, with the acquisition they were trained for
ok "shipped marine network" "$psfwi" dnn info "$src/models/dnn_marine.nc"
has "marine network: profile mode" "mode = profile" "$tmp/out"
has "marine network: its 12 offset bins" "noffset = 12" "$tmp/out"
ok "shipped OpenFWI network" "$psfwi" dnn info "$src/models/dnn_openfwi.nc"
has "OpenFWI network: whole mode" "mode = whole" "$tmp/out"
# noisy inputs: the CSV row, reproducible from the seed, worse than clean at 0 dB
ok "test csv" "$psfwi" dnn test --net "$tmp/net.nc" --data "$tmp/sets/test" --format csv
clean_mae=$(awk -F, 'NR == 2 {print $5}' "$tmp/out")
cp "$tmp/out" "$tmp/noise0"
ok "test noise" "$psfwi" dnn test --net "$tmp/net.nc" --data "$tmp/sets/test" --noise 0 --seed 3 \
  --format csv
has "test noise: csv header" "network,data,samples,noise_db,mae" "$tmp/out"
cp "$tmp/out" "$tmp/noise1"
ok "test noise again" "$psfwi" dnn test --net "$tmp/net.nc" --data "$tmp/sets/test" --noise 0 \
  --seed 3 --format csv
check "test noise: the same seed gives the same scores" cmp -s "$tmp/out" "$tmp/noise1"
noisy_mae=$(awk -F, 'NR == 2 {print $5}' "$tmp/noise1")
check "test noise: 0 dB is worse than clean ($noisy_mae > $clean_mae)" \
  awk -v a="$noisy_mae" -v b="$clean_mae" 'BEGIN {exit !(a > b)}'
# an ensemble is scored by the mean of its members' predictions: one network
# twice scores as that network; the mean of two different ones is no farther
# from the truth than their average error (|(a + b)/2 - v| <= (|a - v| +
# |b - v|)/2 cell by cell) and differs from each member's
ok "test an ensemble of one network twice" "$psfwi" dnn test --net "$tmp/net.nc,$tmp/net.nc" \
  --data "$tmp/sets/test" --format csv
check "ensemble of one network: the network's scores" \
  cmp -s <(cut -d, -f2- "$tmp/out") <(cut -d, -f2- "$tmp/noise0")
ok "test the penalised network" "$psfwi" dnn test --net "$tmp/netr.nc" --data "$tmp/sets/test" \
  --format csv
r_mae=$(awk -F, 'NR == 2 {print $5}' "$tmp/out")
ok "test an ensemble of two networks" "$psfwi" dnn test --net "$tmp/net.nc,$tmp/netr.nc" \
  --data "$tmp/sets/test" --format csv
has "ensemble: both files in the CSV" "net.nc;$tmp/netr.nc," "$tmp/out"
e_mae=$(awk -F, 'NR == 2 {print $5}' "$tmp/out")
check "ensemble MAE $e_mae <= mean of $clean_mae and $r_mae, and unlike either" \
  awk -v e="$e_mae" -v a="$clean_mae" -v b="$r_mae" \
  'BEGIN {exit !(e <= (a + b) / 2 + 1e-6 && e != a && e != b)}'
ok "test an ensemble as a table" "$psfwi" dnn test --net "$tmp/net.nc,$tmp/netr.nc" \
  --data "$tmp/sets/test"
has "ensemble: the table says so" "the mean of 2 networks" "$tmp/out"
bad "test an ensemble with a missing member" "nothere.nc" \
  "$psfwi" dnn test --net "$tmp/net.nc,$tmp/nothere.nc" --data "$tmp/sets/test"
bad "test --noise x" "expected a signal-to-noise ratio in dB" \
  "$psfwi" dnn test --net "$tmp/net.nc" --data "$tmp/sets/test" --noise x
bad "test --seed alone" "the seed of --noise" \
  "$psfwi" dnn test --net "$tmp/net.nc" --data "$tmp/sets/test" --seed 2
bad "test --format" "expected table or csv" \
  "$psfwi" dnn test --net "$tmp/net.nc" --data "$tmp/sets/test" --format json

# predict from a gather modelled with the same acquisition
"$psfwi" model synth --family layered --nx 24 --nz 16 --dx 10 --seed 4 -o "$tmp/true.nc" \
  >/dev/null 2>&1
{ printf '[model]\nvp = true.nc\n'; tiny_acquisition; cat <<'INI'
[propagator]
vmin = 1500
vmax = 4500
[output]
data = shots.nc
INI
} > "$tmp/f.ini"
ok "forward" "$psfwi" forward -c "$tmp/f.ini"
ok "predict" "$psfwi" dnn predict --net "$tmp/net.nc" --data "$tmp/shots.nc" --like "$tmp/true.nc" \
  -o "$tmp/pred.nc"
has "one network" "1 network" "$tmp/out"
ok "compare" "$psfwi" compare "$tmp/true.nc" "$tmp/pred.nc"
ok "predict with an ensemble" "$psfwi" dnn predict --net "$tmp/net.nc,$tmp/net2.nc" \
  --data "$tmp/shots.nc" --like "$tmp/true.nc" -o "$tmp/ens.nc"
has "ensemble: vp_std" "vp_std" "$tmp/out"
ok "info on the ensemble" "$psfwi" info "$tmp/ens.nc"
has "vp_std variable" "vp_std" "$tmp/out"
# the ensemble's mean is the mean of the members' predictions (the features
# are computed once for members of one acquisition)
if command -v ncdump >/dev/null; then
  vals() { ncdump -v "$2" "$1" | sed -n "/^ $2 =/,/;/p" | tr -d ' ;' | sed "s/^$2=//" | tr ',' '\n' | grep .; }
  ok "predict with the regularized network" "$psfwi" dnn predict --net "$tmp/netr.nc" \
    --data "$tmp/shots.nc" --like "$tmp/true.nc" -o "$tmp/predr.nc"
  ok "ensemble of two different networks" "$psfwi" dnn predict --net "$tmp/net.nc,$tmp/netr.nc" \
    --data "$tmp/shots.nc" --like "$tmp/true.nc" -o "$tmp/ens2.nc"
  paste <(vals "$tmp/pred.nc" vp) <(vals "$tmp/predr.nc" vp) <(vals "$tmp/ens2.nc" vp) \
    > "$tmp/means"
  check "ensemble mean = mean of the members' predictions" \
    awk '{d = ($1 + $2) / 2 - $3; if (d < 0) d = -d; if (d > m) m = d} END {exit !(NR > 100 && m < 1e-2)}' "$tmp/means"
  check "identical members: vp_std 0" \
    awk '{if ($1 + 0 != 0) bad = 1} END {exit bad}' <(vals "$tmp/ens.nc" vp_std)
fi

# errors
sed -e 's/source_x = 0:115:3/source_x = 0:100:3/' "$tmp/f.ini" > "$tmp/f2.ini"
ok "forward, other sources" "$psfwi" forward -c "$tmp/f2.ini" --set output.data="$tmp/shots2.nc"
bad "data of another acquisition" "trained for another acquisition\|differs from the network" \
  "$psfwi" dnn predict --net "$tmp/net.nc" --data "$tmp/shots2.nc" --like "$tmp/true.nc" \
  -o "$tmp/x.nc"
none "no output after a refusal" "$tmp/x.nc"
bad "not a network file" "not a psfwi network file" \
  "$psfwi" dnn predict --net "$tmp/shots.nc" --data "$tmp/shots.nc" --like "$tmp/true.nc" \
  -o "$tmp/x.nc"
bad "output overwrites an input" "same file" \
  "$psfwi" dnn predict --net "$tmp/net.nc" --data "$tmp/shots.nc" --like "$tmp/true.nc" \
  -o "$tmp/true.nc"
bad "missing option" "are all required" "$psfwi" dnn predict --net "$tmp/net.nc"
bad "unknown subcommand" "unknown subcommand 'fit'" "$psfwi" dnn fit
bad "unknown key" "learning_rat" "$psfwi" dnn train -c "$tmp/t.ini" --set training.learning_rat=1
bad "even kernel" "kernel = 4" "$psfwi" dnn train -c "$tmp/t.ini" --set network.kernel=4
bad "no shards" "no shard matches" "$psfwi" dnn train -c "$tmp/t.ini" --set data.train="$tmp/nothing"
printf '[input]\nchannels = 24\n[layer]\nkind = conv1d\nout = 7\nk = 3\npad = 1\n' > "$tmp/net.ini"
bad "custom network with the wrong output" "the targets need" "$psfwi" dnn train -c "$tmp/t.ini" \
  --set network.architecture=file --set network.file="$tmp/net.ini" --set output.network="$tmp/n3.nc"

# profile mode: trained on lines 32 cells wide, predicts a model 48 wide
cat > "$tmp/p.ini" <<'INI'
[grid]
nx = 32
nz = 16
dx = 10
[wavelet]
frequency = 15
[time]
duration = 0.3
sample_interval = 0.002
[survey]
source_x = 0:20:13
source_z = 10
receiver_x = 20:10:6
receiver_z = 10
moving = true
[dataset]
families = layered
samples = 12
shard_size = 12
seed = 5
[features]
mode = profile
frequencies = 5, 10, 15
offset_min = 20
offset_step = 10
offset_count = 6
[output]
prefix = sets/prof
INI
ok "profile data" "$psfwi" dataset generate -c "$tmp/p.ini"
ok "profile training" "$psfwi" dnn train -c "$tmp/t.ini" --set data.train="$tmp/sets/prof" \
  --set output.network="$tmp/prof.nc" --set training.epochs=10
"$psfwi" model synth --family faulted --nx 48 --nz 16 --dx 10 --seed 2 -o "$tmp/wide.nc" \
  >/dev/null 2>&1
sed -e 's/source_x = 0:115:3/source_x = 0:20:21/' -e 's/receiver_x = 0:10:24/receiver_x = 20:10:6\nmoving = true/' \
  -e 's/true.nc/wide.nc/' "$tmp/f.ini" > "$tmp/fw.ini"
ok "forward on the wider model" "$psfwi" forward -c "$tmp/fw.ini" --set output.data="$tmp/wide_shots.nc"
ok "profile network on a wider model" "$psfwi" dnn predict --net "$tmp/prof.nc" \
  --data "$tmp/wide_shots.nc" --like "$tmp/wide.nc" -o "$tmp/wide_pred.nc"
ok "its size" "$psfwi" info "$tmp/wide_pred.nc"
has "48 columns" "x  *48" "$tmp/out"
bad "whole network on another grid width" "differs\|receivers\|positions" "$psfwi" dnn predict \
  --net "$tmp/net.nc" --data "$tmp/wide_shots.nc" --like "$tmp/wide.nc" -o "$tmp/x.nc"

# a test set of given models (OpenFWI's FlatVel-A, when ../shared is there)
fv="$src/../shared/data/openfwi/ddnet_FlatVelA_test_vmodel.zip"
if [ -f "$fv" ]; then
  ok "given models" "$psfwi" dataset generate -c "$src/configs/openfwi_forward.ini" \
    --set dataset.models="$fv" --set dataset.models_key=vmodel11 --set dataset.samples=2 \
    --set output.prefix="$tmp/fv/t"
  ok "given models: info" "$psfwi" info "$tmp/fv/t_00000.nc"
  has "given models: family -1" "family.*-1" "$tmp/out"
  bad "given models: grid mismatch" "\[grid\] says" "$psfwi" dataset generate \
    -c "$src/configs/openfwi_forward.ini" --set dataset.models="$fv" \
    --set dataset.models_key=vmodel11 --set dataset.samples=1 --set grid.nx=60 \
    --set survey.receiver_x=0:10:60 --set output.prefix="$tmp/fv/u"
  bad "given models: too few" "model 500 of 501" "$psfwi" dataset generate \
    -c "$src/configs/openfwi_forward.ini" --set dataset.models="$fv" \
    --set dataset.models_key=vmodel11 --set dataset.samples=501 --set output.prefix="$tmp/fv/v"
else
  echo "cli_dnn: skipping the given-models checks: $fv is absent"
fi
finish cli_dnn
