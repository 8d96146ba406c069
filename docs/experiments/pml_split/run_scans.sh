#!/bin/sh
# Reflection scans (each line: worst ratio in % for shots 0 1 2 3, and the max).
cd /tmp/pml_proto
L=4,5,6,8,10,12
for nb in 30 20; do
  ./proto scan -sponge -nb $nb -pow 4 -L 2,3,4.5,6,8
  for pw in 2 3 4; do ./proto scan -pml -nb $nb -pow $pw -L $L; done
  for pw in 2 3 4; do ./proto scan -pml -nb $nb -pow $pw -dprime 8 -L $L; done
done
