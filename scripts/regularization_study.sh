#!/usr/bin/env bash
# The regularization study, part (a) (regularization issue; results in
# docs/REGULARIZATION.md): FWI and the RNN on Marmousi and on a faulted
# synthetic, each model regularizer at several weights, on clean data and
# on data with white Gaussian noise, every run compared with the true
# model (RMSE, relative error, SSIM) in one CSV table.
#
# Usage: scripts/regularization_study.sh [OUT_DIR]      (default runs/regularization)
#
# Weights are dimensionless (auto_scale: a weight of 1 makes the term change
# as much as the data term over the first update), so one list serves every
# regularizer and model. Environment (defaults in brackets):
#   MODELS   marmousi faulted          [marmousi faulted]
#   METHODS  fwi rnn                   [fwi rnn]
#   NOISE    clean and/or SNRs in dB   [clean 10 0]
#   REGS     none tikhonov tv tv_aniso l1 group nuclear ksupport  [all]
#   WEIGHTS  dimensionless weights     [0.001 0.01 0.1] (1 leaves Marmousi at
#            its start: docs/REGULARIZATION.md)
#   SOLVER   smooth | proximal         [smooth]
#   BANDS    FWI bands (and RNN epochs per band) [3:10,5:10,8:10,0:10]
#   QUICK=1  a smoke run of a few minutes: a small faulted model, one noise
#            level, two regularizers, one weight, 2 + 2 iterations
#   PSFWI    the binary                [build/psfwi]
#   SETS     extra settings of every inversion run, "section.key=value ..."
#            (a control experiment, e.g. another optimiser), given after
#            the study's own, so they override them (e.g.
#            regularization.auto_scale=false: WEIGHTS are then absolute) [none]; one
#            OUT_DIR holds runs of one SETS only (kept in OUT_DIR/sets.txt),
#            so give a control its own OUT_DIR
# The Marmousi models come from scripts/make_models.sh (needs the shared
# data); the faulted model is made here (psfwi model synth, seed 7, on the
# Marmousi grid: 231 x 76 cells of 40 m). Every run's model, history and log
# stay in OUT_DIR; a run whose model exists is skipped, so a killed study
# resumes where it stopped (a killed run itself restarts: FWI's own --resume
# needs its state file, kept, and is used when present).
set -euo pipefail
cd "$(dirname "$0")/.."
psfwi=${PSFWI:-build/psfwi}
out=${1:-runs/regularization}
mkdir -p "$out"
sets=${SETS:-}
iset=()
for kv in $sets; do
  case $kv in
    *.*=*) iset+=(--set "$kv") ;;
    *) echo "regularization_study: SETS entry '$kv' is not section.key=value" >&2; exit 2 ;;
  esac
done
# The runs already in OUT_DIR were made with the SETS recorded there (none
# before the record existed): a table never mixes two set-ups.
if [ -f "$out/sets.txt" ]; then
  had=$(cat "$out/sets.txt")
elif [ -f "$out/table.csv" ]; then
  had=""
else
  had=$sets
fi
if [ "$had" != "$sets" ]; then
  echo "regularization_study: $out holds runs made with SETS=\"$had\", not \"$sets\"; use another OUT_DIR" >&2
  exit 2
fi
printf '%s\n' "$sets" > "$out/sets.txt"
cfg_fwi=configs/marmousi_fwi.ini
cfg_rnn=configs/marmousi_rnn.ini
models=${MODELS:-marmousi faulted}
methods=${METHODS:-fwi rnn}
noise=${NOISE:-clean 10 0}
regs=${REGS:-none tikhonov tv tv_aniso l1 group nuclear ksupport}
weights=${WEIGHTS:-0.001 0.01 0.1}
solver=${SOLVER:-smooth}
bands=${BANDS:-3:10,5:10,8:10,0:10}
extra=()
if [ "${QUICK:-0}" = 1 ]; then
  models=faulted
  noise=${NOISE:-10}
  regs=${REGS:-none tv}
  weights=${WEIGHTS:-1}
  bands=${BANDS:-5:2,0:2}
  extra=(--set survey.source_x=200:800:3 --set survey.receiver_x=0:40:60
         --set time.duration=2.0)
fi

