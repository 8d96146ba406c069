/* A finite-difference peer for the time-to-accuracy problem of issue 16
 * (scripts/bench_accuracy.py states it): what a standard explicit FD code
 * (Deepwave's scalar propagator is one: 2nd order in time, order 4 or 8 in
 * space, a convolutional PML after Pasalic and McGarry 2010) takes to reach
 * 1 %, 0.2 % and 0.05 % on this machine, since Deepwave itself cannot be
 * installed here. Not psfwi code, and not Deepwave: an experiment.
 *
 * The problem: (1/v^2) p_tt - lap p = w(t) delta(x - xs), v = 2000 m/s on
 * [0, 3000]^2 m (the PML outside), source at (1500, 1500) m, 10 Hz Ricker
 * delayed 0.15 s, receivers at (1800, 1500) m and 455 m along the diagonal
 * (off the grid: 8-point Lagrange interpolation per axis), records 0..1.6 s
 * at dt_out; error: relative L2 of both traces against the exact solution
 * (the 2-D Green's function convolved with w, Simpson's rule).
 *
 * Scheme: p^{n+1} = 2 p^n - p^{n-1} + (v dt)^2 (L p^n + w(t_n) delta_h),
 * delta_h = 1/h^2 at the source node (on the grid for every h that divides
 * 300 m), L the centred order-2M Laplacian, nsub steps of dt = dt_out / nsub
 * per recorded sample; the wavelet is evaluated exactly at every step (the
 * peer's best case). PML (W nodes per side, R = 1e-3, d ~ s^2, alpha = pi
 * f (1 - s/L)): d2/dx~2 p = p_xx + d/dx psi_x + zeta_x with
 * psi_x = b psi_x + a p_x and zeta_x = b zeta_x + a (p_xx + d/dx psi_x),
 * b = exp(-(d + alpha) dt), a = d (b - 1) / (d + alpha); the same along z.
 * Single precision, one thread; the interior is one vectorisable sweep, the
 * PML terms a pass over the strips.
 *
 *   cc -O3 -march=native -std=c11 fd_peer.c -o fd_peer -lm
 *   ./fd_peer H DT_OUT NSUB ORDER W [REPEATS]
 * prints one line: h dt_out nsub order W cfl cells steps error seconds
 * (seconds: the median propagation time of REPEATS runs, default 3). */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../accuracy_problem.h"

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: %s H DT_OUT NSUB ORDER(4|8) W [REPEATS]\n", argv[0]);
    return 2;
  }
  const double h = atof(argv[1]), dt_out = atof(argv[2]);
  const int nsub = atoi(argv[3]), order = atoi(argv[4]), W = atoi(argv[5]);
  const int reps = argc > 6 ? atoi(argv[6]) : 3;
  const int M = order / 2;
  if ((order != 4 && order != 8) || nsub < 1 || W < 1 || !(h > 0) || !(dt_out > 0) ||
      fabs(3000.0 / h - round(3000.0 / h)) > 1e-9 || fabs(300.0 / h - round(300.0 / h)) > 1e-9) {
    fprintf(stderr, "fd_peer: bad arguments (h must divide 300 m; order 4 or 8)\n");
    return 2;
  }
  static const double c2_4[3] = {-5.0 / 2.0, 4.0 / 3.0, -1.0 / 12.0};
  static const double c2_8[5] = {-205.0 / 72.0, 8.0 / 5.0, -1.0 / 5.0, 8.0 / 315.0, -1.0 / 560.0};
  static const double c1_4[3] = {0.0, 2.0 / 3.0, -1.0 / 12.0};
  static const double c1_8[5] = {0.0, 4.0 / 5.0, -1.0 / 5.0, 4.0 / 105.0, -1.0 / 280.0};
  const double *c2 = order == 4 ? c2_4 : c2_8, *c1 = order == 4 ? c1_4 : c1_8;
  const int N = (int)round(LDOM / h) + 1, NT = N + 2 * W + 2 * M, off = W + M;
  const double dt = dt_out / nsub;
  const int K = (int)floor(TMAX / dt_out + 1e-9); /* samples 0..K */
  const long nstep = (long)K * nsub;
  const float s2 = (float)(V * V * dt * dt / (h * h)); /* (v dt / h)^2 */
  float C2[5], C1[5];
  for (int k = 0; k <= M; k++) {
    C2[k] = (float)c2[k];
    C1[k] = (float)c1[k];
  }
  /* PML profiles per padded index along one axis (same for x and z) */
  float *ap = calloc((size_t)NT, sizeof(float)), *bp = calloc((size_t)NT, sizeof(float));
  const double Lp = W * h, d0 = 3.0 * V * log(1.0 / 1e-3) / (2.0 * Lp);
  for (int i = 0; i < NT; i++) {
    double s = 0.0; /* distance into the PML (m) */
    if (i < off) s = (off - i) * h;
    if (i > off + N - 1) s = (i - (off + N - 1)) * h;
    if (s > Lp) s = Lp;
    if (s <= 0.0) {
      bp[i] = 1.0f;
      continue;
    }
    const double d = d0 * (s / Lp) * (s / Lp), al = M_PI * F * (1.0 - s / Lp);
    const double b = exp(-(d + al) * dt);
    bp[i] = (float)b;
    ap[i] = (float)(d / (d + al) * (b - 1.0));
  }
  const size_t n2 = (size_t)NT * NT;
  float *p0 = malloc(n2 * sizeof(float)), *p1 = malloc(n2 * sizeof(float));
  float *psx = malloc(n2 * sizeof(float)), *psz = malloc(n2 * sizeof(float));
  float *zex = malloc(n2 * sizeof(float)), *zez = malloc(n2 * sizeof(float));
  float *wav = malloc((size_t)nstep * sizeof(float));
  double *tr = malloc(2 * (size_t)(K + 1) * sizeof(double));
  float *t1 = malloc((size_t)NT * sizeof(float)), *t2 = malloc((size_t)NT * sizeof(float));
  if (!t1 || !t2 || !p1 || !psx || !psz || !zex || !zez || !wav || !tr) {
    fprintf(stderr, "fd_peer: out of memory\n");
    return 1;
  }
  for (long n = 0; n < nstep; n++)
    wav[n] = (float)(V * V * dt * dt * ricker((double)n * dt) / (h * h));
  const int isx = off + (int)round(1500.0 / h), isz = isx;
  const int r1x = off + (int)round(1800.0 / h), r1z = isz;
  const double rd = 1500.0 + 455.0 / sqrt(2.0);
  int i0;
  double wl[8];
  lagrange8(rd / h, &i0, wl);
  const int r2 = off + i0;
  /* the strips: padded indices where a != 0 (plus nothing else) */
  const int lo_end = off, hi_beg = off + N; /* [M, lo_end) and [hi_beg, NT - M) */

  double times[32];
  int nrep = reps < 1 ? 1 : reps > 32 ? 32 : reps;
  for (int rep = 0; rep < nrep; rep++) {
    memset(p0, 0, n2 * sizeof(float));
    memset(p1, 0, n2 * sizeof(float));
    memset(psx, 0, n2 * sizeof(float));
    memset(psz, 0, n2 * sizeof(float));
    memset(zex, 0, n2 * sizeof(float));
    memset(zez, 0, n2 * sizeof(float));
    tr[0] = tr[K + 1] = 0.0;
    const double t0 = now();
    for (long n = 0; n < nstep; n++) {
      /* a) psi = b psi + a p_' on the strips (x: columns, z: rows); the
       * stencil sums run k-outer over contiguous cells (vectorised) */
      for (int iz = M; iz < NT - M; iz++) {
        const float *p = p1 + (size_t)iz * NT;
        float *ps = psx + (size_t)iz * NT;
        for (int part = 0; part < 2; part++) {
          const int a0 = part ? hi_beg : M, a1 = part ? NT - M : lo_end;
          for (int ix = a0; ix < a1; ix++) t1[ix] = 0.0f;
          for (int k = 1; k <= M; k++)
            for (int ix = a0; ix < a1; ix++) t1[ix] += C1[k] * (p[ix + k] - p[ix - k]);
          for (int ix = a0; ix < a1; ix++) ps[ix] = bp[ix] * ps[ix] + ap[ix] * t1[ix];
        }
      }
      for (int part = 0; part < 2; part++) {
        const int a0 = part ? hi_beg : M, a1 = part ? NT - M : lo_end;
        for (int iz = a0; iz < a1; iz++) {
          float *ps = psz + (size_t)iz * NT;
          for (int ix = M; ix < NT - M; ix++) t1[ix] = 0.0f;
          for (int k = 1; k <= M; k++) {
            const float *up = p1 + (size_t)(iz - k) * NT, *dn = p1 + (size_t)(iz + k) * NT;
            for (int ix = M; ix < NT - M; ix++) t1[ix] += C1[k] * (dn[ix] - up[ix]);
          }
          for (int ix = M; ix < NT - M; ix++) ps[ix] = bp[iz] * ps[ix] + ap[iz] * t1[ix];
        }
      }
      /* b) the interior sweep: p0 = 2 p1 - p0 + s2 (p_xx + p_zz) */
      for (int iz = M; iz < NT - M; iz++) {
        float *restrict q = p0 + (size_t)iz * NT;
        const float *restrict p = p1 + (size_t)iz * NT;
        if (M == 4) {
          const float *restrict u1 = p - NT, *restrict u2 = p - 2 * NT, *restrict u3 = p - 3 * NT,
                               *restrict u4 = p - 4 * NT;
          const float *restrict d1 = p + NT, *restrict d2 = p + 2 * NT, *restrict d3 = p + 3 * NT,
                               *restrict d4 = p + 4 * NT;
          for (int ix = M; ix < NT - M; ix++) {
            const float l = 2.0f * C2[0] * p[ix] + C2[1] * (p[ix + 1] + p[ix - 1] + u1[ix] + d1[ix]) +
                            C2[2] * (p[ix + 2] + p[ix - 2] + u2[ix] + d2[ix]) +
                            C2[3] * (p[ix + 3] + p[ix - 3] + u3[ix] + d3[ix]) +
                            C2[4] * (p[ix + 4] + p[ix - 4] + u4[ix] + d4[ix]);
            q[ix] = 2.0f * p[ix] - q[ix] + s2 * l;
          }
        } else {
          const float *restrict u1 = p - NT, *restrict u2 = p - 2 * NT;
          const float *restrict d1 = p + NT, *restrict d2 = p + 2 * NT;
          for (int ix = M; ix < NT - M; ix++) {
            const float l = 2.0f * C2[0] * p[ix] + C2[1] * (p[ix + 1] + p[ix - 1] + u1[ix] + d1[ix]) +
                            C2[2] * (p[ix + 2] + p[ix - 2] + u2[ix] + d2[ix]);
            q[ix] = 2.0f * p[ix] - q[ix] + s2 * l;
          }
        }
      }
      /* c) the PML terms: d/d' psi + zeta, zeta = b zeta + a (p_'' + d/d' psi) */
      for (int iz = M; iz < NT - M; iz++) {
        const float *p = p1 + (size_t)iz * NT, *ps = psx + (size_t)iz * NT;
        float *q = p0 + (size_t)iz * NT, *ze = zex + (size_t)iz * NT;
        for (int part = 0; part < 2; part++) {
          const int a0 = part ? hi_beg : M, a1 = part ? NT - M : lo_end;
          for (int ix = a0; ix < a1; ix++) {
            t1[ix] = C2[0] * p[ix];
            t2[ix] = 0.0f;
          }
          for (int k = 1; k <= M; k++)
            for (int ix = a0; ix < a1; ix++) {
              t1[ix] += C2[k] * (p[ix + k] + p[ix - k]);
              t2[ix] += C1[k] * (ps[ix + k] - ps[ix - k]);
            }
          for (int ix = a0; ix < a1; ix++) {
            ze[ix] = bp[ix] * ze[ix] + ap[ix] * (t1[ix] + t2[ix]);
            q[ix] += s2 * (t2[ix] + ze[ix]);
          }
        }
      }
      for (int part = 0; part < 2; part++) {
        const int a0 = part ? hi_beg : M, a1 = part ? NT - M : lo_end;
        for (int iz = a0; iz < a1; iz++) {
          float *q = p0 + (size_t)iz * NT, *ze = zez + (size_t)iz * NT;
          const float *p = p1 + (size_t)iz * NT;
          for (int ix = M; ix < NT - M; ix++) {
            t1[ix] = C2[0] * p[ix];
            t2[ix] = 0.0f;
          }
          for (int k = 1; k <= M; k++) {
            const float *up = p1 + (size_t)(iz - k) * NT, *dn = p1 + (size_t)(iz + k) * NT;
            const float *su = psz + (size_t)(iz - k) * NT, *sd = psz + (size_t)(iz + k) * NT;
            for (int ix = M; ix < NT - M; ix++) {
              t1[ix] += C2[k] * (dn[ix] + up[ix]);
              t2[ix] += C1[k] * (sd[ix] - su[ix]);
            }
          }
          for (int ix = M; ix < NT - M; ix++) {
            ze[ix] = bp[iz] * ze[ix] + ap[iz] * (t1[ix] + t2[ix]);
            q[ix] += s2 * (t2[ix] + ze[ix]);
          }
        }
      }
      /* d) the source, e) swap and record */
      p0[(size_t)isz * NT + isx] += wav[n];
      float *t = p0;
      p0 = p1;
      p1 = t;
      if ((n + 1) % nsub == 0) {
        const long k = (n + 1) / nsub;
        tr[k] = p1[(size_t)r1z * NT + r1x];
        double s = 0.0;
        for (int a = 0; a < 8; a++)
          for (int b = 0; b < 8; b++) s += wl[a] * wl[b] * p1[(size_t)(r2 + a) * NT + (r2 + b)];
        tr[K + 1 + k] = s;
      }
    }
    times[rep] = now() - t0;
  }
  double num = 0.0, den = 0.0;
  for (int k = 0; k <= K; k++) {
    const double t = k * dt_out;
    const double a = reference(300.0, t, 4000), b = reference(455.0, t, 4000);
    num += (tr[k] - a) * (tr[k] - a) + (tr[K + 1 + k] - b) * (tr[K + 1 + k] - b);
    den += a * a + b * b;
  }
  qsort(times, (size_t)nrep, sizeof(double), cmpd);
  printf("%g %g %d %d %d %.3f %d %ld %.6e %.4f\n", h, dt_out, nsub, order, W, V * dt / h, NT * NT,
         nstep, sqrt(num / den), times[nrep / 2]);
  return 0;
}
