/* Benchmark (not a test): the cost of one theory-guided RNN epoch over all
 * shots against one classical FWI gradient over the same shots, on the same
 * gradient engine. The RNN's training loop must add no copies of
 * wavefields: target at most 1.05 (issue "theory-guided RNN").
 *
 * One process, one problem (400 x 200 cells of 10 m with the default PML,
 * 4 shots of 100 receivers, 2 s at 4 ms), threads as OMP_NUM_THREADS. In
 * each of `reps` rounds, interleaved on the same load:
 *   - gradient: psfwi_gradient_ws_eval over every shot (what an FWI
 *     iteration costs), from a workspace made once;
 *   - epoch: psfwi_rnn_run of one band of 3 epochs, timed by its progress
 *     callback, epoch 2 -> 3 (set-up and the band start's forward excluded),
 *     for batches of all shots and of 2 shots (two optimiser steps).
 * Prints each round and the medians of the per-round ratios.
 *   bench_rnn [reps]   (default 5)
 * Wall-clock ratios need a quiet machine. Instruction counts do not: under
 * valgrind --tool=callgrind (docs/BENCHMARKS.md), on a small problem
 * (120 x 80 cells, 2 shots of 40 receivers, 301 samples, one thread),
 *   bench_rnn --count grad N    N gradients from one workspace
 *   bench_rnn --count epoch N   an RNN band of N epochs (batch = all shots)
 * so that count(grad 2) - count(grad 1) is one gradient and
 * count(epoch 2) - count(epoch 1) one epoch, set-up and band start cancelled. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_stats.h"
#include "psfwi_core.h"
#include "psfwi_invert.h"
#include "psfwi_wave.h"

static size_t NX = 400, NZ = 200, NSHOT = 4, NREC = 100, NT = 501;
static const double DT_OUT = 0.004;

static void die(const psfwi_error *e) {
  fprintf(stderr, "bench_rnn: %s\n", e->msg);
  exit(1);
}

/* The progress callback keeps the time at which each epoch ended. */
typedef struct clock_ctx {
  double t[8];
  size_t n;
} clock_ctx;

static void on_epoch(void *ctx, const psfwi_rnn_progress *p) {
  clock_ctx *c = ctx;
  if (p->note == NULL && c->n < 8) c->t[c->n++] = psfwi_seconds();
}