# The acquisition sections of the FWI configuration as a forward
# configuration for the observed data.
forward_ini() { # true_model out_data
  awk '/^\[/ {keep = ($0 ~ /^\[(wavelet|time|survey|propagator)\]/)} keep' "$cfg_fwi"
  printf '[model]\nvp = %s\n[output]\ndata = %s\n' "$1" "$2"
}

echo "model,noise,method,regularizer,weight,solver,rmse,relative_error,ssim,seconds" \
  > "$out/table.csv.tmp"
[ -f "$out/table.csv" ] && tail -n +2 "$out/table.csv" >> "$out/table.csv.tmp"
mv "$out/table.csv.tmp" "$out/table.csv"

for model in $models; do
  case $model in
    marmousi)
      true_m=models/marmousi_40m.nc
      start_m=models/marmousi_40m_start.nc
      if [ ! -f "$true_m" ]; then
        echo "regularization_study: $true_m missing (scripts/make_models.sh needs the shared Marmousi); skipped" >&2
        continue
      fi ;;
    faulted)
      true_m=$out/faulted_true.nc
      start_m=$out/faulted_start.nc
      nx=231; nz=76
      if [ "${QUICK:-0}" = 1 ]; then nx=60; nz=30; fi
      [ -f "$true_m" ] || "$psfwi" model synth --family faulted --nx $nx --nz $nz --dx 40 --seed 7 \
        --vmin 1500 --vmax 4500 --water 80 -o "$true_m"
      [ -f "$start_m" ] || "$psfwi" model smooth "$true_m" --sigma 400 --slowness --keep-water \
        -o "$start_m" ;;
    *) echo "regularization_study: unknown model '$model' (marmousi faulted)" >&2; exit 2 ;;
  esac
  for nl in $noise; do
    obs=$out/${model}_obs_$nl.nc
    if [ ! -f "$obs" ]; then
      forward_ini "$(realpath "$true_m")" "$(realpath -m "$obs")" > "$out/forward_$model.ini"
      nset=()
      [ "$nl" != clean ] && nset=(--set output.noise_snr_db="$nl" --set output.noise_seed=11)
      "$psfwi" forward -c "$out/forward_$model.ini" "${extra[@]}" "${nset[@]}" \
        > "$out/${model}_obs_$nl.log" 2>&1
    fi
    for method in $methods; do
      cfg=$cfg_fwi
      [ "$method" = rnn ] && cfg=$cfg_rnn
      for reg in $regs; do
        wl=$weights
        [ "$reg" = none ] && wl=0
        for w in $wl; do
          name=${model}_${nl}_${method}_${reg}_${w}_$solver
          res=$out/$name.nc
          if [ -f "$res" ]; then continue; fi
          rset=(--set regularization.auto_scale=true --set regularization.solver="$solver")
          case $reg in
            none) rset=() ;;
            tv_aniso) rset+=(--set regularization.tv="$w" --set regularization.tv_kind=anisotropic) ;;
            ksupport) rset+=(--set regularization.ksupport="$w" --set regularization.ksupport_k=2) ;;
            *) rset+=(--set regularization."$reg"="$w") ;;
          esac
          t0=$(date +%s)
          resume=()
          [ "$method" = fwi ] && [ -f "$out/$name.state.nc" ] && resume=(--resume)
          if ! "$psfwi" "$method" -c "$cfg" "${extra[@]}" "${rset[@]}" "${iset[@]}" "${resume[@]}" \
              --set model.vp="$(realpath "$start_m")" --set model.true="$(realpath "$true_m")" \
              --set data.observed="$(realpath "$obs")" --set inversion.bands="$bands" \
              --set output.model="$(realpath -m "$res")" \
              --set output.history="$(realpath -m "$out/${name}_history.nc")" \
              --set output.state="$(realpath -m "$out/$name.state.nc")" \
              > "$out/$name.log" 2>&1; then
            echo "regularization_study: $name failed; see $out/$name.log" >&2
            continue
          fi
          t1=$(date +%s)
          m=$("$psfwi" compare "$true_m" "$res" --format csv | awk -F, 'NR == 2 {print $2 "," $4 "," $5}')
          echo "$model,$nl,$method,$reg,$w,$solver,$m,$((t1 - t0))" >> "$out/table.csv"
          echo "$name: rmse,rel,ssim = $m ($((t1 - t0)) s)"
        done
      done
    done
  done
done
echo "regularization_study: table in $out/table.csv"
