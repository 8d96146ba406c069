#!/usr/bin/env bash
# psfwi gradient and psfwi fwi as a user runs them: observed data from
# psfwi forward (survey, time, wavelet and free surface taken from the file),
# a gradient file, a short multiscale inversion that lowers the model error,
# a run stopped and resumed to the same final model byte for byte, config
# errors, and (when built with MPI) 2 ranks agreeing with the serial run.
# Usage: cli_fwi.sh PSFWI_BINARY SOURCE_DIR
set -u
psfwi=$1
src=$2
. "$src/tests/testlib.sh"
export OMP_NUM_THREADS=2

# a fast anomaly in a layered background; the start is the model smoothed
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
boundary_cells = 20
free_surface = true
vmin = 1500
vmax = 3000
[output]
data = obs.nc
segy = obs.segy
INI
ok "forward" "$psfwi" forward -c "$tmp/fwd.ini"

cat > "$tmp/fwi.ini" <<'INI'
[model]
vp = start.nc
true = true.nc
[data]
observed = obs.nc
[inversion]
bands = 8:4, 0:6
vmin = 1500
vmax = 3000
step = 60
[output]
model = fwi.nc
history = hist.nc
[gradient_unused]
INI
sed -i '/gradient_unused/d' "$tmp/fwi.ini"
ok "fwi -h" "$psfwi" fwi -h
has "help lists bands" "bands" "$tmp/out"
has "help lists tv" "tv_eps" "$tmp/out"

# gradient: objective scalar, gradient(z, x) per m/s, illumination
cp "$tmp/fwi.ini" "$tmp/grad.ini"
sed -i 's/^model = fwi.nc/gradient = grad.nc/; /^history/d' "$tmp/grad.ini"
ok "gradient" "$psfwi" gradient -c "$tmp/grad.ini"
has "objective printed" "objective = " "$tmp/out"
j_nc=$(sed -n 's/^objective = //p' "$tmp/out")
ok "info gradient" "$psfwi" info "$tmp/grad.nc"
has "gradient var" "gradient(z, x)" "$tmp/out"
has "gradient units" "1/(m/s)" "$tmp/out"
has "objective var" "objective" "$tmp/out"
has "free surface from the data file" "free_surface = true" "$tmp/out"
# the same data as SEG-Y: geometry and sampling from the trace headers; the
# wavelet and the propagator keys (free surface, layer width) are not in
# SEG-Y, so they come from keys
ok "gradient from SEG-Y" "$psfwi" gradient -c "$tmp/grad.ini" --set data.observed="$tmp/obs.segy" \
  --set wavelet.frequency=12 --set propagator.free_surface=true --set propagator.boundary_cells=20 \
  --set output.gradient="$tmp/gs.nc"
j_sgy=$(sed -n 's/^objective = //p' "$tmp/out")
echo "objective from NetCDF $j_nc, from SEG-Y $j_sgy"
check "SEG-Y and NetCDF data give the same objective" \
  awk -v a="$j_nc" -v b="$j_sgy" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a > 0 && d <= 1e-6 * a) }'
ok "gradient from SEG-Y, default wavelet" "$psfwi" gradient -c "$tmp/grad.ini" \
  --set data.observed="$tmp/obs.segy" --set output.gradient="$tmp/gs.nc"
has "says the SEG-Y file has no wavelet" "stores no wavelet; using the \[wavelet\] keys (ricker 10 Hz)" "$tmp/err"
# at the true model the misfit is 0 (same propagator) and so is the gradient
ok "gradient at truth" "$psfwi" gradient -c "$tmp/grad.ini" --set model.vp="$tmp/true.nc" \
  --set output.gradient="$tmp/grad0.nc"
has "zero misfit at the true model" "objective = 0.000000000e+00" "$tmp/out"