int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 5;
  const int count_mode = argc > 3 && strcmp(argv[1], "--count") == 0;
  const int count_epochs = count_mode && strcmp(argv[2], "epoch") == 0;
  const size_t count_n = count_mode ? (size_t)atoi(argv[3]) : 0;
  if (count_mode) {
    NX = 120;
    NZ = 80;
    NSHOT = 2;
    NREC = 40;
    NT = 301;
  }
  if (reps < 1 || reps > 64) reps = 5;
  psfwi_error e;
  psfwi_grid g = {.nx = NX, .nz = NZ, .dx = 10.0, .dz = 10.0};
  psfwi_model *m0 = psfwi_model_create(&g, &e), *mt = psfwi_model_create(&g, &e);
  if (!m0 || !mt) die(&e);
  for (size_t iz = 0; iz < NZ; iz++)
    for (size_t ix = 0; ix < NX; ix++) {
      const double r2 =
          pow((double)ix - 0.5 * (double)NX, 2) + pow((double)iz - 0.6 * (double)NZ, 2);
      const double v = 1800.0 + 1000.0 * (double)iz / (double)NZ;
      m0->vp[iz * NX + ix] = (float)v;
      mt->vp[iz * NX + ix] = (float)(v + 300.0 * exp(-r2 / 200.0));
    }
  psfwi_wave_opts o;
  psfwi_wave_opts_defaults(&o);
  o.fmax = 25.0;
  o.vmin_bound = 1500.0;
  o.vmax_bound = 3300.0;
  psfwi_wave *w = psfwi_wave_create(m0, DT_OUT, &o, &e);
  if (w == NULL) die(&e);
  const double L = (double)(NX - 1) * 10.0;
  psfwi_survey *s = psfwi_survey_create_line(L / 8.0, L / (double)NSHOT, NSHOT, 20.0, 0.0,
                                             L / (double)(NREC - 1), NREC, 10.0, 0, &e);
  if (s == NULL) die(&e);
  float *wav = malloc(NT * sizeof *wav), *dobs = malloc(NSHOT * NREC * NT * sizeof *dobs);
  double *grad = malloc(NX * NZ * sizeof *grad);
  if (!wav || !dobs || !grad) return 1;
  if (psfwi_ricker(10.0, 0.12, DT_OUT, NT, wav, &e) != PSFWI_OK) die(&e);
  if (psfwi_wave_model_shots(w, mt, s, wav, NT, dobs, NULL, &e) != PSFWI_OK) die(&e);
  psfwi_misfit_opts mo;
  psfwi_misfit_opts_defaults(&mo);
  psfwi_misfit *mf = psfwi_misfit_create(&mo, NT, DT_OUT, &e);
  psfwi_gradient_ws *ws =
      mf ? psfwi_gradient_ws_create(w, s, NT, PSFWI_GRADIENT_WANT_GRAD, NULL, &e) : NULL;
  if (ws == NULL) die(&e);
  if (count_mode) { /* one thing to count, N times */
    if (count_epochs) {
      const psfwi_fwi_band cb = {.max_iter = count_n};
      psfwi_rnn_opts ro;
      psfwi_rnn_opts_defaults(&ro);
      ro.bands = &cb;
      ro.nband = 1;
      ro.vmin = 1500.0;
      ro.vmax = 3300.0;
      if (psfwi_rnn_run(w, m0, s, wav, NT, dobs, &ro, &e) != PSFWI_OK) die(&e);
    } else {
      for (size_t k = 0; k < count_n; k++) {
        double J;
        if (psfwi_gradient_ws_eval(ws, m0, wav, dobs, mf, NULL, &J, grad, NULL, NULL, NULL, &e))
          die(&e);
      }
    }
    printf("bench_rnn --count %s %zu: done\n", count_epochs ? "epoch" : "grad", count_n);
    return 0;
  }
  const psfwi_fwi_band band = {.max_iter = 3};
  double r_all[64], r_b2[64];
  printf("bench_rnn: %zu x %zu cells, %zu shots x %zu receivers, %zu samples; %d rounds\n", NX, NZ,
         NSHOT, NREC, NT, reps);
  for (int k = 0; k < reps; k++) {
    double J;
    const double t0 = psfwi_seconds();
    if (psfwi_gradient_ws_eval(ws, m0, wav, dobs, mf, NULL, &J, grad, NULL, NULL, NULL, &e))
      die(&e);
    const double tg = psfwi_seconds() - t0;
    double te[2];
    for (int b = 0; b < 2; b++) {
      psfwi_rnn_opts ro;
      psfwi_rnn_opts_defaults(&ro);
      ro.bands = &band;
      ro.nband = 1;
      ro.vmin = 1500.0;
      ro.vmax = 3300.0;
      ro.batch_shots = b == 0 ? 0 : 2;
      clock_ctx c = {{0}, 0};
      ro.progress = on_epoch;
      ro.progress_ctx = &c;
      psfwi_model *m = psfwi_model_copy(m0, &e);
      float *wv = malloc(NT * sizeof *wv);
      memcpy(wv, wav, NT * sizeof *wv);
      if (m == NULL || psfwi_rnn_run(w, m, s, wv, NT, dobs, &ro, &e) != PSFWI_OK) die(&e);
      te[b] = c.t[2] - c.t[1];
      psfwi_model_destroy(m);
      free(wv);
    }
    r_all[k] = te[0] / tg;
    r_b2[k] = te[1] / tg;
    printf(
        "round %d: gradient %.3f s, epoch (1 batch) %.3f s = %.3f x, epoch (batches of 2) "
        "%.3f s = %.3f x\n",
        k + 1, tg, te[0], r_all[k], te[1], r_b2[k]);
  }
  printf("median epoch / gradient: %.3f (one batch of all shots), %.3f (batches of 2)\n",
         bench_median(r_all, reps), bench_median(r_b2, reps));
  psfwi_gradient_ws_destroy(ws);
  psfwi_misfit_destroy(mf);
  psfwi_wave_destroy(w);
  psfwi_survey_destroy(s);
  psfwi_model_destroy(m0);
  psfwi_model_destroy(mt);
  free(wav);
  free(dobs);
  free(grad);
  return 0;
}
