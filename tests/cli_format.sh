#!/usr/bin/env bash
# The house style is .clang-format's (clang-format 14, Debian 12): every C
# file of src/, tests/ and bench/ is as clang-format leaves it. Skipped with a
# message when clang-format 14 is not installed (another version formats
# differently). Usage: cli_format.sh PSFWI_BINARY SOURCE_DIR
set -u
src=$2
cf=$(command -v clang-format-14 || command -v clang-format || true)
if [ -z "$cf" ] || ! "$cf" --version | grep -q " 14\."; then
  echo "cli_format: SKIP: clang-format 14 is not installed"
  exit 0
fi
cd "$src"
files=$(find src tests bench -name '*.[ch]' | sort)
bad=0
for f in $files; do
  if ! "$cf" --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "FAIL: $f is not formatted (clang-format -i $f)"
    bad=$((bad + 1))
  fi
done
n=$(echo "$files" | wc -l)
echo "cli_format: $((n - bad)) passed, $bad failed"
[ "$bad" -eq 0 ]
