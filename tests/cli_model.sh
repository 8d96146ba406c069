#!/usr/bin/env bash
# The psfwi command line, run as a user would: help texts, model synth /
# import / export / smooth / resample / crop, info, compare, the plot script,
# and the error exits (clear message, non-zero status, no output file).
# Usage: cli_model.sh PSFWI_BINARY SOURCE_DIR
set -u
psfwi=$1
src=$2
. "$src/tests/testlib.sh"

ok "help" "$psfwi" help
has "help lists model" "model" "$tmp/out"
ok "version" "$psfwi" --version
for c in model info compare; do ok "$c -h" "$psfwi" "$c" -h; has "$c -h usage" "usage" "$tmp/out"; done
ok "help model" "$psfwi" help model
bad "unknown command" "not a psfwi command" "$psfwi" frobnicate

# Synthetic families.
for f in layered folded faulted salt anomaly blocky; do
  ok "synth $f" "$psfwi" model synth --family $f --nx 120 --nz 60 --dx 10 --seed 7 -o "$tmp/$f.nc"
done
ok "synth dz vmin vmax" "$psfwi" model synth --family layered --nx 50 --nz 40 --dx 10 --dz 5 \
  --vmin 1600 --vmax 3000 -o "$tmp/l2.nc"
ok "info" "$psfwi" info "$tmp/l2.nc"
has "info dims" "z  *40" "$tmp/out"
has "info spacing" "step 5" "$tmp/out"
has "info units" "\[m/s\]" "$tmp/out"
has "info history" "psfwi model synth --family layered" "$tmp/out"
has "info CF" "CF-1.8" "$tmp/out"
bad "synth bad family" "family" "$psfwi" model synth --family lava --nx 10 --nz 10 --dx 5 -o "$tmp/x.nc"
bad "synth missing nx" "missing required option --nx" "$psfwi" model synth --family salt --nz 10 --dx 5 -o "$tmp/x.nc"
bad "synth bad dx" "option --dx" "$psfwi" model synth --family salt --nx 10 --nz 10 --dx -5 -o "$tmp/x.nc"
bad "synth no -o" "missing -o" "$psfwi" model synth --family salt --nx 10 --nz 10 --dx 5
bad "synth unknown option" "unknown option '--colour'" "$psfwi" model synth --colour red -o "$tmp/x.nc"
bad "synth vmin >= vmax" "vm" "$psfwi" model synth --family layered --nx 10 --nz 10 --dx 5 --vmin 3000 --vmax 2000 -o "$tmp/x.nc"
[ ! -e "$tmp/x.nc" ] && pass=$((pass + 1)) || { failed=$((failed + 1)); echo "FAIL: output left after errors"; }

# Operations.
ok "smooth" "$psfwi" model smooth "$tmp/faulted.nc" --sigma 50 -o "$tmp/smooth.nc"
ok "smooth slowness" "$psfwi" model smooth "$tmp/faulted.nc" --sigma 50 --slowness -o "$tmp/smooth_s.nc"
ok "resample" "$psfwi" model resample "$tmp/faulted.nc" --dx 20 -o "$tmp/res.nc"
ok "info resampled" "$psfwi" info "$tmp/res.nc"
has "resampled spacing" "step 20" "$tmp/out"
ok "crop" "$psfwi" model crop "$tmp/faulted.nc" --x0 100 --x1 500 --z0 0 --z1 300 -o "$tmp/crop.nc"
ok "info crop" "$psfwi" info "$tmp/crop.nc"
has "crop x size" "x  *41" "$tmp/out"
bad "crop outside" "crop" "$psfwi" model crop "$tmp/faulted.nc" --x0 5000 --x1 6000 --z0 0 --z1 100 -o "$tmp/y.nc"
bad "smooth missing sigma" "missing required option --sigma" "$psfwi" model smooth "$tmp/faulted.nc" -o "$tmp/y.nc"
bad "smooth missing input" "cannot open" "$psfwi" model smooth "$tmp/nope.nc" --sigma 5 -o "$tmp/y.nc"

# SEG-Y export / import round trip is exact.
ok "export" "$psfwi" model export "$tmp/faulted.nc" -o "$tmp/f.segy"
ok "import segy" "$psfwi" model import "$tmp/f.segy" -o "$tmp/f_back.nc"
ok "compare round trip" "$psfwi" compare "$tmp/faulted.nc" "$tmp/f_back.nc" --format csv
has "round trip exact" ",0,0,0,1,inf" "$tmp/out"

# compare formats and errors.
ok "compare table" "$psfwi" compare "$tmp/faulted.nc" "$tmp/smooth.nc" "$tmp/smooth_s.nc"
has "table header" "RMSE m/s" "$tmp/out"
ok "compare json" "$psfwi" compare "$tmp/faulted.nc" "$tmp/smooth.nc" --format json
has "json ssim" '"ssim"' "$tmp/out"
bad "compare size mismatch" "differ in size" "$psfwi" compare "$tmp/faulted.nc" "$tmp/res.nc"
bad "compare bad format" "expected table, csv or json" "$psfwi" compare "$tmp/faulted.nc" "$tmp/res.nc" --format xml
bad "compare one file" "at least one model" "$psfwi" compare "$tmp/faulted.nc"

# Raw binary import errors name the expected size.
head -c 1000 /dev/zero > "$tmp/small.bin"
bad "raw wrong size" "1000" "$psfwi" model import "$tmp/small.bin" --format bin --nx 10 --nz 10 --dx 4 -o "$tmp/y.nc"
bad "raw missing nx" "missing required option --nx" "$psfwi" model import "$tmp/small.bin" --format bin -o "$tmp/y.nc"
bad "bad format" "expected segy, bin, npy or npz" "$psfwi" model import "$tmp/small.bin" --format tiff -o "$tmp/y.nc"

