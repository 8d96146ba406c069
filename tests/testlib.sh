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
