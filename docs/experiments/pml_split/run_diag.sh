#!/bin/sh
# Diagnostic: which configurations grow (noise init, 3e4 steps, max|px| at the end)
cd /tmp/pml_proto
for extra in "" "-xonly"; do
 for pw in 2 3 4; do
  for dp in "" "-dprime 8"; do
    printf "pow %s %-10s %-7s: " $pw "$dp" "$extra"
    ./proto stab -pml -nb 30 -pow $pw -logr 10 $dp $extra -noise -steps 30000 -every 10000 | awk '/^ +[0-9]+ /{l=$0} END{print l}'
  done
 done
done