# the inversion
ok "fwi" "$psfwi" fwi -c "$tmp/fwi.ini"
has "iteration lines" "iter   1/10" "$tmp/err"
has "ETA" "ETA" "$tmp/err"
has "band lines" "band 2/2" "$tmp/err"
ok "info history" "$psfwi" info "$tmp/hist.nc"
has "history frames" "iteration  *11 (unlimited)" "$tmp/out"
has "history ssim" "ssim(iteration)" "$tmp/out"
has "history attribute" "psfwi fwi -c" "$tmp/out"
ok "compare" "$psfwi" compare "$tmp/true.nc" "$tmp/start.nc" "$tmp/fwi.nc" --format csv
e0=$(awk -F, 'NR==2 {print $4}' "$tmp/out")
e1=$(awk -F, 'NR==3 {print $4}' "$tmp/out")
echo "relative error: start $e0 %, fwi $e1 %"
check "fwi lowers the model error (surface data, 10 iterations)" awk -v a="$e0" -v b="$e1" 'BEGIN { exit !(b < 0.85 * a) }'

# stopped after 4 iterations (exit status 3), then resumed: same bytes
bad "stop-after" "resume from" "$psfwi" fwi -c "$tmp/fwi.ini" --stop-after 4 \
  --set output.model="$tmp/r.nc" --set output.history="$tmp/rh.nc"
check "no final model after the stop" test ! -e "$tmp/r.nc"
check "state file left" test -s "$tmp/r.state.nc"
ok "resume" "$psfwi" fwi -c "$tmp/fwi.ini" --resume --set output.model="$tmp/r.nc" \
  --set output.history="$tmp/rh.nc"
has "says it resumes" "resuming from" "$tmp/err"
if grep -q "configuration differs" "$tmp/err"; then failed=$((failed + 1)); echo "FAIL: config note on an unchanged resume"; else pass=$((pass + 1)); fi
check "resumed model equals the uninterrupted one" \
  cmp <(ncdump -v vp "$tmp/fwi.nc" | sed -n '/^data:/,$p') <(ncdump -v vp "$tmp/r.nc" | sed -n '/^data:/,$p')
check "resumed history equals the uninterrupted one" \
  cmp <(ncdump -v objective,rmse "$tmp/hist.nc" | sed -n '/^data:/,$p') \
      <(ncdump -v objective,rmse "$tmp/rh.nc" | sed -n '/^data:/,$p')

# resuming with a changed configuration says so
bad "stop-after again" "resume from" "$psfwi" fwi -c "$tmp/fwi.ini" --stop-after 2 \
  --set output.model="$tmp/c.nc" --set output.history="$tmp/ch.nc"
ok "resume with a change" "$psfwi" fwi -c "$tmp/fwi.ini" --resume --set inversion.step=30 \
  --set output.model="$tmp/c.nc" --set output.history="$tmp/ch.nc"
has "config change noted" "the configuration differs" "$tmp/err"

# regularization: the proximal solver with TV and L1 (auto_scale), and the
# smoothed norms under L-BFGS; both lower the model error too
ok "fwi proximal" "$psfwi" fwi -c "$tmp/fwi.ini" --set regularization.solver=proximal \
  --set regularization.tv=0.01 --set regularization.tv_kind=anisotropic \
  --set regularization.l1=0.01 --set regularization.auto_scale=true \
  --set output.model="$tmp/prox.nc" --set output.history="$tmp/proxh.nc"
has "auto_scale factors reported" "auto_scale: weights x" "$tmp/err"
has "illumination unused, said" "illumination is not used" "$tmp/err"
ok "compare proximal" "$psfwi" compare "$tmp/true.nc" "$tmp/prox.nc" --format csv
ep=$(awk -F, 'NR==2 {print $4}' "$tmp/out")
echo "relative error: proximal (TV + L1) $ep %"
check "proximal fwi lowers the model error" awk -v a="$e0" -v b="$ep" 'BEGIN { exit !(b < 0.9 * a) }'
# quality control: the chosen shots' gathers at each band's start and end,
# as the misfit sees them, and the final (estimated) wavelet as text
ok "fwi with QC gathers" "$psfwi" fwi -c "$tmp/fwi.ini" --set inversion.bands=8:2,0:2 \
  --set inversion.wavelet_estimate=band --set output.qc="$tmp/qc" --set output.qc_shots=1,3 \
  --set output.wavelet="$tmp/wend.txt" --set output.model="$tmp/qcm.nc" \
  --set output.history="$tmp/qch.nc"
for f in band1_observed band1_start band1_end band2_observed band2_start band2_end; do
  check "QC file $f" test -s "$tmp/qc_$f.nc"
