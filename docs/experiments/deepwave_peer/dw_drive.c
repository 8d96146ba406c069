/* A C driver for Deepwave's 2-D scalar forward kernel, so that the peer of
 * issue 16 is measured here although Deepwave's Python package cannot be
 * installed (no PyPI). Not psfwi code; Deepwave's own source is not in this
 * repository: README.md beside this file says which files of which commit
 * to compile and how (Deepwave's CMakeLists flags).
 *
 * The driver calls `scalar_iso_2d_{4,8}_float_forward_cpu` (the C ABI that
 * Deepwave's Python calls through ctypes) and does what Deepwave's Python
 * does before the call: pads the model by pml_width + fd_pad cells per side,
 * builds the C-PML profiles (R = 1e-3, power 2, alpha0 = pi pml_freq,
 * a = exp(-(sigma + alpha) dt), b = sigma / (sigma + alpha) (a - 1), a = 0
 * outside the layer, dbdx = the same-order derivative of b) and the
 * pml_y0/y1/x0/x1 bounds of its region split. The problem, wavelet, source
 * term v^2 dt^2 w(t) / h^2, receivers (the diagonal one by 8 x 8 Lagrange
 * weights over 64 recorded nodes) and error are those of
 * ../fd_peer/fd_peer.c; the wavelet is evaluated exactly at every internal
 * step (Deepwave's Python would resample it by FFT).
 *
 *   dw_drive acc H DT_OUT NSUB ORDER W PML_FREQ [REPEATS]
 *     prints: h dt_out nsub order W cfl cells steps error seconds
 *     (seconds: median kernel time of REPEATS runs, default 3)
 *   dw_drive speed NX NZ ORDER STEPS [REPEATS]     (PML 20 cells, 4 m, 0.5 ms)
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KARGS                                                                  \
  float const *, float const *, float *, float *, float *, float *, float *,   \
      float *, float *, float *, float *, float *, float const *,              \
      float const *, float const *, float const *, float const *,              \
      float const *, int64_t const *, int64_t const *, float, float, float,    \
      float, float, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,      \
      int64_t, bool, bool, int64_t, int64_t, int64_t, int64_t, int64_t,       \
      int64_t
void scalar_iso_2d_4_float_forward_cpu(KARGS);
void scalar_iso_2d_8_float_forward_cpu(KARGS);

#include "../accuracy_problem.h"

/* common.setup_pml + diff (accuracy order, zero padded) */
static void profiles(int n, int fd_pad, int W, double h, double dt, double vmax,
                     double pml_freq, int order, float *a, float *b, float *db) {
  const double max_pml = W * h, sigma0 = -(1 + 2) * vmax * log(1e-3) / (2 * max_pml);
  const double alpha0 = M_PI * pml_freq;
  const double s0 = fd_pad + W, s1 = n - 1 - fd_pad - W;
  double *bd = calloc((size_t)n + 8, sizeof(double));
  for (int i = 0; i < n; i++) {
    double f0 = (s0 - i) / W, f1 = (i - s1) / W, fr = f0 > f1 ? f0 : f1;
    if (fr < 0) fr = 0;
    if (fr > 1) fr = 1;
    const double sg = sigma0 * fr * fr, al = alpha0 * (1 - fr), sa = sg + al;
    const double av = exp(-sa * dt), bv = sg / sa * (av - 1);
    a[i] = fr == 0 ? 0.0f : (float)av;
    b[i] = (float)bv; /* sg = 0 there: b = 0 */
    bd[i] = (double)b[i];
  }
  static const double c4[3] = {0, 8.0 / 12.0, -1.0 / 12.0};
  static const double c8[5] = {0, 4.0 / 5.0, -1.0 / 5.0, 4.0 / 105.0, -1.0 / 280.0};
  const int M = order / 2;
  for (int i = 0; i < n; i++) {
    double s = 0.0;
    for (int k = 1; k <= M; k++) {
      const double up = i + k < n ? bd[i + k] : 0.0, dn = i - k >= 0 ? bd[i - k] : 0.0;
      s += (order == 4 ? c4[k] : c8[k]) * (up - dn);
    }
    db[i] = (float)(s / h);
  }
  free(bd);
}

typedef struct {
  int ny, nx, fd_pad, W, order;
  float *v, *wfc, *wfp, *psiy, *psix, *psiyn, *psixn, *zetay, *zetax, *dwdv;
  float *ay, *by, *dby, *ax, *bx, *dbx;
} grid;

