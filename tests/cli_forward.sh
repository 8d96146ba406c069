#!/usr/bin/env bash
# psfwi forward as a user runs it: a small survey on a synthetic model to
# NetCDF, SEG-Y and snapshots; config errors with file:line; refused set-ups
# (NaN model, receiver outside, unstable, under-sampled) leave no output.
# Usage: cli_forward.sh PSFWI_BINARY SOURCE_DIR
set -u
psfwi=$1
src=$2
. "$src/tests/testlib.sh"

ok "model" "$psfwi" model synth --family layered --nx 80 --nz 50 --dx 10 --seed 2 -o "$tmp/m.nc"
cat > "$tmp/f.ini" <<'INI'
[model]
vp = m.nc
[wavelet]
frequency = 15
[time]
duration = 0.3
sample_interval = 0.002
[survey]
source_x = 100:300:3
source_z = 20
receiver_x = 0:20:40
receiver_z = 10
[propagator]
boundary_cells = 20
[output]
data = shots.nc
segy = shots.segy
snapshots = snaps.nc
snapshot_every = 25
INI
ok "forward -h" "$psfwi" forward -h
has "help lists keys" "boundary_cells" "$tmp/out"
ok "forward" "$psfwi" forward -c "$tmp/f.ini"
has "progress with ETA" "ETA" "$tmp/err"
ok "info shots" "$psfwi" info "$tmp/shots.nc"
has "shot dim" "shot  *3" "$tmp/out"
has "receiver dim" "receiver  *40" "$tmp/out"
has "time dim" "time  *151" "$tmp/out"
has "config stored" "frequency = 15" "$tmp/out"
has "history" "psfwi forward -c" "$tmp/out"
ok "info snapshots" "$psfwi" info "$tmp/snaps.nc"
has "snapshot frames" "time  *7 (unlimited)" "$tmp/out"
[ -s "$tmp/shots.segy" ] && pass=$((pass + 1)) || { failed=$((failed + 1)); echo "FAIL: no SEG-Y"; }
# 3 shots x 40 traces x (240 + 151 * 4) bytes + 3600
size=$(stat -c %s "$tmp/shots.segy")
[ "$size" -eq $((3600 + 120 * (240 + 151 * 4))) ] && pass=$((pass + 1)) || { failed=$((failed + 1)); echo "FAIL: SEG-Y size $size"; }
ok "--set override" "$psfwi" forward -c "$tmp/f.ini" --set output.data="$tmp/s2.nc" --set output.segy="$tmp/s2.segy" --set survey.moving=true --set survey.receiver_x=0:10:20
ok "free surface" "$psfwi" forward -c "$tmp/f.ini" --set propagator.free_surface=true --set output.data="$tmp/fs.nc"
ok "sponge absorber" "$psfwi" forward -c "$tmp/f.ini" --set propagator.absorber=sponge --set propagator.boundary_cells=30 --set output.data="$tmp/sp.nc"

rm -f "$tmp"/shots.nc "$tmp"/shots.segy "$tmp"/snaps.nc
bad "unknown key" "f2.ini:2: unknown key 'colour' in \[model\]" sh -c "printf '[model]\ncolour = red\n' > '$tmp/f2.ini'; '$psfwi' forward -c '$tmp/f2.ini'"
bad "bad value" "\[wavelet\] frequency = 'fast'" "$psfwi" forward -c "$tmp/f.ini" --set wavelet.frequency=fast
bad "bad absorber" "absorber" "$psfwi" forward -c "$tmp/f.ini" --set propagator.absorber=foam
bad "bad --set" "unknown key 'speed'" "$psfwi" forward -c "$tmp/f.ini" --set time.speed=3
bad "missing config" "missing -c" "$psfwi" forward
bad "receiver outside" "receiver 27 of shot 0 at (x = 810 m" "$psfwi" forward -c "$tmp/f.ini" --set survey.receiver_x=0:30:40
bad "unstable" "unstable\|stab\|limit" "$psfwi" forward -c "$tmp/f.ini" --set propagator.scheme=pseudospectral --set time.cfl=1.5
bad "under-sampled space" "points per" "$psfwi" forward -c "$tmp/f.ini" --set wavelet.frequency=60
bad "under-sampled time" "sample_interval\|Nyquist\|dt_out" "$psfwi" forward -c "$tmp/f.ini" --set time.sample_interval=0.03
/usr/bin/python3 - "$tmp" <<'PY' || true
import sys, netCDF4
d = sys.argv[1]
src = netCDF4.Dataset(f"{d}/m.nc")
dst = netCDF4.Dataset(f"{d}/nan.nc", "w")
for n, dim in src.dimensions.items(): dst.createDimension(n, len(dim))
for n, v in src.variables.items():
    o = dst.createVariable(n, v.dtype, v.dimensions); o.setncatts(v.__dict__); o[:] = v[:]
