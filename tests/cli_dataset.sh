#!/usr/bin/env bash
# psfwi dataset generate as a user runs it: a tiny data set in 2 shards;
# a re-run skips complete shards (files untouched); a deleted shard, and a
# run killed part-way, are made again with the same values; the thread
# count does not change them; profile mode; config errors, bad families,
# out-of-range values and a changed configuration or acquisition give clear
# errors and a non-zero exit.
# Usage: cli_dataset.sh PSFWI_BINARY SOURCE_DIR
set -u
psfwi=$1
src=$2
. "$src/tests/testlib.sh"

{ tiny_grid; tiny_acquisition; cat <<'INI'
[propagator]
threads = 2
[dataset]
families = layered, faulted
samples = 5
shard_size = 3
seed = 7
vmin = 1500
vmax = 4500
water_min = 0
water_max = 40
[features]
mode = whole
parts = reim
frequencies = 5, 10, 15, 20
[output]
prefix = sets/tiny
INI
} > "$tmp/d.ini"
# the values of a shard (its data section), without the attributes
values() { ncdump -v features,vp,family,model_seed "$1" | sed -n '/^data:/,$p'; }
have_ncdump=0
command -v ncdump >/dev/null && have_ncdump=1

ok "dataset -h" "$psfwi" dataset -h
has "help lists keys" "offset_count" "$tmp/out"
bad "no subcommand" "usage: psfwi dataset generate" "$psfwi" dataset
bad "unknown subcommand" "unknown subcommand 'make'" "$psfwi" dataset make
ok "generate" "$psfwi" dataset generate -c "$tmp/d.ini"
has "progress with ETA" "ETA" "$tmp/err"
has "speed reported" "models/s" "$tmp/err"
has "both shards written" "tiny_00001.nc" "$tmp/out"
check "shard 0" test -s "$tmp/sets/tiny_00000.nc"
check "shard 1" test -s "$tmp/sets/tiny_00001.nc"
none "no shard 2" "$tmp/sets/tiny_00002.nc"
ok "info" "$psfwi" dataset info "$tmp/sets/tiny_00001.nc"
has "2 samples in the last shard" "sample  *2" "$tmp/out"
has "24 channels (3 shots x 4 frequencies x 2)" "channel  *24" "$tmp/out"
has "history" "psfwi dataset generate -c" "$tmp/out"
has "acquisition stored" "psfwi_acquisition" "$tmp/out"
has "config stored" "families = layered, faulted" "$tmp/out"
sum0=$(sha256sum < "$tmp/sets/tiny_00000.nc")
sum1=$(sha256sum < "$tmp/sets/tiny_00001.nc")

# re-run: nothing is made, both files untouched
ok "re-run" "$psfwi" dataset generate -c "$tmp/d.ini"
has "re-run skips" "2 of 2 shard(s) already complete" "$tmp/err"
if grep -q wrote "$tmp/out"; then failed=$((failed + 1)); echo "FAIL: re-run wrote a shard"; else pass=$((pass + 1)); fi
check "shard 0 untouched" test "$(sha256sum < "$tmp/sets/tiny_00000.nc")" = "$sum0"
check "shard 1 untouched" test "$(sha256sum < "$tmp/sets/tiny_00001.nc")" = "$sum1"

# a deleted shard is made again, alone, with the same values
[ $have_ncdump = 1 ] && values "$tmp/sets/tiny_00001.nc" > "$tmp/v1"
rm "$tmp/sets/tiny_00001.nc"
ok "resume after a deleted shard" "$psfwi" dataset generate -c "$tmp/d.ini"
has "only shard 1 written" "wrote .*tiny_00001.nc" "$tmp/out"
if grep -q tiny_00000 "$tmp/out"; then failed=$((failed + 1)); echo "FAIL: shard 0 rewritten"; else pass=$((pass + 1)); fi
check "shard 0 still untouched" test "$(sha256sum < "$tmp/sets/tiny_00000.nc")" = "$sum0"
if [ $have_ncdump = 1 ]; then
  check "remade shard has the same values" cmp -s "$tmp/v1" <(values "$tmp/sets/tiny_00001.nc")
  # one thread or two: the same values (threads is not part of the check)
  ok "one thread, another prefix" "$psfwi" dataset generate -c "$tmp/d.ini" \
    --set propagator.threads=1 --set output.prefix="$tmp/one/tiny"
  check "values independent of threads" cmp -s <(values "$tmp/sets/tiny_00000.nc") \
    <(values "$tmp/one/tiny_00000.nc")
