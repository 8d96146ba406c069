/* Benchmark (not a test): the cost of each model penalty's value and
 * gradient, and of each proximal operator, against one classical FWI
 * gradient on the Marmousi configuration (configs/marmousi_fwi.ini: 231 x 76
 * cells of 40 m, 14 shots of 231 receivers, 4 s at 4 ms, 5 Hz Ricker,
 * 20-cell PML, absorbing top). Target (regularization issue): each
 * penalty's value + gradient at most 5 % of one gradient.
 *
 *   bench_regularize [MODEL.nc [START.nc]] [--reps N]
 *
 * MODEL.nc / START.nc: the true and starting models (models/marmousi_40m.nc,
 * models/marmousi_40m_start.nc from scripts/make_models.sh); without them a
 * smooth synthetic of the same size (layered, 1500-4500 m/s) and its
 * smoothed copy. Threads as OMP_NUM_THREADS. Weights: 1 under auto_scale
 * (factors from this gradient); prox step: FISTA's first, 150 m/s over the
 * gradient's largest value. Gradients are timed 3 times,
 * every penalty and prox N times (default 21) interleaved with the others,
 * and medians are printed with their ratio to the median gradient. Each
 * prox's result is also compared with the same prox run to 0.01 m/s (RMS
 * and largest distance, m/s); the "plain" rows are the splitting without
 * momentum (psfwi_reg_prox_opts.accelerate = 0). */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_stats.h"
#include "psfwi_core.h"
#include "psfwi_invert.h"
#include "psfwi_io.h"
#include "psfwi_model.h"
#include "psfwi_regularize.h"
#include "psfwi_wave.h"

static void die(const psfwi_error *e) {
  fprintf(stderr, "bench_regularize: %s\n", e->msg);
  exit(1);
}

enum { NT = 1001, NSHOT = 14, NREC = 231, MAXREP = 201 };

/* d[0], d[1]: RMS and largest distance between a and b */
static void distance(size_t n, const double *a, const double *b, double d[2]) {
  double s2 = 0.0, mx = 0.0;
  for (size_t i = 0; i < n; i++) {
    s2 += (a[i] - b[i]) * (a[i] - b[i]);
    mx = fmax(mx, fabs(a[i] - b[i]));
  }
  d[0] = sqrt(s2 / (double)n);
  d[1] = mx;
}
static const double DT = 0.004;

typedef struct term {
  const char *name;
  psfwi_reg r;
} term;

