# Shared by the command-line tests (tests/cli_*.sh), sourced after
#   psfwi=$1 (the binary) and src=$2 (the source tree) are set: a private
# temporary folder $tmp (removed at exit), the counters and the checks.
#   ok DESCRIPTION CMD...          CMD must exit 0 (stdout in $tmp/out, stderr in $tmp/err)
#   bad DESCRIPTION PATTERN CMD... CMD must exit non-zero with PATTERN on stderr
#   has DESCRIPTION PATTERN FILE   FILE must contain PATTERN
#   check DESCRIPTION CMD...       CMD must succeed
#   none DESCRIPTION PATH          PATH must not exist
#   finish NAME                    prints "NAME: N passed, M failed", fails if M > 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
failed=0
ok() { local d=$1; shift
  if "$@" >"$tmp/out" 2>"$tmp/err"; then pass=$((pass + 1)); else
    failed=$((failed + 1)); echo "FAIL: $d (exit $?)"; cat "$tmp/err"; fi; }
bad() { local d=$1 pat=$2; shift 2
  if "$@" >"$tmp/out" 2>"$tmp/err"; then failed=$((failed + 1)); echo "FAIL: $d: exited 0"
  elif grep -q -- "$pat" "$tmp/err"; then pass=$((pass + 1))
  else failed=$((failed + 1)); echo "FAIL: $d: stderr lacks '$pat':"; cat "$tmp/err"; fi; }
has() { if grep -q -- "$2" "$3"; then pass=$((pass + 1)); else
  failed=$((failed + 1)); echo "FAIL: $1: '$2' not in $3:"; cat "$3"; fi; }
check() { local d=$1; shift
  if "$@"; then pass=$((pass + 1)); else failed=$((failed + 1)); echo "FAIL: $d"; fi; }
none() { if [ -e "$2" ]; then failed=$((failed + 1)); echo "FAIL: $1: $2 exists"; else
  pass=$((pass + 1)); fi; }
finish() { echo "$1: $pass passed, $failed failed"; [ "$failed" -eq 0 ]; }
# The tiny acquisition of the learn tests (cli_dataset.sh, cli_dnn.sh): a
# 15 Hz Ricker, 0.3 s at 2 ms, 3 shots and 24 receivers 10 m deep over
# 240 m; prints the [wavelet], [time] and [survey] sections.
# tiny_grid: the [grid] of its data sets (24 x 16 cells of 10 m).
tiny_grid() { printf '[grid]\nnx = 24\nnz = 16\ndx = 10\n'; }
tiny_acquisition() {
  printf '[wavelet]\nfrequency = 15\n[time]\nduration = 0.3\nsample_interval = 0.002\n'
  printf '[survey]\nsource_x = 0:115:3\nsource_z = 10\nreceiver_x = 0:10:24\nreceiver_z = 10\n'
}