fi

# killed part-way (SIGKILL after the first shard), then resumed: the same
# values as a run that was never interrupted
cat > "$tmp/k.ini" <<INI
$(cat "$tmp/d.ini")
INI
sed -i 's/^samples = 5/samples = 40/; s/^shard_size = 3/shard_size = 4/; s/^duration = 0.3/duration = 0.6/' "$tmp/k.ini"
"$psfwi" dataset generate -c "$tmp/k.ini" --set output.prefix="$tmp/ref/k" >/dev/null 2>&1
"$psfwi" dataset generate -c "$tmp/k.ini" --set output.prefix="$tmp/kill/k" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 400); do [ -e "$tmp/kill/k_00000.nc" ] && break; sleep 0.02; done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
nkill=$(ls "$tmp/kill" | grep -c '^k_.*\.nc$')
if [ "$nkill" -ge 1 ] && [ "$nkill" -lt 10 ]; then pass=$((pass + 1)); else
  failed=$((failed + 1)); echo "FAIL: killed run left $nkill complete shards (expected 1..9)"; fi
ok "resume after a kill" "$psfwi" dataset generate -c "$tmp/k.ini" --set output.prefix="$tmp/kill/k"
has "resume skips the finished shards" "of 10 shard(s) already complete" "$tmp/err"
check "10 shards after the resume" test "$(ls "$tmp/kill" | grep -c '^k_.*\.nc$')" -eq 10
if ls -A "$tmp/kill" | grep -q '\.tmp$'; then failed=$((failed + 1)); echo "FAIL: the killed run's temporary is left"; ls -A "$tmp/kill"; else pass=$((pass + 1)); fi
if [ $have_ncdump = 1 ]; then
  same=0
  for k in 0 1 2 3 4 5 6 7 8 9; do
    cmp -s <(values "$tmp/ref/k_0000$k.nc") <(values "$tmp/kill/k_0000$k.nc") && same=$((same + 1))
  done
  check "resumed shards equal the uninterrupted ones ($same of 10)" test "$same" -eq 10
fi

# profile mode: a moving spread, midpoint bins, ampphase
ok "profile mode" "$psfwi" dataset generate -c "$tmp/d.ini" --set features.mode=profile \
  --set features.parts=ampphase --set features.offset_min=20 --set features.offset_step=20 \
  --set features.offset_count=4 --set survey.moving=true --set survey.source_x=0:20:8 \
  --set survey.receiver_x=20:20:4 --set output.prefix="$tmp/prof/p"
if [ $have_ncdump = 1 ]; then
  # 8 shots on 2 threads run the shots in parallel, 1 thread one by one
  ok "profile mode, one thread" "$psfwi" dataset generate -c "$tmp/d.ini" --set features.mode=profile \
    --set features.parts=ampphase --set features.offset_min=20 --set features.offset_step=20 \
    --set features.offset_count=4 --set survey.moving=true --set survey.source_x=0:20:8 \
    --set survey.receiver_x=20:20:4 --set output.prefix="$tmp/prof1/p" --set propagator.threads=1
  check "profile values independent of threads" cmp -s <(values "$tmp/prof/p_00001.nc") \
    <(values "$tmp/prof1/p_00001.nc")
fi
ok "profile info" "$psfwi" info "$tmp/prof/p_00000.nc"
has "profile positions = model columns" "position  *24" "$tmp/out"
has "profile channels = 4 offsets x 4 frequencies x 2" "channel  *32" "$tmp/out"
has "profile acquisition" "mode = profile" "$tmp/out"

# errors: clear messages, non-zero exit, nothing written
rm -rf "$tmp/sets"
bad "unknown key" "d2.ini:2: unknown key 'colour' in \[dataset\]" \
  sh -c "printf '[dataset]\ncolour = red\n' > '$tmp/d2.ini'; '$psfwi' dataset generate -c '$tmp/d2.ini'"
bad "model key refused" "unknown section\|unknown key" "$psfwi" dataset generate -c "$tmp/d.ini" \
  --set model.vp=m.nc
bad "bad family" "unknown model family 'granite'" "$psfwi" dataset generate -c "$tmp/d.ini" \
  --set dataset.families=layered,granite
bad "out of range" "\[dataset\] vmin = '0'.*out of range" "$psfwi" dataset generate -c "$tmp/d.ini" \
  --set dataset.vmin=0