int main(int argc, char **argv) {
  const char *paths[2] = {NULL, NULL};
  int np = 0, reps = 21;
  for (int a = 1; a < argc; a++) {
    if (strcmp(argv[a], "--reps") == 0 && a + 1 < argc)
      reps = atoi(argv[++a]);
    else if (np < 2)
      paths[np++] = argv[a];
  }
  if (reps < 1 || reps > MAXREP) reps = 21;
  psfwi_error e;
  psfwi_model *mt = NULL, *m0 = NULL;
  if (paths[0]) {
    if ((mt = psfwi_nc_read_model(paths[0], NULL, &e)) == NULL) die(&e);
    if (paths[1] && (m0 = psfwi_nc_read_model(paths[1], NULL, &e)) == NULL) die(&e);
  } else {
    const psfwi_grid g = {.nx = 231, .nz = 76, .dx = 40.0, .dz = 40.0};
    if ((mt = psfwi_model_create(&g, &e)) == NULL) die(&e);
    for (size_t iz = 0; iz < g.nz; iz++)
      for (size_t ix = 0; ix < g.nx; ix++)
        mt->vp[iz * g.nx + ix] = (float)(1500.0 + 3000.0 * (double)iz / 75.0 +
                                         200.0 * sin((double)ix / 9.0 + (double)iz));
  }
  if (m0 == NULL && ((m0 = psfwi_model_copy(mt, &e)) == NULL ||
                     psfwi_model_smooth(m0, 400.0, 1, NULL, &e) != PSFWI_OK))
    die(&e);
  const size_t nx = mt->grid.nx, nz = mt->grid.nz, n = nx * nz;
  psfwi_wave_opts o;
  psfwi_wave_opts_defaults(&o);
  o.fmax = 12.5;
  o.boundary_cells = 20;
  o.vmin_bound = 1450.0;
  o.vmax_bound = 5600.0;
  psfwi_wave *w = psfwi_wave_create(m0, DT, &o, &e);
  if (w == NULL) die(&e);
  psfwi_survey *s =
      psfwi_survey_create_line(200.0, 680.0, NSHOT, 20.0, 0.0, 40.0, NREC, 20.0, 0, &e);
  if (s == NULL) die(&e);
  float *wav = malloc(NT * sizeof *wav), *dobs = malloc((size_t)NSHOT * NREC * NT * sizeof *dobs);
  double *grad = malloc(n * sizeof *grad), *acc = malloc(n * sizeof *acc);
  double *u = malloc(n * sizeof *u), *lo = malloc(n * sizeof *lo), *hi = malloc(n * sizeof *hi);
  if (!wav || !dobs || !grad || !acc || !u || !lo || !hi) return 1;
  if (psfwi_ricker(5.0, 0.3, DT, NT, wav, &e) != PSFWI_OK) die(&e);
  if (psfwi_wave_model_shots(w, mt, s, wav, NT, dobs, NULL, &e) != PSFWI_OK) die(&e);
  psfwi_misfit_opts mo;
  psfwi_misfit_opts_defaults(&mo);
  psfwi_misfit *mf = psfwi_misfit_create(&mo, NT, DT, &e);
  psfwi_gradient_ws *gws =
      mf ? psfwi_gradient_ws_create(w, s, NT, PSFWI_GRADIENT_WANT_GRAD, NULL, &e) : NULL;
  if (gws == NULL) die(&e);
  double tg[3], J = 0.0;
  for (int k = 0; k < 3; k++) {
    const double t0 = psfwi_seconds();
    if (psfwi_gradient_ws_eval(gws, m0, wav, dobs, mf, NULL, &J, grad, NULL, NULL, NULL, &e))
      die(&e);
    tg[k] = psfwi_seconds() - t0;
  }
  const double g_med = bench_median(tg, 3);

  /* the terms one by one, as psfwi fwi sets them up (weights do not change
   * the cost; the prior is the starting model) */
  psfwi_reg_ws *ws = psfwi_reg_ws_create(nx, nz, &e);
  if (ws == NULL) die(&e);
  psfwi_reg base;
  psfwi_reg_init(&base, &mt->grid);
  base.ws = ws;
  base.tv_eps = 0.01;
  base.norm_eps = 10.0;
  base.prior_model = m0->vp;
  base.norm_ref = m0->vp;
  base.ksupport_k = 2;
  enum { NTERM = 12 };
  term t[NTERM];
  const char *names[NTERM] = {"tikhonov", "tv isotropic", "tv anisotropic", "l2",
                              "l1",       "group cols",   "nuclear",        "ksupport k=2",
                              "all nine", "tv + l1",      "all nine plain", "tv + l1 plain"};
  for (int k = 0; k < NTERM; k++) {
    t[k].name = names[k];
    t[k].r = base;
  }
  t[0].r.tikhonov = 1;
  t[1].r.tv = 1;
  t[2].r.tv = 1;
  t[2].r.tv_kind = PSFWI_REG_TV_ANISOTROPIC;
  t[3].r.prior = 1;
  t[4].r.l1 = 1;
  t[5].r.group = 1;
  t[6].r.nuclear = 1;
  t[7].r.ksupport = 1;
  t[8].r.tikhonov = t[8].r.tv = t[8].r.prior = t[8].r.l1 = t[8].r.group = t[8].r.nuclear = 1;
  t[8].r.ksupport = 1;
  t[9].r.tv = t[9].r.l1 = 1;
  t[10].r = t[8].r; /* the same, by the splitting without momentum */
  t[11].r = t[9].r;
  /* realistic weights and step: every weight 1 under auto_scale (the
   * factors from this gradient, normalised as psfwi fwi's), and the prox step
   * of FISTA's first iteration, t = 150 m/s / max |g| (marmousi_fwi.ini's
   * step) */
  for (size_t i = 0; i < n; i++) grad[i] /= J;
  double gmax = 0.0, fac[PSFWI_REG_NSCALE];
  for (size_t i = 0; i < n; i++) gmax = fmax(gmax, fabs(grad[i]));
  psfwi_reg all = t[8].r;
  all.tv_kind = PSFWI_REG_TV_ISOTROPIC;
  if (psfwi_reg_auto_scale(&all, grad, 150.0, fac, &e) != PSFWI_OK) die(&e);
  psfwi_reg aniso = t[2].r;
  double fac_a[PSFWI_REG_NSCALE];
  if (psfwi_reg_auto_scale(&aniso, grad, 150.0, fac_a, &e) != PSFWI_OK) die(&e);
  for (int k = 0; k < NTERM; k++) psfwi_reg_apply_scale(&t[k].r, k == 2 ? fac_a : fac);
  const double tstep = 150.0 / gmax;
  /* a model between start and truth: no term at a kink or at zero */
  float *m = malloc(n * sizeof *m);
  if (m == NULL) return 1;
  for (size_t i = 0; i < n; i++) m[i] = 0.5f * (m0->vp[i] + mt->vp[i]);
  static double te[NTERM][MAXREP], tp[NTERM][MAXREP];
  psfwi_reg_prox_info pinfo[NTERM];
  psfwi_reg_prox_opts popt; /* psfwi fwi's defaults (psfwi_fwi_opts_defaults) */
  psfwi_fwi_opts fo;
  psfwi_fwi_opts_defaults(&fo);
  popt = fo.prox;
  if (getenv("BENCH_PROX_TOL")) popt.tol = atof(getenv("BENCH_PROX_TOL"));
  if (getenv("BENCH_TV_TOL")) popt.tv.tol = atof(getenv("BENCH_TV_TOL"));
  if (getenv("BENCH_TV_ITER")) popt.tv.max_iter = (size_t)atoi(getenv("BENCH_TV_ITER"));
  psfwi_reg_prox_opts pplain = popt;
  pplain.accelerate = 0;
  /* the proxes' inputs: a gradient step from m, within the Marmousi run's
   * bounds */
  double *u0 = malloc(n * sizeof *u0), *ref = malloc(2 * n * sizeof *ref);
  if (!u0 || !ref) return 1;
  for (size_t i = 0; i < n; i++) {
    u0[i] = (double)m[i] - tstep * grad[i];
    lo[i] = 1450.0;
    hi[i] = 5600.0;
  }
  static double dist[NTERM][2]; /* RMS and largest distance to a tight prox */
  for (int k = 0; k < NTERM; k++) {
    /* reference: the accelerated splitting run to 0.01 m/s (the plain rows
     * share their accelerated twin's) */
    psfwi_reg pr = t[k].r;
    pr.proximal = 1;
    if (psfwi_reg_prox_count(&pr) == 0) continue;
    double *rf = ref + (k == 9 || k == 11) * n; /* tv + l1's: the second half */
    if (k < 10) {
      psfwi_reg_prox_opts tight = popt;
      tight.tol = tight.tv.tol = 0.01;
      tight.max_iter = 5000;
      tight.tv.max_iter = 5000;
      psfwi_reg_prox_info ri;
      const double t0 = psfwi_seconds();
      memcpy(rf, u0, n * sizeof *rf);
      if (psfwi_reg_prox(&pr, tstep, lo, hi, &tight, rf, &ri, &e) != PSFWI_OK) die(&e);
      fprintf(stderr, "bench_regularize: %s: reference in %zu iterations, %.1f s%s\n", t[k].name,
              ri.iter, psfwi_seconds() - t0, ri.converged ? "" : " (not converged)");
    }
    memcpy(u, u0, n * sizeof *u);
    if (psfwi_reg_prox(&pr, tstep, lo, hi, k >= 10 ? &pplain : &popt, u, NULL, &e) != PSFWI_OK)
      die(&e);
    distance(n, u, rf, dist[k]);
  }
  /* the splittings' accuracy against their iteration limit (tol 0: each
   * runs to the limit), for the two sums of several terms */
  printf("splitting to its limit: RMS / largest distance to the tight prox (m/s), time (ms)\n");
  printf("%-16s %6s %28s %28s\n", "term", "limit", "accelerated", "plain");
  const size_t limits[] = {10, 20, 30, 50, 100, 200};
  for (int k = 8; k < 10; k++)
    for (size_t l = 0; l < sizeof limits / sizeof *limits; l++) {
      psfwi_reg pr = t[k].r;
      pr.proximal = 1;
      double d[2][3];
      for (int v = 0; v < 2; v++) {
        psfwi_reg_prox_opts lim = v ? pplain : popt;
        lim.tol = 0.0;
        lim.max_iter = limits[l];
        memcpy(u, u0, n * sizeof *u);
        const double t0 = psfwi_seconds();
        if (psfwi_reg_prox(&pr, tstep, lo, hi, &lim, u, NULL, &e) != PSFWI_OK) die(&e);
        d[v][2] = psfwi_seconds() - t0;
        distance(n, u, ref + (k == 9) * n, d[v]);
      }
      printf("%-16s %6zu %9.3g / %7.3g %8.0f %9.3g / %7.3g %8.0f\n", t[k].name, limits[l], d[0][0],
             d[0][1], 1e3 * d[0][2], d[1][0], d[1][1], 1e3 * d[1][2]);
    }
  for (int rep = 0; rep < reps; rep++)
    for (int k = 0; k < NTERM; k++) {
      memset(acc, 0, n * sizeof *acc);
      double v;
      double t0 = psfwi_seconds();
      if (psfwi_reg_eval(&t[k].r, m, &v, acc, &e) != PSFWI_OK) die(&e);
      te[k][rep] = psfwi_seconds() - t0;
      /* the prox of the same term (k = 0, 3: smooth, no prox) within the
       * bounds of the Marmousi run; "all nine": the splitting of six */
      psfwi_reg pr = t[k].r;
      pr.proximal = 1;
      memcpy(u, u0, n * sizeof *u);
      t0 = psfwi_seconds();
      if (psfwi_reg_prox(&pr, tstep, lo, hi, k >= 10 ? &pplain : &popt, u, &pinfo[k], &e) !=
          PSFWI_OK)
        die(&e);
      tp[k][rep] = psfwi_seconds() - t0;
    }
  printf(
      "bench_regularize: %zu x %zu cells, %d shots x %d receivers, %d samples; gradient median "
      "%.3f s (of 3); penalties and proxes: medians of %d\n",
      nx, nz, NSHOT, NREC, NT, g_med, reps);
  printf("prox options: splitting tol %g m/s, max_iter %zu; TV prox tol %g m/s, max_iter %zu\n",
         popt.tol, popt.max_iter, popt.tv.tol, popt.tv.max_iter);
  printf("%-16s %14s %12s %14s %12s %10s %22s\n", "term", "value+grad ms", "/ gradient", "prox ms",
         "/ gradient", "splitting", "to tight prox rms/max");
  for (int k = 0; k < NTERM; k++) {
    const double a = bench_median(te[k], reps), b = bench_median(tp[k], reps);
    printf("%-16s %14.3f %11.3f%% %14.3f %11.3f%% %10zu %10.3g %10.3g\n", t[k].name, 1e3 * a,
           100.0 * a / g_med, 1e3 * b, 100.0 * b / g_med, pinfo[k].iter, dist[k][0], dist[k][1]);
  }
  psfwi_reg_ws_destroy(ws);
  psfwi_gradient_ws_destroy(gws);
  psfwi_misfit_destroy(mf);
  psfwi_survey_destroy(s);
  psfwi_wave_destroy(w);
  psfwi_model_destroy(mt);
  psfwi_model_destroy(m0);
  free(wav);
  free(dobs);
  free(grad);
  free(acc);
  free(u);
  free(lo);
  free(hi);
  free(m);
  free(u0);
  free(ref);
  return 0;
}
