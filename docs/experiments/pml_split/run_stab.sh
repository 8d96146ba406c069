#!/bin/sh
# Long-run stability: 10^5 internal steps on the small grid (80^2 interior).
cd /tmp/pml_proto
P30="-pml -nb 30 -pow 3 -logr 10 -dprime 8"
P20="-pml -nb 20 -pow 3 -logr 12 -dprime 8"
for P in "$P30" "$P20"; do
  for cm in 0 1; do
    for cfl in 0.3 0.5; do
      ./proto stab $P -corner $cm -cfl $cfl
      ./proto stab $P -corner $cm -cfl $cfl -noise
      ./proto stab $P -corner $cm -cfl $cfl -het
      ./proto stab $P -corner $cm -cfl $cfl -het -noise
    done
  done
done