bad "vmin above vmax" "vmin = 5000 m/s must be below vmax" "$psfwi" dataset generate -c "$tmp/d.ini" \
  --set dataset.vmin=5000
bad "water range" "water_min = 50 m must not exceed water_max = 40 m" "$psfwi" dataset generate \
  -c "$tmp/d.ini" --set dataset.water_min=50
bad "water deeper than the model" "depth extent 150 m" "$psfwi" dataset generate -c "$tmp/d.ini" \
  --set dataset.water_max=200
bad "above Nyquist" "above the Nyquist frequency 250 Hz" "$psfwi" dataset generate -c "$tmp/d.ini" \
  --set features.frequencies=5,300
bad "not a frequency" "'fast' is not a frequency" "$psfwi" dataset generate -c "$tmp/d.ini" \
  --set features.frequencies=5,fast
bad "propagator bounds" "\[propagator\] vmin and vmax are not used" "$psfwi" dataset generate \
  -c "$tmp/d.ini" --set propagator.vmax=5000
bad "profile needs offsets" "offset_min" "$psfwi" dataset generate -c "$tmp/d.ini" \
  --set features.mode=profile
bad "whole needs one receiver per column" "one receiver per model column" "$psfwi" dataset \
  generate -c "$tmp/d.ini" --set survey.receiver_x=0:20:12
bad "receiver outside" "receiver 12 of shot 0 at (x = 240 m" "$psfwi" dataset generate \
  -c "$tmp/d.ini" --set survey.receiver_x=0:20:24
bad "missing samples" "missing required key .samples. in \[dataset\]" sh -c "grep -v '^samples' '$tmp/d.ini' > '$tmp/d3.ini'; '$psfwi' dataset generate -c '$tmp/d3.ini'"
none "nothing written after errors" "$tmp/sets"

# a changed configuration or acquisition does not mix with existing shards
ok "fresh set" "$psfwi" dataset generate -c "$tmp/d.ini"
sum0=$(sha256sum < "$tmp/sets/tiny_00000.nc")
bad "changed seed refused" "tiny_00000.nc' was made with another configuration: \[dataset\] seed = 8 here, 7 there" \
  "$psfwi" dataset generate -c "$tmp/d.ini" --set dataset.seed=8
bad "changed frequencies refused" "tiny_00000.nc' has frequency 4 = 20 Hz where this run has 25 Hz" \
  "$psfwi" dataset generate -c "$tmp/d.ini" --set features.frequencies=5,10,15,25
bad "changed wavelet refused" "Ricker peak frequency" \
  "$psfwi" dataset generate -c "$tmp/d.ini" --set wavelet.frequency=12
check "refused runs left the shard alone" test "$(sha256sum < "$tmp/sets/tiny_00000.nc")" = "$sum0"
# more samples: the complete shards are kept, the short last one is made again
ok "more samples" "$psfwi" dataset generate -c "$tmp/d.ini" --set dataset.samples=7
has "short last shard made again" "holds 2 samples where this run puts 3; made again" "$tmp/err"
check "shard 0 kept" test "$(sha256sum < "$tmp/sets/tiny_00000.nc")" = "$sum0"
check "shard 2 made" test -s "$tmp/sets/tiny_00002.nc"
# a damaged shard is reported and made again
head -c 3000 "$tmp/sets/tiny_00000.nc" > "$tmp/cut.nc" && mv "$tmp/cut.nc" "$tmp/sets/tiny_00000.nc"
ok "damaged shard made again" "$psfwi" dataset generate -c "$tmp/d.ini" --set dataset.samples=7
has "damage reported with the file" "tiny_00000.nc.*made again" "$tmp/err"
# a NetCDF file that is not a shard is never overwritten
"$psfwi" model synth --family layered --nx 10 --nz 10 --dx 10 -o "$tmp/sets/tiny_00001.nc" >/dev/null 2>&1
msum=$(sha256sum < "$tmp/sets/tiny_00001.nc")
bad "another file under a shard's name" "tiny_00001.nc' exists and is not a psfwi training-data shard" \
  "$psfwi" dataset generate -c "$tmp/d.ini" --set dataset.samples=7
check "that file untouched" test "$(sha256sum < "$tmp/sets/tiny_00001.nc")" = "$msum"
if ls -A "$tmp" "$tmp/sets" | grep -q '\.tmp$'; then failed=$((failed + 1)); echo "FAIL: temporary files left"; else pass=$((pass + 1)); fi

finish cli_dataset
