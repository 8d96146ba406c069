#!/usr/bin/env bash
# psfwi rnn as a user runs it: the theory-guided RNN on observed data from
# psfwi forward, with fwi's keys and a [training] section; the model error
# falls; a run stopped and resumed ends byte for byte where the
# uninterrupted one ends; bad [training] input; and (when built with MPI)
# 2 ranks splitting each batch give the serial run's model bit for bit.
# Usage: cli_rnn.sh PSFWI_BINARY SOURCE_DIR
set -u
psfwi=$1
src=$2
. "$src/tests/testlib.sh"
export OMP_NUM_THREADS=2
# the vp bytes of a model file, for byte-for-byte comparisons
vpsum() { ncdump -v vp "$1" | sed -n '/^data:/,$p' | sha256sum | cut -c1-16; }

ok "true model" "$psfwi" model synth --family anomaly --nx 70 --nz 40 --dx 15 --seed 3 \
  --vmin 1800 --vmax 2600 -o "$tmp/true.nc"
ok "start model" "$psfwi" model smooth "$tmp/true.nc" --sigma 120 -o "$tmp/start.nc"
cat > "$tmp/fwd.ini" <<'INI'
[model]
vp = true.nc
[wavelet]
frequency = 12
[time]
duration = 0.7
sample_interval = 0.004
[survey]
source_x = 60:300:4
source_z = 20
receiver_x = 0:30:35
receiver_z = 15
[propagator]
free_surface = true
vmin = 1500
vmax = 3000
[output]
data = obs.nc
INI
ok "forward" "$psfwi" forward -c "$tmp/fwd.ini"

cat > "$tmp/rnn.ini" <<'INI'
[model]
vp = start.nc
true = true.nc
[data]
observed = obs.nc
[inversion]
bands = 8:4, 0:6
vmin = 1500
vmax = 3000
[training]
optimizer = adam
learning_rate = 10
batch_shots = 2
seed = 7
[output]
model = rnn.nc
history = hist.nc
INI
ok "rnn -h" "$psfwi" rnn -h
has "help lists [training] keys" "batch_shots" "$tmp/out"
has "help lists the fwi keys" "water_velocity" "$tmp/out"
ok "rnn" "$psfwi" rnn -c "$tmp/rnn.ini"
has "progress line per epoch with ETA" "rnn: epoch  10/10 .*ETA" "$tmp/err"
ok "compare" "$psfwi" compare "$tmp/true.nc" "$tmp/start.nc" "$tmp/rnn.nc" --format csv
e0=$(awk -F, 'NR==2 {print $4}' "$tmp/out"); e1=$(awk -F, 'NR==3 {print $4}' "$tmp/out")
echo "relative error: start $e0 %, rnn $e1 %"
check "the RNN lowers the model error" awk -v a="$e0" -v b="$e1" 'BEGIN { exit !(b < 0.95 * a) }'
ok "info history" "$psfwi" info "$tmp/hist.nc"
has "history rows: start + 10 epochs" "iteration  *11 (unlimited)" "$tmp/out"
has "learning rate per epoch" "learning_rate(iteration)" "$tmp/out"
has "errors per epoch" "ssim(iteration)" "$tmp/out"
has "history attribute" "psfwi rnn -c" "$tmp/out"

# killed after 3 epochs (inside the first band),
# resumed: the same model byte for byte; the wavelet trained as well
bad "stop-after" "resume from" "$psfwi" rnn -c "$tmp/rnn.ini" --stop-after 3 \
  --set output.model="$tmp/r.nc" --set output.history="$tmp/rh.nc" \
  --set training.wavelet_learning_rate=0.01
ok "resume" "$psfwi" rnn -c "$tmp/rnn.ini" --resume --set output.model="$tmp/r.nc" \
  --set output.history="$tmp/rh.nc" --set training.wavelet_learning_rate=0.01
has "resumed" "resuming from" "$tmp/err"
ok "uninterrupted" "$psfwi" rnn -c "$tmp/rnn.ini" --set output.model="$tmp/u.nc" \
  --set output.history="$tmp/uh.nc" --set training.wavelet_learning_rate=0.01
check "resumed = uninterrupted, byte for byte" test "$(vpsum "$tmp/r.nc")" = "$(vpsum "$tmp/u.nc")"
ok "info wavelet history" "$psfwi" info "$tmp/uh.nc"
has "wavelet per epoch" "wavelet(iteration, time)" "$tmp/out"

# bad input
bad "unknown optimiser" "\[training\] optimizer = 'lbfgs'" "$psfwi" rnn -c "$tmp/rnn.ini" \
  --set training.optimizer=lbfgs