# Marmousi from ../shared/data, when present.
marm="$src/../shared/data/marmousi"
if [ -d "$marm" ]; then
  ok "marmousi segy" "$psfwi" model import "$marm/marmousi_vp.segy" -o "$tmp/marm.nc"
  has "marmousi dims" "vp(z, x) 751 x 2301 (nz x nx), dx = 4 m, dz = 4 m" "$tmp/out"
  has "marmousi range" "vp 1500..5500 m/s" "$tmp/out"
  ok "marmousi bin" "$psfwi" model import "$marm/marmousi_vp_2301x751_4m_f32le.bin" --format bin \
    --nx 2301 --nz 751 --dx 4 --order xz -o "$tmp/marm_bin.nc"
  ok "marmousi same" "$psfwi" compare "$tmp/marm.nc" "$tmp/marm_bin.nc" --format csv
  has "marmousi identical" ",0,0,0,1,inf" "$tmp/out"
  ok "marmousi resample" "$psfwi" model resample "$tmp/marm.nc" --dx 20 -o "$tmp/marm20.nc"
else
  echo "SKIP: $marm is absent; Marmousi CLI checks skipped"
fi

# Hardening: stray arguments, per-subcommand help, an output that is the
# input, a file of several models without --index.
bad "synth stray argument" "unexpected argument 'extra'" "$psfwi" model synth --family layered \
  --nx 20 --nz 20 --dx 10 -o "$tmp/s.nc" extra
none "no output after a refusal" "$tmp/s.nc"
ok "crop -h" "$psfwi" model crop -h
has "crop help is crop's" "keep x in \[x0, x1\]" "$tmp/out"
if grep -q "synth" "$tmp/out"; then failed=$((failed + 1)); echo "FAIL: crop -h shows synth"; else pass=$((pass + 1)); fi
ok "model for self-overwrite" "$psfwi" model synth --family layered --nx 20 --nz 20 --dx 10 -o "$tmp/self.nc"
before=$(sha256sum < "$tmp/self.nc")
ln -s "$tmp/self.nc" "$tmp/alias.nc"
bad "output is the input (through a link)" "an input of this run" "$psfwi" model smooth "$tmp/self.nc" \
  --sigma 20 -o "$tmp/alias.nc"
[ "$(sha256sum < "$tmp/self.nc")" = "$before" ] && pass=$((pass + 1)) || { failed=$((failed + 1)); echo "FAIL: input changed"; }
bad "several models need --index" "holds 5 models; choose one with --index" "$psfwi" model import \
  "$src/tests/data/numpy_savez.npz" --key a --dx 10 -o "$tmp/idx.nc"
ok "--index picks one" "$psfwi" model import "$src/tests/data/numpy_savez.npz" --key a --dx 10 \
  --index 4 -o "$tmp/idx.nc"
has "model 4 of 5" "vp 1548..1559 m/s" "$tmp/out"

# A full disk (a 64 KiB tmpfs, as root): export and synth fail with the real
# cause, exit 1 and leave nothing behind.
full="$tmp/full"
mkdir -p "$full"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=64k tmpfs "$full" 2>/dev/null; then
  ok "a model for the full disk" "$psfwi" model synth --family layered --nx 200 --nz 100 --dx 10 \
    -o "$tmp/big.nc"
  bad "export to a full disk" "cannot write '$full/m.segy': No space left on device" \
    "$psfwi" model export "$tmp/big.nc" -o "$full/m.segy"
  bad "synth to a full disk" "No space left on device" "$psfwi" model synth --family layered \
    --nx 2000 --nz 1000 --dx 10 -o "$full/m.nc"
  [ -z "$(ls -A "$full")" ] && pass=$((pass + 1)) || { failed=$((failed + 1)); echo "FAIL: left on the full disk:"; ls -A "$full"; }
  umount "$full"
else
  echo "SKIP: full-disk checks need root and a tmpfs mount"
fi

# The plot script draws models side by side with metrics in the titles.
if /usr/bin/python3 -c "import matplotlib, xarray" 2>/dev/null; then
  ok "plot" /usr/bin/python3 "$src/scripts/plot_model.py" "$tmp/smooth.nc" --true "$tmp/faulted.nc" \
    --psfwi "$psfwi" -o "$tmp/plot.png"
  [ -s "$tmp/plot.png" ] && pass=$((pass + 1)) || { failed=$((failed + 1)); echo "FAIL: no plot"; }
  bad "plot missing file" "cannot open" /usr/bin/python3 "$src/scripts/plot_model.py" "$tmp/nope.nc" -o "$tmp/p2.png"
  ok "plot errors" /usr/bin/python3 "$src/scripts/plot_model.py" "$tmp/smooth.nc" --true "$tmp/faulted.nc" \
    --error --psfwi "$psfwi" -o "$tmp/plot_err.png"
  [ -s "$tmp/plot_err.png" ] && pass=$((pass + 1)) || { failed=$((failed + 1)); echo "FAIL: no error plot"; }
  bad "plot errors without a true model" "--error needs --true" /usr/bin/python3 \
    "$src/scripts/plot_model.py" "$tmp/smooth.nc" --error -o "$tmp/p3.png"
  bad "plot errors, bad range" "expected a positive range" /usr/bin/python3 \
    "$src/scripts/plot_model.py" "$tmp/smooth.nc" --true "$tmp/faulted.nc" --error --elim -5 -o "$tmp/p4.png"
else
  echo "SKIP: python3-matplotlib/python3-xarray absent; plot check skipped"
fi

finish cli_model