done
ok "QC gathers: the chosen shots" "$psfwi" data info "$tmp/qc_band2_end.nc"
has "two shots" "shots: 2; traces per shot 35..35" "$tmp/out"
has "shots 1 and 3" "sources: x 360.00..960.00 m" "$tmp/out"
check "final wavelet: one sample per line" test "$(grep -vc '^#' "$tmp/wend.txt")" = 176
ok "fwi with a wavelet per shot" "$psfwi" fwi -c "$tmp/fwi.ini" --set inversion.bands=0:2 \
  --set inversion.wavelet_estimate=shot --set output.model="$tmp/ps.nc" \
  --set output.history="$tmp/psh.nc"
has "per-shot note" "wavelets re-estimated per shot" "$tmp/err"
bad "QC shots out of range" "qc_shots = '1,9'" "$psfwi" fwi -c "$tmp/fwi.ini" \
  --set output.qc="$tmp/qcx" --set output.qc_shots=1,9 --set output.model="$tmp/qcx.nc"
if /usr/bin/python3 -c "import matplotlib, xarray" 2>/dev/null; then
  ok "QC picture" /usr/bin/python3 "$src/scripts/plot_gather.py" "$tmp/qc_band2_observed.nc" \
    --compare "$tmp/qc_band2_end.nc" --shot 1 -o "$tmp/qc.png"
fi
ok "fwi smooth norms" "$psfwi" fwi -c "$tmp/fwi.ini" --set inversion.bands=0:3 \
  --set regularization.nuclear=1e-4 --set regularization.ksupport=1e-8 \
  --set regularization.group=1e-3 --set regularization.l1=1e-4 \
  --set output.model="$tmp/norms.nc" --set output.history="$tmp/normsh.nc"
check "the norms are in the history's regularization" awk '/regularization =/ {f = 1} f && /;/ {gsub(/[ ;]/, ""); n = split($0, a, ","); exit !(a[n] + 0 > 0)}' <(ncdump -v regularization "$tmp/normsh.nc" | sed -n '/^data:/,$p')
bad "prior as a weight" "prior is the prior model's file .* \[regularization\] l2" \
  "$psfwi" fwi -c "$tmp/fwi.ini" --set regularization.prior=0.5
bad "ksupport_k too large" "ksupport_k = 99; expected at most" \
  "$psfwi" fwi -c "$tmp/fwi.ini" --set regularization.ksupport=1 --set regularization.ksupport_k=99
bad "proximal with smoothing" "solver = proximal works on the model itself" \
  "$psfwi" fwi -c "$tmp/fwi.ini" --set regularization.solver=proximal --set inversion.smooth=30
# auto_scale at each band's start: one note of factors per band, and it
# needs auto_scale
ok "fwi auto_scale each band" "$psfwi" fwi -c "$tmp/fwi.ini" --set inversion.bands=8:1,0:1 \
  --set regularization.tv=0.01 --set regularization.auto_scale=true \
  --set regularization.auto_scale_bands=each \
  --set output.model="$tmp/each.nc" --set output.history="$tmp/eachh.nc"
check "factors at both bands" test "$(grep -c 'auto_scale: weights x' "$tmp/err")" = 2
bad "auto_scale_bands without auto_scale" "auto_scale_bands = each .* needs auto_scale = true" \
  "$psfwi" fwi -c "$tmp/fwi.ini" --set regularization.tv=0.01 \
  --set regularization.auto_scale_bands=each

