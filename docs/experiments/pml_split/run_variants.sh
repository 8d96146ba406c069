#!/bin/sh
# Variants around the chosen profiles (power 3; ln(1/R) 10 at nb 30, 12 at nb 20).
cd /tmp/pml_proto
./proto scan -pml -nb 20 -pow 3 -dprime 8 -L 14,16
./proto scan -pml -nb 20 -pow 4 -dprime 8 -L 14,16
for nbl in "30 10" "20 12"; do
  set -- $nbl
  for d in 2 4; do ./proto scan -pml -nb $1 -pow 3 -dprime $d -L $2; done
  ./proto scan -pml -nb $1 -pow 3 -dprime 8 -corner 1 -L $2
  ./proto scan -pml -nb $1 -pow 3 -dprime 8 -cornersponge -L $2
  ./proto scan -pml -nb $1 -pow 3 -dprime 8 -weak 0.05 -L $2
  ./proto scan -pml -nb $1 -pow 3 -dprime 8 -weak 0.2 -L $2
  ./proto scan -pml -nb $1 -pow 3 -corner 1 -L 5
done