bad "zero batch" "\[training\] batch_shots = '0'" "$psfwi" rnn -c "$tmp/rnn.ini" \
  --set training.batch_shots=0
bad "batch larger than the survey" "batch_shots = 9, but the survey has 4 shots" \
  "$psfwi" rnn -c "$tmp/rnn.ini" --set training.batch_shots=9
bad "huber without delta" "needs \[training\] huber_delta" "$psfwi" rnn -c "$tmp/rnn.ini" \
  --set training.loss=huber
bad "per-shot wavelets need a rate" "wavelet_per_shot = true needs" "$psfwi" rnn \
  -c "$tmp/rnn.ini" --set training.wavelet_per_shot=true
bad "nesterov without momentum" "nesterov = true needs" "$psfwi" rnn -c "$tmp/rnn.ini" \
  --set training.nesterov=true
bad "history over the observed data" "is the same file as \[data\] observed" \
  "$psfwi" rnn -c "$tmp/rnn.ini" --set output.history="$tmp/obs.nc"
ok "a learning rate past the bounds: projected, and said" "$psfwi" rnn -c "$tmp/rnn.ini" \
  --set training.optimizer=sgd --set training.learning_rate=1e6 --set inversion.bands=0:1 \
  --set output.model="$tmp/big.nc" --set output.history="$tmp/bigh.nc"
has "projection said" "projected onto the velocity bounds" "$tmp/err"
ls -A "$tmp" | grep -q '\.tmp$' && { failed=$((failed + 1)); echo "FAIL: temporary files left"; ls -A "$tmp"; } || pass=$((pass + 1))

# MPI: 2 ranks split every batch's shots and give the serial model bit for bit
if command -v mpirun >/dev/null && ldd "$psfwi" | grep -q libmpi; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
  export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=0" # see cli_fwi.sh
  ok "mpirun -np 2 rnn" mpirun -np 2 --oversubscribe "$psfwi" rnn -c "$tmp/rnn.ini" \
    --set output.model="$tmp/mpi.nc" --set output.history="$tmp/mpih.nc"
  check "2 ranks = 1 rank, bit for bit" test "$(vpsum "$tmp/mpi.nc")" = "$(vpsum "$tmp/rnn.nc")"
  # one wavelet per shot, trained: each shot's gradient from one rank
  per=(--set training.wavelet_learning_rate=0.01 --set training.wavelet_per_shot=true
       --set inversion.bands=0:3)
  ok "per-shot wavelets, 1 rank" "$psfwi" rnn -c "$tmp/rnn.ini" "${per[@]}" \
    --set output.model="$tmp/ps1.nc" --set output.history="$tmp/ps1h.nc"
  ok "per-shot wavelets, 2 ranks" mpirun -np 2 --oversubscribe "$psfwi" rnn -c "$tmp/rnn.ini" \
    "${per[@]}" --set output.model="$tmp/ps2.nc" --set output.history="$tmp/ps2h.nc"
  check "per-shot wavelets: 2 ranks = 1 rank" test "$(vpsum "$tmp/ps1.nc")" = "$(vpsum "$tmp/ps2.nc")"
  ok "info per-shot history" "$psfwi" info "$tmp/ps2h.nc"
  has "wavelets per epoch" "wavelets(iteration, shot_time)" "$tmp/out"
  # data weights (mute, offset window) over every shot: 2 ranks = 1 rank
  dw=(--set data.mute_velocity=1800 --set data.offset_max=400 --set inversion.bands=0:3)
  ok "data weights, 1 rank" "$psfwi" rnn -c "$tmp/rnn.ini" "${dw[@]}" \
    --set output.model="$tmp/dw1.nc" --set output.history="$tmp/dw1h.nc"
  ok "data weights, 2 ranks" mpirun -np 2 --oversubscribe "$psfwi" rnn -c "$tmp/rnn.ini" \
    "${dw[@]}" --set output.model="$tmp/dw2.nc" --set output.history="$tmp/dw2h.nc"
  check "data weights: 2 ranks = 1 rank" test "$(vpsum "$tmp/dw1.nc")" = "$(vpsum "$tmp/dw2.nc")"
  ok "no data weights, 1 rank" "$psfwi" rnn -c "$tmp/rnn.ini" --set inversion.bands=0:3 \
    --set output.model="$tmp/dw0.nc" --set output.history="$tmp/dw0h.nc"
  check "the weights change the result" test "$(vpsum "$tmp/dw0.nc")" != "$(vpsum "$tmp/dw1.nc")"
else
  echo "cli_rnn: MPI part skipped (no mpirun, or psfwi built without MPI)"
fi

finish cli_rnn
