#!/bin/sh
# Long-run stability, 10^5 internal steps each on the small grid (80^2 interior).
cd /tmp/pml_proto
U30="-unsplit -nb 30 -pow 4 -logr 10 -dprime 8 -emin 1e-4"
U20="-unsplit -nb 20 -pow 4 -logr 10 -dprime 8 -emin 1e-4"
for P in "$U30" "$U20"; do
  for cfl in 0.3 0.5; do
    for init in "" "-noise"; do
      for het in "" "-het"; do
        ./proto stab $P -cfl $cfl $init $het
      done
    done
  done
done
for cfl in 0.3 0.5; do ./proto stab $U30 -corner 1 -cfl $cfl -noise -het; done
# the split variants, for the record
./proto stab -pml -nb 30 -pow 4 -logr 5 -noise
./proto stab -pml -nb 30 -pow 4 -logr 5 -noise -het
./proto stab -pml -nb 30 -pow 4 -logr 10 -dprime 8 -noise
./proto stab -pml -nb 30 -pow 4 -logr 10 -dprime 8 -het
# the sponge, for reference
./proto stab -sponge -nb 30 -pow 4 -logr 4.5 -noise -het -cfl 0.5