static void grid_init(grid *g, int ny, int nx, int order, int W, double h, double dt,
                      double pml_freq) {
  g->order = order;
  g->fd_pad = order / 2;
  g->W = W;
  g->ny = ny + 2 * (W + g->fd_pad);
  g->nx = nx + 2 * (W + g->fd_pad);
  const size_t n2 = (size_t)g->ny * g->nx;
  float **f[] = {&g->v, &g->wfc, &g->wfp, &g->psiy, &g->psix, &g->psiyn, &g->psixn, &g->zetay, &g->zetax};
  for (size_t k = 0; k < sizeof f / sizeof *f; k++) *f[k] = calloc(n2, sizeof(float));
  g->dwdv = calloc(1, sizeof(float));
  for (size_t i = 0; i < n2; i++) g->v[i] = (float)V;
  g->ay = calloc((size_t)g->ny, 4); g->by = calloc((size_t)g->ny, 4); g->dby = calloc((size_t)g->ny, 4);
  g->ax = calloc((size_t)g->nx, 4); g->bx = calloc((size_t)g->nx, 4); g->dbx = calloc((size_t)g->nx, 4);
  profiles(g->ny, g->fd_pad, W, h, dt, V, pml_freq, order, g->ay, g->by, g->dby);
  profiles(g->nx, g->fd_pad, W, h, dt, V, pml_freq, order, g->ax, g->bx, g->dbx);
}

static void grid_zero(grid *g) {
  const size_t n2 = (size_t)g->ny * g->nx * sizeof(float);
  memset(g->wfc, 0, n2); memset(g->wfp, 0, n2); memset(g->psiy, 0, n2); memset(g->psix, 0, n2);
  memset(g->psiyn, 0, n2); memset(g->psixn, 0, n2); memset(g->zetay, 0, n2); memset(g->zetax, 0, n2);
}

/* Deepwave's scalar.py: pml_y0 = min(W + 2 fd_pad, ny - fd_pad), ... */
static void run(grid *g, double h, double dt, const float *f, const int64_t *src, int nrec,
                const int64_t *rec, float *r, int64_t nt) {
  const int64_t fp = g->fd_pad, ny = g->ny, nx = g->nx, W = g->W;
  int64_t y0 = W + 2 * fp < ny - fp ? W + 2 * fp : ny - fp;
  int64_t y1 = ny - W - 2 * fp > y0 ? ny - W - 2 * fp : y0;
  int64_t x0 = W + 2 * fp < nx - fp ? W + 2 * fp : nx - fp;
  int64_t x1 = nx - W - 2 * fp > x0 ? nx - W - 2 * fp : x0;
  const float rd = (float)(1.0 / h), rd2 = (float)(1.0 / (h * h)), dt2 = (float)(dt * dt);
  (g->order == 4 ? scalar_iso_2d_4_float_forward_cpu : scalar_iso_2d_8_float_forward_cpu)(
      g->v, f, g->wfc, g->wfp, g->psiy, g->psix, g->psiyn, g->psixn, g->zetay, g->zetax, g->dwdv, r,
      g->ay, g->by, g->dby, g->ax, g->bx, g->dbx, src, rec, rd, rd, rd2, rd2, dt2, nt, 1, ny, nx, 1,
      nrec, 1, false, false, 0, y0, x0, y1, x1, 1);
}

