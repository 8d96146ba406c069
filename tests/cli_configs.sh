#!/usr/bin/env bash
# Every shipped configuration (configs/*.ini) is valid for the command it
# is written for (`psfwi CMD -c FILE --check`: every key known, no key
# twice, every value of its type and in its range), so a typo in a shipped
# config fails here, not in a user's hour-long run; a configuration added
# without an entry in the table below fails too. And --check itself: a
# misspelt key, a duplicate key and an out-of-range value are refused, and
# nothing is run or written.
# Usage: cli_configs.sh PSFWI_BINARY SOURCE_DIR
set -u
psfwi=$1
src=$2
. "$src/tests/testlib.sh"

# the command each shipped configuration is for
command_of() {
  case $(basename "$1") in
    demo_forward.ini | demo_dnn_forward.ini | forward_synthetic.ini | marmousi_forward.ini | \
      dnn_marine_marmousi.ini) echo forward ;;
    demo_fwi.ini | demo_dnn_fwi.ini | marmousi_fwi.ini | survey_fwi.ini) echo fwi ;;
    demo_rnn.ini | marmousi_rnn.ini) echo rnn ;;
    dnn_marine.ini | openfwi_forward.ini) echo "dataset generate" ;;
    dnn_marine_train.ini | dnn_openfwi.ini) echo "dnn train" ;;
    *) echo "" ;;
  esac
}

n=0
for f in "$src"/configs/*.ini; do
  cmd=$(command_of "$f")
  if [ -z "$cmd" ]; then
    failed=$((failed + 1))
    echo "FAIL: $f has no command in tests/cli_configs.sh's table"
    continue
  fi
  # shellcheck disable=SC2086
  ok "$(basename "$f") is a valid '$cmd' configuration" "$psfwi" $cmd -c "$f" --check
  has "$(basename "$f"): says so" "configuration valid" "$tmp/out"
  n=$((n + 1))
done
check "at least the 15 configurations of 4 Dec 2026 ($n)" test "$n" -ge 15

# --check refuses what a run would refuse, naming the file and line
cp "$src/configs/demo_fwi.ini" "$tmp/typo.ini"
printf '[output]\nmodle = x.nc\n' >> "$tmp/typo.ini"
bad "--check: a misspelt key" "unknown key 'modle'" "$psfwi" fwi -c "$tmp/typo.ini" --check
printf '[time]\ncfl = 0.3\ncfl = 0.4\n' > "$tmp/dup.ini"
bad "--check: a duplicate key" "cfl" "$psfwi" forward -c "$tmp/dup.ini" --check
bad "--check: a value out of range" "cfl" "$psfwi" forward -c "$src/configs/demo_forward.ini" \
  --set time.cfl=20 --check
# and runs nothing: no output file appears
(cd "$tmp" && "$psfwi" forward -c "$src/configs/demo_forward.ini" \
  --set output.data="$tmp/never.nc" --check >/dev/null 2>&1)
none "--check writes nothing" "$tmp/never.nc"
finish cli_configs