# errors
cp "$tmp/fwi.ini" "$tmp/bad.ini"
printf '[inversion]\nspeed = 3\n' >> "$tmp/bad.ini"
bad "unknown key" "bad.ini:[0-9]*: unknown key 'speed' in \[inversion\]" "$psfwi" fwi -c "$tmp/bad.ini"
grep -v '^observed\|^true' "$tmp/fwi.ini" > "$tmp/nodata.ini"
bad "no data" "give \[data\] observed" "$psfwi" fwi -c "$tmp/nodata.ini"
bad "bands order" "corners must increase" "$psfwi" fwi -c "$tmp/fwi.ini" --set inversion.bands=8,4
bad "full band last" "must be the last band" "$psfwi" fwi -c "$tmp/fwi.ini" --set inversion.bands=0,4
bad "spectral needs frequencies" "needs \[inversion\] frequencies" "$psfwi" fwi -c "$tmp/fwi.ini" --set inversion.misfit=spectral
bad "bounds" "vmin = 3000 m/s is not below" "$psfwi" fwi -c "$tmp/fwi.ini" --set inversion.vmin=3000
bad "time mismatch" "sample_interval = 0.002 s, but the observed file" "$psfwi" fwi -c "$tmp/fwi.ini" --set time.sample_interval=0.002
bad "resume without state" "cannot open the state file" "$psfwi" fwi -c "$tmp/fwi.ini" --resume --set output.state="$tmp/none.nc"
check "no output from failed runs" test ! -e "$tmp/none.nc"
# The history over the observed data (the data loss the hardening issue
# found), the state over the model, a derived state over an input.
osum=$(sha256sum < "$tmp/obs.nc")
bad "history over observed data" "\[output\] history = .* is the same file as \[data\] observed" \
  "$psfwi" fwi -c "$tmp/fwi.ini" --set output.history="$tmp/obs.nc"
bad "state over the start model" "\[output\] state = .* an input of this run" \
  "$psfwi" fwi -c "$tmp/fwi.ini" --set output.state="$tmp/start.nc"
bad "gradient over the true model" "\[output\] gradient" "$psfwi" gradient -c "$tmp/grad.ini" \
  --set output.gradient="$tmp/true.nc"
check "observed data intact" test "$(sha256sum < "$tmp/obs.nc")" = "$osum"
ls -A "$tmp" | grep -q '\.tmp$' && { failed=$((failed + 1)); echo "FAIL: temporary files left"; ls -A "$tmp"; } || pass=$((pass + 1))

# the envelope misfit
ok "envelope misfit" "$psfwi" fwi -c "$tmp/fwi.ini" --set inversion.misfit=envelope \
  --set inversion.bands=0:2 --set output.model="$tmp/fwie.nc" --set output.history="$tmp/histe.nc"
check "envelope misfit: the objective falls" sh -c "ncdump -v misfit '$tmp/histe.nc' | sed -n '/^data:/,\$p' | awk -F'[ ,;=]+' '/misfit =/ {f = 1} f { for (i = 1; i <= NF; i++) if (\$i ~ /^[0-9][0-9.e+-]*\$/) v[n++] = \$i } END { exit !(n >= 2 && v[n - 1] < v[0]) }'"

# 3-D to 2-D conversion of observed field data: noted, needs its velocity,
# refused on synthesised data
ok "convert 3-D data" "$psfwi" fwi -c "$tmp/fwi.ini" --set data.convert_3d=full \
  --set data.convert_velocity=1800 --set data.convert_t0=0.1 --set inversion.bands=0:1 \
  --set output.model="$tmp/fwic.nc" --set output.history="$tmp/histc.nc"
has "conversion noted" "converted from point- to line-source (full, c = 1800 m/s)" "$tmp/err"
bad "convert without a velocity" "needs \[data\] convert_velocity" "$psfwi" fwi -c "$tmp/fwi.ini" \
  --set data.convert_3d=amplitude

# data weights: a mute and an offset window, the same on modelled and observed data
ok "mute and offset window" "$psfwi" fwi -c "$tmp/fwi.ini" --set data.mute_velocity=1800 \
  --set data.mute_time=0.05 --set data.offset_max=300 --set inversion.bands=0:2 \
  --set output.model="$tmp/fwim.nc" --set output.history="$tmp/histm.nc"
has "weights reported" "data weights (\[data\]): .* traces in the misfit" "$tmp/err"
bad "negative mute velocity" "mute_velocity" "$psfwi" fwi -c "$tmp/fwi.ini" --set data.mute_velocity=-5
ok "mute along picked first breaks" "$psfwi" fwi -c "$tmp/fwi.ini" --set data.pick_window=0.04 \
  --set inversion.bands=0:1 --set output.model="$tmp/fwip.nc" --set output.history="$tmp/histp.nc"
has "picks reported" "first breaks picked" "$tmp/err"
bad "two mutes" "one mute" "$psfwi" fwi -c "$tmp/fwi.ini" --set data.pick_window=0.04 \
  --set data.mute_velocity=1800