int main(int argc, char **argv) {
  if (argc >= 8 && !strcmp(argv[1], "acc")) {
    const double h = atof(argv[2]), dt_out = atof(argv[3]), pf = atof(argv[7]);
    const int nsub = atoi(argv[4]), order = atoi(argv[5]), W = atoi(argv[6]);
    const int reps = argc > 8 ? atoi(argv[8]) : 3;
    if ((order != 4 && order != 8) || nsub < 1 || W < 1 || fabs(300.0 / h - round(300.0 / h)) > 1e-9) {
      fprintf(stderr, "dw_drive: bad arguments\n");
      return 2;
    }
    const int N = (int)round(LDOM / h) + 1, M = order / 2, off = W + M;
    const double dt = dt_out / nsub;
    const int K = (int)floor(TMAX / dt_out + 1e-9);
    const int64_t nstep = (int64_t)K * nsub;
    grid g;
    grid_init(&g, N, N, order, W, h, dt, pf);
    const int64_t NT = g.nx;
    float *f = malloc((size_t)(nstep + 1) * sizeof(float));
    for (int64_t n = 0; n <= nstep; n++) f[n] = (float)(V * V * dt * dt * ricker((double)n * dt) / (h * h));
    const int isx = off + (int)round(1500.0 / h), r1x = off + (int)round(1800.0 / h);
    int64_t src = (int64_t)isx * NT + isx;
    const double rdg = 1500.0 + 455.0 / sqrt(2.0);
    int i0;
    double wl[8];
    lagrange8(rdg / h, &i0, wl);
    const int r2 = off + i0, nrec = 65;
    int64_t rec[65];
    rec[0] = (int64_t)isx * NT + r1x;
    for (int a = 0; a < 8; a++)
      for (int b = 0; b < 8; b++) rec[1 + a * 8 + b] = (int64_t)(r2 + a) * NT + (r2 + b);
    float *r = malloc((size_t)(nstep + 1) * nrec * sizeof(float));
    double times[32];
    const int nrep = reps < 1 ? 1 : reps > 32 ? 32 : reps;
    for (int rep = 0; rep < nrep; rep++) {
      grid_zero(&g);
      const double t0 = now();
      run(&g, h, dt, f, &src, nrec, rec, r, nstep + 1);
      times[rep] = now() - t0;
    }
    /* r[t] is the field at time t dt (recorded before step t's update);
     * sample k is t = k nsub (k = 0 .. K; one extra step records t = nstep) */
    double num = 0.0, den = 0.0;
    for (int k = 0; k <= K; k++) {
      const int64_t t = (int64_t)k * nsub;
      double a1 = 0.0, a2 = 0.0;
      {
        a1 = r[t * nrec];
        for (int a = 0; a < 8; a++)
          for (int b = 0; b < 8; b++) a2 += wl[a] * wl[b] * r[t * nrec + 1 + a * 8 + b];
      }
      const double ra = reference(300.0, k * dt_out, 4000), rb = reference(455.0, k * dt_out, 4000);
      num += (a1 - ra) * (a1 - ra) + (a2 - rb) * (a2 - rb);
      den += ra * ra + rb * rb;
    }
    qsort(times, (size_t)nrep, sizeof(double), cmpd);
    printf("%g %g %d %d %d %.3f %ld %ld %.6e %.4f\n", h, dt_out, nsub, order, W, V * dt / h,
           (long)(g.ny * g.nx), (long)nstep, sqrt(num / den), times[nrep / 2]);
    return 0;
  }
  if (argc >= 6 && !strcmp(argv[1], "speed")) {
    const int nx = atoi(argv[2]), nz = atoi(argv[3]), order = atoi(argv[4]);
    const int64_t steps = atol(argv[5]);
    const int reps = argc > 6 ? atoi(argv[6]) : 5;
    const double h = 4.0, dt = 0.0005;
    grid g;
    grid_init(&g, nz, nx, order, 20, h, dt, 10.0);
    float *f = calloc((size_t)steps, sizeof(float));
    f[0] = 1.0f;
    int64_t src = (int64_t)(g.ny / 2) * g.nx + g.nx / 2, rec = src + 10;
    float *r = calloc((size_t)steps, sizeof(float));
    double times[32];
    const int nrep = reps < 1 ? 1 : reps > 32 ? 32 : reps;
    for (int rep = 0; rep < nrep; rep++) {
      grid_zero(&g);
      const double t0 = now();
      run(&g, h, dt, f, &src, 1, &rec, r, steps);
      times[rep] = now() - t0;
    }
    qsort(times, (size_t)nrep, sizeof(double), cmpd);
    const double t = times[nrep / 2];
    printf("deepwave order %d %d x %d (padded %d x %d): %.4f s per %ld steps, %.1f Mcell/s model, %.1f padded\n",
           order, nx, nz, g.nx, g.ny, t, (long)steps, 1e-6 * nx * nz * steps / t,
           1e-6 * (double)g.nx * g.ny * steps / t);
    return 0;
  }
  fprintf(stderr, "usage: dw_drive acc H DT_OUT NSUB ORDER W PML_FREQ [REPEATS] | speed NX NZ ORDER STEPS [REPEATS]\n");
  return 2;
}