dst["vp"][10, 20] = float("nan")
dst.close()
PY
if [ -f "$tmp/nan.nc" ]; then
  bad "NaN model" "non\|NaN\|finite" "$psfwi" forward -c "$tmp/f.ini" --set model.vp="$tmp/nan.nc"
fi
# Hardening: outputs that name inputs, duplicate keys, huge surveys, memory.
msum=$(sha256sum < "$tmp/m.nc")
bad "output over the model" "\[output\] data = .* is the same file as \[model\] vp" \
  "$psfwi" forward -c "$tmp/f.ini" --set output.data="$tmp/./m.nc"
bad "output over the config" "an input of this run" "$psfwi" forward -c "$tmp/f.ini" \
  --set output.snapshots="$tmp/f.ini"
bad "two outputs, one file" "name the same file" "$psfwi" forward -c "$tmp/f.ini" \
  --set output.segy="$tmp/shots.nc"
[ "$(sha256sum < "$tmp/m.nc")" = "$msum" ] && pass=$((pass + 1)) || { failed=$((failed + 1)); echo "FAIL: model changed"; }
cp "$tmp/f.ini" "$tmp/dup.ini"
printf '[time]\nduration = 0.4\n' >> "$tmp/dup.ini"
bad "duplicate key" "dup.ini:21: \[time\] duration is given twice (lines 6 and 21)" \
  "$psfwi" forward -c "$tmp/dup.ini"
bad "cfl quoted as given" "cfl = 2 was asked for" "$psfwi" forward -c "$tmp/f.ini" --set time.cfl=2
bad "1e8 shots refused before allocating" "source 80 at (x = 800 m" /usr/bin/env \
  "$psfwi" forward -c "$tmp/f.ini" --set survey.source_x=0:10:100000000
bad "memory limit" "the shot gathers would need 6.9 MiB" env PSFWI_MEM_LIMIT_MB=4 \
  "$psfwi" forward -c "$tmp/f.ini" --set time.duration=30
none "no shots after errors" "$tmp/shots.nc"
none "no segy after errors" "$tmp/shots.segy"
none "no snapshots after errors" "$tmp/snaps.nc"
ls -A "$tmp" | grep -q '\.tmp$' && { failed=$((failed + 1)); echo "FAIL: temporary files left"; ls -A "$tmp"; } || pass=$((pass + 1))

# FFTW wisdom: written by the first run, read by the next, the same data
ok "wisdom written" "$psfwi" forward -c "$tmp/f.ini" --set propagator.fftw_measure=true \
  --set propagator.fftw_wisdom="$tmp/fftw.wisdom" --set output.data="$tmp/w1.nc"
check "wisdom file" grep -q "fftw" "$tmp/fftw.wisdom"
ok "wisdom reused" "$psfwi" forward -c "$tmp/f.ini" --set propagator.fftw_measure=true \
  --set propagator.fftw_wisdom="$tmp/fftw.wisdom" --set output.data="$tmp/w2.nc"
check "no temporary wisdom left" sh -c "! ls -A '$tmp' | grep -q 'wisdom\.[0-9]'"
bad "wisdom in a missing directory" "fftw_wisdom: cannot write" "$psfwi" forward -c "$tmp/f.ini" \
  --set propagator.fftw_wisdom="$tmp/no/dir/w" --set output.data="$tmp/w3.nc"

finish cli_forward