bad "an offset window without traces" "every trace is left out" "$psfwi" fwi -c "$tmp/fwi.ini" \
  --set data.offset_min=1e8

# the wavelet re-estimated per band: noted per band, kept in the history
ok "wavelet estimate" "$psfwi" fwi -c "$tmp/fwi.ini" --set inversion.wavelet_estimate=band \
  --set inversion.bands=8:2,0:2 --set output.model="$tmp/fwiw.nc" --set output.history="$tmp/histw.nc"
has "estimate noted" "wavelet re-estimated" "$tmp/err"
if command -v ncdump >/dev/null; then
  check "wavelet in the history" sh -c "ncdump -h '$tmp/histw.nc' | grep -q 'float wavelet(iteration, wavelet_time)'"
fi
bad "negative water level" "wavelet_eps" "$psfwi" fwi -c "$tmp/fwi.ini" \
  --set inversion.wavelet_estimate=band --set inversion.wavelet_eps=-1

# The regularization study's SETS (a control experiment's extra settings):
# a malformed entry, and a folder holding runs of another set-up, are refused
# before anything runs or is written.
mkdir -p "$tmp/study"
echo "model,noise,method,regularizer,weight,solver,rmse,relative_error,ssim,seconds" > "$tmp/study/table.csv"
bad "study: SETS entry not section.key=value" "'clip' is not section.key=value" \
  env SETS=clip PSFWI="$psfwi" "$src/scripts/regularization_study.sh" "$tmp/study"
bad "study: runs of another SETS in OUT_DIR" "use another OUT_DIR" \
  env SETS=training.clip=1 PSFWI="$psfwi" "$src/scripts/regularization_study.sh" "$tmp/study"
none "study: nothing written on refusal" "$tmp/study/sets.txt"

# The study's tables (standard library only): each case's best weight per
# regularizer with its RMSE and SSIM change, --only keeps the named cases,
# --grid the regularizer x weight matrix, --summary the best weights across
# noise levels (clean first, then by SNR down; - where a level lacks the
# regularizer); bad arguments are refused with the argument named.
if command -v python3 >/dev/null; then
  tab="$src/scripts/regularization_table.py"
  {
    echo "model,noise,method,regularizer,weight,solver,rmse,relative_error,ssim,seconds"
    echo "m,10,fwi,none,0,smooth,100,3,0.80,1"
    echo "m,10,fwi,tv,0.001,smooth,90,2.7,0.82,1"
    echo "m,10,fwi,tv,0.01,smooth,95,2.9,0.85,1"
    echo "m,clean,rnn,none,0,smooth,50,1.5,0.9,1"
    echo "m,0,fwi,none,0,smooth,120,4,0.7,1"
    echo "m,clean,fwi,none,0,smooth,80,2.5,0.90,1"
    echo "m,clean,fwi,tv,0.001,smooth,84,2.6,0.88,1"
  } > "$tmp/study/t.csv"
  ok "study table" python3 "$tab" "$tmp/study/t.csv" --only m_10_fwi
  has "study table: best TV weight by SSIM" "| tv | smooth | 0.01 | 95.0 | -5.0 % | 0.8500 | +0.0500 |" "$tmp/out"
  check "study table: --only leaves the other cases out" sh -c "! grep -q 'clean data' '$tmp/out'"
  ok "study table by RMSE" python3 "$tab" "$tmp/study/t.csv" --best rmse
  has "study table: best TV weight by RMSE" "| tv | smooth | 0.001 | 90.0 | -10.0 % | 0.8200 | +0.0200 |" "$tmp/out"
  has "study table: every case without --only" "### m, clean data, rnn" "$tmp/out"
  ok "study table: grid" python3 "$tab" "$tmp/study/t.csv" --only m_10_fwi --grid
  has "study table: grid row" "| tv | smooth | 90.0 / 0.8200 | 95.0 / 0.8500 |" "$tmp/out"
  ok "study table: summary" python3 "$tab" "$tmp/study/t.csv" --summary
  has "study table: summary columns, clean first" "| regularizer | solver | clean | 10 dB | 0 dB |" "$tmp/out"
  has "study table: summary row" "| tv | smooth | 0.001: +5.0 %, -0.0200 | 0.01: -5.0 %, +0.0500 | - |" "$tmp/out"
  check "study table: summary only" sh -c "! grep -q '| tv | smooth | 0.001 | 90.0' '$tmp/out'"
  bad "study table: summary with pictures" "summary only" python3 "$tab" "$tmp/study/t.csv" --summary --pictures "$tmp/p"
  bad "study table: unknown case" "no case m_5_fwi" python3 "$tab" "$tmp/study/t.csv" --only m_5_fwi
  bad "study table: missing table" "nothing.csv: No such file" python3 "$tab" "$tmp/study/nothing.csv"
  bad "study table: bad depths" "--depths: 'a' is not depths" python3 "$tab" "$tmp/study/t.csv" --depths a
  printf 'a,b\n1,2\n' > "$tmp/study/other.csv"
  bad "study table: not a study table" "not a study table" python3 "$tab" "$tmp/study/other.csv"
