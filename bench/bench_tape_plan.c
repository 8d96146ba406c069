/* What a compressed tape would buy the gradient (issue 16's target: at most
 * 2.2 forwards with at most 10 % of the keep-all memory): a paper estimate
 * from psfwi's own checkpoint planner, not a timing.
 *
 * The gradient keeps each taped step's Laplacian field (32-bit floats) and
 * snapshots of whole states (snap_fields padded fields each), and
 * recomputes forward steps when the budget cannot hold all nstep tapes
 * (psfwi_checkpoint_plan_make). A tape stored at b bits per value costs
 * b / 32 of a field; with d = 32 / b the plan within m fields is the plan
 * within d m "tape units" whose snapshots cost d snap_fields units, which
 * is what this asks the planner for. Snapshots stay exact (a restart must
 * reproduce the forward bit for bit).
 *
 * Printed per budget (a fraction of the keep-all tape) and tape precision:
 * forward steps per internal step (fwd/l: 1 = no recomputation) and the
 * gradient / forward estimate fwd/l + B, where B is the cost of a backward
 * step over a forward step (measured 1.20-1.25 with the PML on 448 x 240,
 * docs/BENCHMARKS.md "Gradient"; the time outside the steps is neglected).
 *
 *   bench_tape_plan [nstep] [snap_fields] [B]
 * Defaults: 2000 steps (bench_gradient's default shot), 4 fields per
 * snapshot (the PML's state, 3.1 fields rounded up), B = 1.2. */
#include <stdio.h>
#include <stdlib.h>

#include "psfwi_core.h"
#include "psfwi_invert.h"

int main(int argc, char **argv) {
  size_t nstep = 2000, sf = 4;
  double B = 1.2;
  if (argc > 4 || (argc > 1 && atol(argv[1]) < 2) || (argc > 2 && atol(argv[2]) < 1) ||
      (argc > 3 && !(atof(argv[3]) > 0.0))) {
    fprintf(stderr, "usage: %s [nstep >= 2] [snap_fields >= 1] [backward/forward step > 0]\n",
            argv[0]);
    return 2;
  }
  if (argc > 1) nstep = (size_t)atol(argv[1]);
  if (argc > 2) sf = (size_t)atol(argv[2]);
  if (argc > 3) B = atof(argv[3]);
  static const double bits[] = {32, 16, 8, 4, 3.2};
  static const double frac[] = {0.05, 0.10, 0.15, 0.25, 0.50, 1.00};
  const size_t nb = sizeof bits / sizeof *bits, nf = sizeof frac / sizeof *frac;
  printf("# nstep = %zu, snapshot = %zu fields, backward step = %.2f forward steps\n", nstep, sf,
         B);
  printf("| memory (of keep-all) |");
  for (size_t j = 0; j < nb; j++) printf(" %g-bit tape: fwd/l, g/f |", bits[j]);
  printf("\n|---|");
  for (size_t j = 0; j < nb; j++) printf("---|");
  printf("\n");
  for (size_t i = 0; i < nf; i++) {
    printf("| %.0f %% |", 100.0 * frac[i]);
    for (size_t j = 0; j < nb; j++) {
      /* a tape entry costs 1 / d field: in tape entries the budget is
       * d m fields and a snapshot d sf (whole for these precisions) */
      const double d = 32.0 / bits[j];
      const size_t m = (size_t)(frac[i] * (double)nstep * d), snap = (size_t)(d * (double)sf + 0.5);
      psfwi_checkpoint_plan p;
      psfwi_error err = {PSFWI_OK, ""};
      if (psfwi_checkpoint_plan_make(nstep, m, 0, 1, 1e9, snap, &p, &err) != PSFWI_OK) {
        printf(" - |");
        continue;
      }
      const double fl = 1.0 + (double)p.recomputed / (double)nstep;
      printf(" %.3f, %.2f |", fl, fl + B);
    }
    printf("\n");
  }
  return 0;
}
