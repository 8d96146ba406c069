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
};

static void fmt_time(double s, char *buf, size_t n) {
  if (!isfinite(s)) snprintf(buf, n, "?");
  else if (s < 100) snprintf(buf, n, "%.0f s", s);
  else if (s < 6000) snprintf(buf, n, "%.0fm%02.0fs", floor(s / 60), fmod(s, 60));
  else snprintf(buf, n, "%.0fh%02.0fm", floor(s / 3600), fmod(s / 60, 60));
}

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
  fmt_time(p->elapsed, el, sizeof el);
  fmt_time(p->eta, eta, sizeof eta);
  fprintf(stderr, "fwi: iter %3zu/%zu  band %s it %2zu  obj %.5e  misfit %.4e  reg %.3e", p->iter_total,
          p->iter_planned - 1, band, p->iter, p->objective, p->misfit, p->regularization);
  if (p->have_truth)
    fprintf(stderr, "  rmse %.1f m/s  rel %.2f %%  ssim %.4f", p->metrics.rmse, p->metrics.rel_l2,
            p->metrics.ssim);
  fprintf(stderr, "  evals %zu  %s  ETA %s\n", p->nfev, el, eta);
}

static char *default_state_path(const char *model) {
  const size_t n = strlen(model);
  char *s = malloc(n + 16);
  if (s == NULL) return NULL;
  memcpy(s, model, n + 1);
  if (n > 3 && strcmp(s + n - 3, ".nc") == 0) s[n - 3] = '\0';
  strcat(s, ".state.nc");
  return s;
}

int cmd_fwi(int argc, char **argv) {
  int resume = 0;
  size_t stop_after = 0;
  psfwi_error err = {0};
  /* take out the options cli_config_from_args does not know */
  int n = 0;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--resume") == 0) {
      resume = 1;
    } else if (strcmp(argv[i], "--stop-after") == 0) {
      if (i + 1 >= argc) return cli_usage_error("fwi", "--stop-after needs a number");
      if (cli_size("--stop-after", argv[++i], 1, 1000000000, &stop_after, &err) != PSFWI_OK)
        return cli_error(&err);
    } else {
      argv[n++] = argv[i];
    }
  }
  argc = n;
  cli_problem P;
  memset(&P, 0, sizeof P);
  if (psfwi_comm_init(&argc, &argv, &P.comm, &err) != PSFWI_OK) return cli_error(&err);
  int code;
  psfwi_config *cfg = cli_config_from_args("fwi", usage_text, keys, sizeof keys / sizeof keys[0],
                                           argc, argv, &code);
  if (cfg == NULL) {
    psfwi_comm_finalize(&P.comm);
    return code;
  }
  char *state_path = NULL;
  const int rank0 = P.comm.rank == 0;
  int st = PSFWI_OK;
  const char *out = psfwi_config_require(cfg, "output", "model", &err);
  if (out == NULL) st = err.status;
  if (st == PSFWI_OK) {
    const char *sp = psfwi_config_string(cfg, "output", "state");
    state_path = sp ? strdup(sp) : default_state_path(out);
    if (state_path == NULL) st = psfwi_fail(&err, PSFWI_ENOMEM, "out of memory");
  }
  if (st == PSFWI_OK) {
    static const char *const outputs[] = {"output.model", "output.history", "output.observed",
                                          NULL};
    const psfwi_run_file state[] = {{"[output] state", state_path, 1}};
    st = cli_check_run_files(cfg, cli_invert_inputs, outputs, state, 1, &err);
  }
  if (st == PSFWI_OK) st = cli_problem_setup(&P, cfg, &err);
  st = psfwi_comm_agree(&P.comm, st);
  psfwi_meta meta = cli_meta("psfwi FWI iteration history");
  meta.config = P.cfg_text;
  const char *obs_out = psfwi_config_string(cfg, "output", "observed");
  if (st == PSFWI_OK && obs_out && rank0) {
    psfwi_meta om = cli_meta("psfwi observed shot gathers (synthesised by psfwi fwi)");
    om.config = P.cfg_text;
    st = psfwi_nc_write_gather(obs_out, P.obs, &om, &err);
    if (st == PSFWI_OK) printf("wrote %s\n", obs_out);
  }
  st = psfwi_comm_agree(&P.comm, st);
  if (st == PSFWI_OK) {
    psfwi_fwi_opts *o = &P.fwi;
    o->history_path = psfwi_config_string(cfg, "output", "history");
    o->state_path = state_path;
    o->meta = &meta;
    o->resume = resume;
    o->stop_after = stop_after;
    if (rank0) {
      o->progress = on_progress;
      o->progress_ctx = NULL;
    }
    if (rank0 && resume) fprintf(stderr, "fwi: resuming from '%s'\n", state_path);
    st = psfwi_fwi_run(P.w, P.model, P.local, P.obs->wavelet, P.obs->nt, P.d_local, o, &err);
  }
  if (st == PSFWI_OK && rank0) {
    psfwi_meta mm = cli_meta("psfwi FWI final model");
    mm.config = P.cfg_text;
    st = psfwi_nc_write_model(out, P.model, &mm, &err);
    if (st == PSFWI_OK) {
      printf("wrote %s\n", out);
      if (P.fwi.history_path) printf("wrote %s\n", P.fwi.history_path);
    }
  }
  if (st != PSFWI_OK && rank0) cli_error(&err);
  free(state_path);
  cli_problem_free(&P);
  psfwi_config_destroy(cfg);
  psfwi_comm_finalize(&P.comm);
  return st == PSFWI_OK ? 0 : st == PSFWI_EINTERRUPTED ? 3 : 1;
}
