/* psfwi fwi -c CONFIG.ini [--set section.key=value ...] [--resume]: classical
 * full-waveform inversion (library: psfwi_fwi_run in src/invert/fwi.c). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_invert.h"

static const char usage_text[] =
    "usage: psfwi fwi -c CONFIG.ini [--set section.key=value ...] [--resume]\n"
    "                 [--stop-after N]\n"
    "Classical FWI: exact adjoint gradients, bounded L-BFGS (or CG, steepest descent),\n"
    "multiscale bands, illumination preconditioning, frozen water layer, Tikhonov / TV /\n"
    "prior regularization. Observed data from [data] observed, or synthesised from\n"
    "[model] true. Writes [output] model (the final model), [output] history\n"
    "(vp(iteration, z, x) and per-iteration objective, misfit, errors), rewritten after\n"
    "every iteration, and a resumable state ([output] state, default <model>.state.nc).\n"
    "  --resume        continue a killed run from its state file: the result is the\n"
    "                  one the uninterrupted run gives\n"
    "  --stop-after N  stop after N iterations as if killed (exit status 3; for tests)\n"
    "With MPI: mpirun -np K psfwi fwi -c CONFIG spreads the shots over K ranks.\n";

static const psfwi_config_key keys[] = {
    CLI_KEYS_MODEL_SURVEY,
    CLI_KEYS_INVERT,
    CLI_KEYS_INVERT_OUTPUT,
    {"inversion", "wavelet_estimate", PSFWI_CFG_CHOICE, "none", 0, 0, "none|band",
     "band: re-estimate the source wavelet at each band's start (least-squares filter from "
     "the modelled to the observed data within the band; docs/data.md), kept in the history"},
    {"inversion", "wavelet_eps", PSFWI_CFG_DOUBLE, "1e-3", 0, 1e6, NULL,
     "water level of the wavelet estimate, a fraction of the modelled data's peak power"},
};

static void on_progress(void *ctx, const psfwi_fwi_progress *p) {
  (void)ctx;
  char band[64], el[32], eta[32];
  if (p->b->f_high > 0)
    snprintf(band, sizeof band, "%zu/%zu (<= %g Hz)", p->band + 1, p->nband, p->b->f_high);
  else
    snprintf(band, sizeof band, "%zu/%zu (full)", p->band + 1, p->nband);
  if (p->note) {
    fprintf(stderr, "fwi: note: %s\n", p->note);
    return;
  }
  if (p->stop_reason) {
    fprintf(stderr, "fwi: band %s ends after %zu iterations: %s\n", band, p->iter, p->stop_reason);
    return;
  }
  cli_fmt_time(p->elapsed, el, sizeof el);
  cli_fmt_time(p->eta, eta, sizeof eta);
  fprintf(stderr, "fwi: iter %3zu/%zu  band %s it %2zu  obj %.5e  misfit %.4e  reg %.3e",
          p->iter_total, p->iter_planned - 1, band, p->iter, p->objective, p->misfit,
          p->regularization);
  if (p->have_truth)
    fprintf(stderr, "  rmse %.1f m/s  rel %.2f %%  ssim %.4f", p->metrics.rmse, p->metrics.rel_l2,
            p->metrics.ssim);
  fprintf(stderr, "  evals %zu  %s  ETA %s\n", p->nfev, el, eta);
}

int cmd_fwi(int argc, char **argv) {
  cli_run R;
  int code;
  int st = cli_run_start(&R, "fwi", usage_text, keys, sizeof keys / sizeof keys[0], NULL,
                         "psfwi FWI iteration history", argc, argv, &code);
  if (code != 0) return code < 0 ? 0 : code;
  if (st == PSFWI_OK) {
    psfwi_fwi_opts *o = &R.P.fwi;
    o->history_path = R.history;
    o->state_path = R.state_path;
    o->meta = &R.meta;
    o->resume = R.resume;
    o->stop_after = R.stop_after;
    o->estimate_wavelet =
        strcmp(psfwi_config_string(R.cfg, "inversion", "wavelet_estimate"), "band") == 0;
    o->wavelet_eps = psfwi_config_double(R.cfg, "inversion", "wavelet_eps");
    if (R.P.comm.rank == 0) o->progress = on_progress;
    if (R.P.comm.rank == 0 && o->proximal && o->illumination)
      fprintf(stderr,
              "fwi: note: [regularization] solver = proximal works on the velocities "
              "themselves: [inversion] illumination is not used (docs/fwi.md)\n");
    st = psfwi_fwi_run(R.P.w, R.P.model, R.P.local, R.P.obs->wavelet, R.P.obs->nt, R.P.d_local, o,
                       &R.err);
  }
  return cli_run_finish(&R, st, "psfwi FWI final model");
}