fi

# MPI: 2 ranks give the serial history up to round-off
if command -v mpirun >/dev/null && ldd "$psfwi" | grep -q libmpi; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
  # Under AddressSanitizer (the CI's second pass), Open MPI's plugins leak
  # at exit and are unloaded before LeakSanitizer reports, so they cannot be
  # suppressed by name: leak checking is off for the MPI run only (the same
  # psfwi code paths are leak-checked in the serial runs above).
  export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=0"
  ok "mpirun -np 2" mpirun -np 2 --oversubscribe "$psfwi" fwi -c "$tmp/fwi.ini" \
    --set output.model="$tmp/mpi.nc" --set output.history="$tmp/mpih.nc"
  has "2 ranks" "2 MPI rank(s), 2 shots here" "$tmp/err"
  ok "compare mpi" "$psfwi" compare "$tmp/fwi.nc" "$tmp/mpi.nc" --format csv
  d=$(awk -F, 'NR==2 {print $2}' "$tmp/out")
  echo "RMSE between serial and 2-rank final models: $d m/s"
  check "MPI equals serial up to round-off" awk -v d="$d" 'BEGIN { exit !(d < 0.05) }'
  # the whole history: objective and misfit of every iteration
  vals() { ncdump -v objective,misfit "$1" | sed -n '/^data:/,$p' |
    awk -F'[ ,;=]+' '{ for (i = 1; i <= NF; i++) if ($i ~ /^-?[0-9][0-9.e+-]*$/) print $i }'; }
  paste <(vals "$tmp/hist.nc") <(vals "$tmp/mpih.nc") > "$tmp/pairs"
  n=$(wc -l < "$tmp/pairs")
  worst=$(awk '{ d = $1 - $2; if (d < 0) d = -d; s = ($1 < 0 ? -$1 : $1); r = s > 0 ? d / s : d; if (r > w) w = r } END { printf "%.3g", w + 0 }' "$tmp/pairs")
  echo "serial vs 2 ranks: $n history values, largest relative difference $worst"
  check "MPI history equals the serial one up to round-off" \
    awk -v n="$n" -v w="$worst" 'BEGIN { exit !(n >= 22 && w < 1e-5) }'
  # with the wavelet estimate (its sums added over the ranks)
  ok "mpirun -np 2, wavelet estimate" mpirun -np 2 --oversubscribe "$psfwi" fwi -c "$tmp/fwi.ini" \
    --set inversion.wavelet_estimate=band --set inversion.bands=8:2,0:2 \
    --set output.model="$tmp/mpiw.nc" --set output.history="$tmp/mpihw.nc"
  ok "compare mpi, wavelet estimate" "$psfwi" compare "$tmp/fwiw.nc" "$tmp/mpiw.nc" --format csv
  d=$(awk -F, 'NR==2 {print $2}' "$tmp/out")
  echo "RMSE between serial and 2-rank final models with the wavelet estimate: $d m/s"
  check "MPI equals serial up to round-off (wavelet estimate)" awk -v d="$d" 'BEGIN { exit !(d < 0.05) }'
else
  echo "cli_fwi: MPI part skipped (no mpirun, or psfwi built without MPI)"
fi

finish cli_fwi
