/* Operations on velocity models: crop, resample, Gaussian smoothing, clip,
 * water-layer mask. docs/model.md explains the choices; in short:
 *  - smoothing is a separable, sampled, normalised Gaussian truncated at
 *    4 sigma, with replicated edge values, applied as axpy loops over whole
 *    rows so that they vectorise; a mask is handled by normalised
 *    convolution, so masked cells neither change nor leak into their
 *    neighbours;
 *  - resampling low-passes each coarsened axis with a Gaussian of
 *    sigma = 0.5 x the new spacing, then interpolates separably with Keys'
 *    cubic convolution clamped to the two nearest samples (third-order
 *    accurate on smooth models, no overshoot at sharp interfaces). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_model.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Largest Gaussian sigma accepted, in grid spacings (the kernel is computed
 * out to 4 sigma). */
#define MAX_SIGMA_CELLS 1e6

static int check_model_ptr(const psfwi_model *m, const char *what, psfwi_error *err) {
  if (m == NULL || m->vp == NULL) return psfwi_fail(err, PSFWI_EINVAL, "%s: model is NULL", what);
  return psfwi_grid_check(&m->grid, what, err);
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* ---- Sampled Gaussian with replicated edges ---------------------------------
 * Weights w_k = exp(-k^2 / (2 s^2)) / W for |k| <= r = ceil(4 s), with W the
 * sum over |k| <= r (s in grid cells). On a line of n points an offset
 * |k| > n - 1 lands off the line from every point, on an edge value
 * (replication): so only offsets |k| <= kmax = min(r, n - 1) are applied
 * explicitly, and the one-sided weight of the others, tail, multiplies the
 * two edge values. Work is O(n min(r, n)) whatever sigma.
 *
 * The work arrays are float: the sums run with SIMD (omp simd) twice as
 * wide as in double, and their relative rounding error (~1e-6 for
 * hundreds of terms) is far below what a velocity model needs. */
typedef struct {
  size_t r, kmax;
  float *w;   /* w[0..kmax] */
  float tail; /* one-sided weight of offsets kmax+1..r (0 when r <= n - 1) */
} gauss1d;

static void gauss1d_free(gauss1d *g) {
  free(g->w);
  g->w = NULL;
}

/* s in grid cells, 0 <= s <= MAX_SIGMA_CELLS; n >= 1 points on the line. */
static int gauss1d_init(gauss1d *g, double s, size_t n) {
  g->r = s > 0.0 ? (size_t)ceil(4.0 * s) : 0;
  g->kmax = min_size(g->r, n - 1);
  g->w = malloc((g->kmax + 1) * sizeof *g->w);
  if (g->w == NULL) return PSFWI_ENOMEM;
  const double c = s > 0.0 ? -0.5 / (s * s) : 0.0;
  /* Sum from the smallest terms up for accuracy. */
  double total = 0.0, beyond = 0.0; /* beyond: one side, offsets kmax+1..r */
  for (size_t k = g->r; k >= 1; k--) {
    const double e = exp(c * (double)k * (double)k);
    total += 2.0 * e;
    if (k > g->kmax) beyond += e;
  }
  total += 1.0;
  g->w[0] = (float)(1.0 / total); /* not exp(c * 0): c is -inf when s^2 underflows */
  for (size_t k = 1; k <= g->kmax; k++) g->w[k] = (float)(exp(c * (double)k * (double)k) / total);
  g->tail = (float)(beyond / total);
  return PSFWI_OK;
}

/* Filter along x: every row of the nx x nz array in -> out. Each row is
 * copied into a buffer padded with kmax replicated values on both sides
 * (pad: one buffer of nx + 2 kmax floats per thread), then
 *   out[i] = w_0 p[i] + sum_k w_k (p[i - k] + p[i + k]) + tail (in[0] + in[nx-1]),
 * four offsets per sweep to save loads and stores of out. */
static void gauss_rows(const gauss1d *g, const float *in, float *out, size_t nx, size_t nz,
                       float *pad_all) {
  const size_t K = g->kmax, np = nx + 2 * K;
#pragma omp parallel
  {
#ifdef _OPENMP
    float *pad = pad_all + (size_t)omp_get_thread_num() * np;
#else
    float *pad = pad_all;
#endif
#pragma omp for schedule(static)
    for (size_t iz = 0; iz < nz; iz++) {
      const float *restrict src = in + iz * nx;
      float *restrict o = out + iz * nx;
      for (size_t j = 0; j < K; j++) {
        pad[j] = src[0];
        pad[K + nx + j] = src[nx - 1];
      }
      memcpy(pad + K, src, nx * sizeof *pad);
      const float *restrict p = pad + K; /* p[-K .. nx - 1 + K] valid */
      const float w0 = g->w[0], t = g->tail * (src[0] + src[nx - 1]);
#pragma omp simd
      for (size_t i = 0; i < nx; i++) o[i] = w0 * p[i] + t;
      size_t k = 1;
      for (; k + 3 <= K; k += 4) {
        const float w1 = g->w[k], w2 = g->w[k + 1], w3 = g->w[k + 2], w4 = g->w[k + 3];
        const float *restrict a1 = p - k, *restrict b1 = p + k;
        const float *restrict a2 = a1 - 1, *restrict b2 = b1 + 1;
        const float *restrict a3 = a1 - 2, *restrict b3 = b1 + 2;
        const float *restrict a4 = a1 - 3, *restrict b4 = b1 + 3;
#pragma omp simd
        for (size_t i = 0; i < nx; i++)
          o[i] += w1 * (a1[i] + b1[i]) + w2 * (a2[i] + b2[i]) + w3 * (a3[i] + b3[i]) +
                  w4 * (a4[i] + b4[i]);
      }
      for (; k <= K; k++) {
        const float wk = g->w[k];
        const float *restrict a1 = p - k, *restrict b1 = p + k;
#pragma omp simd
        for (size_t i = 0; i < nx; i++) o[i] += wk * (a1[i] + b1[i]);
      }
    }
  }
}

/* Filter along z: out row iz = sum_k w_|k| in row clamp(iz + k), as SIMD
 * axpy over a block of columns (so the 2 kmax + 1 rows stay in cache). */
enum { COL_BLOCK = 512 };

static size_t clamp_index(size_t i, size_t k, int down, size_t n) {
  if (down) return i + k < n ? i + k : n - 1;
  return i >= k ? i - k : 0;
}

static void gauss_cols(const gauss1d *g, const float *in, float *out, size_t nx, size_t nz) {
  const size_t K = g->kmax;
  for (size_t c0 = 0; c0 < nx; c0 += COL_BLOCK) {
    const size_t nb = min_size(COL_BLOCK, nx - c0);
    const float *restrict top = in + c0, *restrict bot = in + (nz - 1) * nx + c0;
#pragma omp parallel for schedule(static)
    for (size_t iz = 0; iz < nz; iz++) {
      float *restrict o = out + iz * nx + c0;
      const float *restrict src = in + iz * nx + c0;
      const float w0 = g->w[0], tl = g->tail;
#pragma omp simd
      for (size_t j = 0; j < nb; j++) o[j] = w0 * src[j] + tl * (top[j] + bot[j]);
      for (size_t k = 1; k <= K; k++) {
        const float wk = g->w[k];
        const float *restrict a1 = in + clamp_index(iz, k, 0, nz) * nx + c0;
        const float *restrict b1 = in + clamp_index(iz, k, 1, nz) * nx + c0;
#pragma omp simd
        for (size_t j = 0; j < nb; j++) o[j] += wk * (a1[j] + b1[j]);
      }
    }
  }
}

/* Work space for gauss_2d on nx x nz: tmp (nx nz floats) and one padded row
 * per thread. */
typedef struct {
  float *tmp, *pad;
} gauss_work;

static int gauss_work_init(gauss_work *w, const gauss1d *gx, size_t nx, size_t nz) {
#ifdef _OPENMP
  const size_t nthreads = (size_t)omp_get_max_threads();
#else
  const size_t nthreads = 1;
#endif
  const size_t kx = gx != NULL ? gx->kmax : 0;
  w->tmp = malloc(nx * nz * sizeof *w->tmp);
  w->pad = malloc(nthreads * (nx + 2 * kx) * sizeof *w->pad);
  return (w->tmp != NULL && w->pad != NULL) ? PSFWI_OK : PSFWI_ENOMEM;
}

static void gauss_work_free(gauss_work *w) {
  free(w->tmp);
  free(w->pad);
  w->tmp = w->pad = NULL;
}

/* Separable 2D filter of a (nx x nz) in place. A NULL kernel or one of
 * radius 0 skips that axis. */
static void gauss_2d(const gauss1d *gx, const gauss1d *gz, float *a, gauss_work *w, size_t nx,
                     size_t nz) {
  if (gx != NULL && gx->r > 0) {
    gauss_rows(gx, a, w->tmp, nx, nz, w->pad);
    memcpy(a, w->tmp, nx * nz * sizeof *a);
  }
  if (gz != NULL && gz->r > 0) {
    gauss_cols(gz, a, w->tmp, nx, nz);
    memcpy(a, w->tmp, nx * nz * sizeof *a);
  }
}

/* ---- Smoothing --------------------------------------------------------------- */
int psfwi_model_smooth(psfwi_model *m, double sigma, int slowness, const unsigned char *mask,
                       psfwi_error *err) {
  int st = check_model_ptr(m, "smooth", err);
  if (st != PSFWI_OK) return st;
  if (!isfinite(sigma) || sigma < 0.0)
    return psfwi_fail(err, PSFWI_ERANGE, "smooth: sigma = %g m; expected finite >= 0", sigma);
  const size_t nx = m->grid.nx, nz = m->grid.nz, n = nx * nz;
  const double sx = sigma / m->grid.dx, sz = sigma / m->grid.dz; /* in cells */
  if (sx > MAX_SIGMA_CELLS || sz > MAX_SIGMA_CELLS)
    return psfwi_fail(err, PSFWI_ERANGE,
                      "smooth: sigma = %g m is %g x dx and %g x dz; expected at most %g grid "
                      "spacings",
                      sigma, sx, sz, MAX_SIGMA_CELLS);
  st = psfwi_model_check(m, "smooth", err); /* finite and > 0, needed for 1/v */
  if (st != PSFWI_OK) return st;
  if (sigma == 0.0) return PSFWI_OK;

  gauss1d gx = {0}, gz = {0};
  gauss_work gw = {0};
  float *a = malloc(n * sizeof *a);
  float *den = mask != NULL ? malloc(n * sizeof *den) : NULL;
  if (a == NULL || (mask != NULL && den == NULL) || gauss1d_init(&gx, sx, nx) != PSFWI_OK ||
      gauss1d_init(&gz, sz, nz) != PSFWI_OK || gauss_work_init(&gw, &gx, nx, nz) != PSFWI_OK) {
    st = psfwi_fail(err, PSFWI_ENOMEM, "smooth: cannot allocate work space for %zu x %zu", nx, nz);
    goto done;
  }
  /* Without a mask: a <- G * u, u = v or 1/v.
   * With a mask (normalised convolution): a <- G * (u c), den <- G * c with
   * c = 0 on masked cells and 1 elsewhere; u_smooth = a / den. den >= w_0x
   * w_0z > 0 on every unmasked cell, since the cell weighs itself. */
  for (size_t i = 0; i < n; i++) {
    const double u = slowness ? 1.0 / (double)m->vp[i] : (double)m->vp[i];
    a[i] = (mask != NULL && mask[i]) ? 0.0f : (float)u;
  }
  gauss_2d(&gx, &gz, a, &gw, nx, nz);
  if (mask != NULL) {
    for (size_t i = 0; i < n; i++) den[i] = mask[i] ? 0.0f : 1.0f;
    gauss_2d(&gx, &gz, den, &gw, nx, nz);
  }
  for (size_t i = 0; i < n; i++) {
    if (mask != NULL && mask[i]) continue;
    const double u = mask != NULL ? (double)a[i] / (double)den[i] : (double)a[i];
    m->vp[i] = (float)(slowness ? 1.0 / u : u);
  }
  st = PSFWI_OK;
done:
  gauss1d_free(&gx);
  gauss1d_free(&gz);
  gauss_work_free(&gw);
  free(a);
  free(den);
  return st;
}

/* ---- Resampling ------------------------------------------------------------------
 * Output point j sits at t = j h' / h input cells. Keys (1981) cubic
 * convolution with a = -1/2 through the samples i-1..i+2 around t
 * (i = floor t, f = t - i):
 *   w_-1 = (-f^3 + 2 f^2 - f) / 2      w_0 = (3 f^3 - 5 f^2 + 2) / 2
 *   w_1  = (-3 f^3 + 4 f^2 + f) / 2    w_2 = (f^3 - f^2) / 2
 * It reproduces quadratics and is third-order accurate. Beyond the ends,
 * Keys' own boundary samples s_-1 = 3 s_0 - 3 s_1 + s_2 (and mirrored at the
 * far end; linear extrapolation when n = 2) keep that accuracy in the first
 * and last intervals; their weights are folded onto the real samples. The
 * result is then clamped between samples i and i+1, which removes the over-
 * and undershoot next to a step (up to 6 % of the jump) at the cost of
 * bilinear-like accuracy at local extrema, and keeps every value within the
 * range of the input. */
typedef struct {
  size_t i[4]; /* samples i-1..i+2, clamped into the line (weight 0 if outside) */
  double w[4];
} taps;

/* Add weight w of the ghost sample at index j (-1 or n) onto real samples;
 * base = i - 1 is the index of slot 0. */
static void fold_ghost(double *acc, long base, long j, double w, long n) {
  const long a = j < 0 ? 0 : n - 1, b = j < 0 ? 1 : n - 2, c = j < 0 ? 2 : n - 3;
  if (n >= 3) {
    acc[a - base] += 3.0 * w;
    acc[b - base] -= 3.0 * w;
    acc[c - base] += w;
  } else { /* n == 2: linear extrapolation */
    acc[a - base] += 2.0 * w;
    acc[b - base] -= w;
  }
}

static void make_taps(taps *tp, size_t nout, size_t nin, double ratio) {
  const long n = (long)nin;
  for (size_t j = 0; j < nout; j++) {
    const double t = (double)j * ratio;
    long i1 = (long)floor(t);
    double f = t - (double)i1;
    if (i1 >= n - 1) { /* last point (or beyond it by rounding) */
      i1 = n - 1;
      f = 0.0;
    }
    const double f2 = f * f, f3 = f2 * f;
    const double w[4] = {0.5 * (-f3 + 2.0 * f2 - f), 0.5 * (3.0 * f3 - 5.0 * f2 + 2.0),
                         0.5 * (-3.0 * f3 + 4.0 * f2 + f), 0.5 * (f3 - f2)};
    double acc[4] = {0.0, 0.0, 0.0, 0.0};
    const long base = i1 - 1;
    for (long k = 0; k < 4; k++) {
      const long idx = base + k;
      if (w[k] == 0.0) continue;
      if (idx >= 0 && idx < n)
        acc[k] += w[k];
      else
        fold_ghost(acc, base, idx, w[k], n); /* only reached with f > 0, so n >= 2 */
    }
    for (long k = 0; k < 4; k++) {
      const long idx = base + k;
      tp[j].i[k] = (size_t)(idx < 0 ? 0 : (idx >= n ? n - 1 : idx));
      tp[j].w[k] = (idx < 0 || idx >= n) ? 0.0 : acc[k];
    }
  }
}

static double clamp_between(double v, double p, double q) {
  const double lo = p < q ? p : q, hi = p < q ? q : p;
  return v < lo ? lo : (v > hi ? hi : v);
}

/* Number of output points along an axis of extent len (m) at spacing h;
 * the last partial interval, if any, is dropped (never extrapolate). */
static double count_points(double len, double h) { return floor(len / h + 1e-6) + 1.0; }

psfwi_model *psfwi_model_resample(const psfwi_model *m, double dx, double dz, psfwi_error *err) {
  if (check_model_ptr(m, "resample", err) != PSFWI_OK) return NULL;
  if (!isfinite(dx) || !isfinite(dz) || !(dx > 0.0) || !(dz > 0.0)) {
    psfwi_fail(err, PSFWI_ERANGE, "resample: new spacing dx = %g m, dz = %g m; expected finite > 0",
               dx, dz);
    return NULL;
  }
  if (psfwi_model_check(m, "resample", err) != PSFWI_OK) return NULL;
  const psfwi_grid *gi = &m->grid;
  const size_t nx = gi->nx, nz = gi->nz;
  const double fnx = count_points((double)(nx - 1) * gi->dx, dx);
  const double fnz = count_points((double)(nz - 1) * gi->dz, dz);
  if (fnx * fnz > 4e9) {
    psfwi_fail(err, PSFWI_ERANGE,
               "resample: spacing dx = %g m, dz = %g m would give %.0f x %.0f points; expected "
               "at most 4e9 in all",
               dx, dz, fnx, fnz);
    return NULL;
  }
  psfwi_grid go = *gi;
  go.nx = (size_t)fnx;
  go.nz = (size_t)fnz;
  go.dx = dx;
  go.dz = dz;
  const size_t mx = go.nx, mz = go.nz;

  psfwi_model *out = psfwi_model_create(&go, err);
  if (out == NULL) return NULL;
  /* Anti-aliasing: a coarsened axis is first low-passed with sigma = half
   * the new spacing (gain exp(-pi^2 / 8) = 0.29 at the new Nyquist
   * wavenumber, < 0.015 at the old one when halving the sampling). The
   * tolerance keeps an unchanged spacing from being smoothed. */
  const int cx = dx > gi->dx * (1.0 + 1e-9), cz = dz > gi->dz * (1.0 + 1e-9);
  gauss1d gx = {0}, gz = {0};
  gauss_work gw = {0};
  float *a = malloc(nx * nz * sizeof *a);
  double *row = malloc(mx * nz * sizeof *row); /* after interpolation along x */
  taps *tx = malloc(mx * sizeof *tx), *tz = malloc(mz * sizeof *tz);
  int ok = a != NULL && row != NULL && tx != NULL && tz != NULL;
  if (ok && cx) ok = gauss1d_init(&gx, 0.5 * dx / gi->dx, nx) == PSFWI_OK;
  if (ok && cz) ok = gauss1d_init(&gz, 0.5 * dz / gi->dz, nz) == PSFWI_OK;
  if (ok && (cx || cz)) ok = gauss_work_init(&gw, cx ? &gx : NULL, nx, nz) == PSFWI_OK;
  if (!ok) {
    psfwi_fail(err, PSFWI_ENOMEM, "resample: cannot allocate work space for %zu x %zu -> %zu x %zu",
               nx, nz, mx, mz);
    psfwi_model_destroy(out);
    out = NULL;
    goto done;
  }
  memcpy(a, m->vp, nx * nz * sizeof *a);
  if (cx || cz) gauss_2d(cx ? &gx : NULL, cz ? &gz : NULL, a, &gw, nx, nz);

  make_taps(tx, mx, nx, dx / gi->dx);
  make_taps(tz, mz, nz, dz / gi->dz);
  /* Along x, row by row. */
  for (size_t iz = 0; iz < nz; iz++) {
    const float *s = a + iz * nx;
    double *o = row + iz * mx;
    for (size_t j = 0; j < mx; j++) {
      const taps *t = &tx[j];
      const double s0 = s[t->i[0]], s1 = s[t->i[1]], s2 = s[t->i[2]], s3 = s[t->i[3]];
      const double v = t->w[0] * s0 + t->w[1] * s1 + t->w[2] * s2 + t->w[3] * s3;
      o[j] = clamp_between(v, s1, s2);
    }
  }
  /* Along z, as a combination of 4 rows. */
  for (size_t j = 0; j < mz; j++) {
    const taps *t = &tz[j];
    const double *r0 = row + t->i[0] * mx, *r1 = row + t->i[1] * mx;
    const double *r2 = row + t->i[2] * mx, *r3 = row + t->i[3] * mx;
    float *o = out->vp + j * mx;
    for (size_t i = 0; i < mx; i++) {
      const double v = t->w[0] * r0[i] + t->w[1] * r1[i] + t->w[2] * r2[i] + t->w[3] * r3[i];
      o[i] = (float)clamp_between(v, r1[i], r2[i]);
    }
  }
done:
  gauss1d_free(&gx);
  gauss1d_free(&gz);
  gauss_work_free(&gw);
  free(a);
  free(row);
  free(tx);
  free(tz);
  return out;
}

/* ---- Crop ------------------------------------------------------------------------
 * Grid points within [x0, x1] x [z0, z1] (1e-6 cell tolerance for rounding),
 * i.e. bounds snapped inwards to the grid. The window must lie inside the
 * model's extent: a window that reaches beyond it is an error rather than
 * silently clamped. */
static int crop_axis(const char *axis, double a, double b, double origin, double h, size_t n,
                     size_t *i0, size_t *i1, psfwi_error *err) {
  const double tol = 1e-6;
  const double end = origin + (double)(n - 1) * h;
  if (!isfinite(a) || !isfinite(b) || a > b)
    return psfwi_fail(err, PSFWI_ERANGE, "crop: %s window [%g, %g] m; expected finite %s0 <= %s1",
                      axis, a, b, axis, axis);
  const double fa = (a - origin) / h, fb = (b - origin) / h;
  if (fa < -tol || fb > (double)(n - 1) + tol)
    return psfwi_fail(err, PSFWI_ERANGE,
                      "crop: %s window [%g, %g] m is not inside the model's %s range [%g, %g] m",
                      axis, a, b, axis, origin, end);
  const double ca = ceil(fa - tol), fl = floor(fb + tol);
  if (ca > fl)
    return psfwi_fail(err, PSFWI_ERANGE,
                      "crop: %s window [%g, %g] m contains no grid point (spacing %g m)", axis, a,
                      b, h);
  *i0 = ca > 0.0 ? (size_t)ca : 0;
  *i1 = min_size((size_t)fl, n - 1);
  return PSFWI_OK;
}

psfwi_model *psfwi_model_crop(const psfwi_model *m, double x0, double x1, double z0, double z1,
                              psfwi_error *err) {
  if (check_model_ptr(m, "crop", err) != PSFWI_OK) return NULL;
  const psfwi_grid *g = &m->grid;
  size_t ix0, ix1, iz0, iz1;
  if (crop_axis("x", x0, x1, g->x0, g->dx, g->nx, &ix0, &ix1, err) != PSFWI_OK) return NULL;
  if (crop_axis("z", z0, z1, g->z0, g->dz, g->nz, &iz0, &iz1, err) != PSFWI_OK) return NULL;
  psfwi_grid go = *g;
  go.nx = ix1 - ix0 + 1;
  go.nz = iz1 - iz0 + 1;
  go.x0 = g->x0 + (double)ix0 * g->dx;
  go.z0 = g->z0 + (double)iz0 * g->dz;
  psfwi_model *out = psfwi_model_create(&go, err);
  if (out == NULL) return NULL;
  for (size_t iz = 0; iz < go.nz; iz++)
    memcpy(out->vp + iz * go.nx, m->vp + (iz0 + iz) * g->nx + ix0, go.nx * sizeof *out->vp);
  return out;
}

/* ---- Clip ------------------------------------------------------------------------ */
int psfwi_model_clip(psfwi_model *m, double vmin, double vmax, psfwi_error *err) {
  int st = check_model_ptr(m, "clip", err);
  if (st != PSFWI_OK) return st;
  if (!isfinite(vmin) || !isfinite(vmax) || !(vmin > 0.0) || !(vmin < vmax))
    return psfwi_fail(err, PSFWI_ERANGE,
                      "clip: bounds [%g, %g] m/s; expected finite 0 < vmin < vmax", vmin, vmax);
  const size_t nx = m->grid.nx, n = nx * m->grid.nz;
  for (size_t i = 0; i < n; i++) /* a NaN cannot be clipped: refuse before changing anything */
    if (!isfinite(m->vp[i]))
      return psfwi_fail(err, PSFWI_ENONFINITE,
                        "clip: velocity at (ix = %zu, iz = %zu) is %g; expected a finite value",
                        i % nx, i / nx, (double)m->vp[i]);
  /* Bounds as floats inside [vmin, vmax] (a double bound may fall between
   * two floats). */
  float lo = (float)vmin, hi = (float)vmax;
  if ((double)lo < vmin) lo = nextafterf(lo, INFINITY);
  if ((double)hi > vmax) hi = nextafterf(hi, -INFINITY);
  for (size_t i = 0; i < n; i++) {
    if (m->vp[i] < lo) m->vp[i] = lo;
    if (m->vp[i] > hi) m->vp[i] = hi;
  }
  return PSFWI_OK;
}

/* ---- Water-layer mask -------------------------------------------------------------- */
int psfwi_model_water_mask(const psfwi_model *m, double v_water, double tol, unsigned char *mask,
                           size_t *count, psfwi_error *err) {
  int st = check_model_ptr(m, "water mask", err);
  if (st != PSFWI_OK) return st;
  if (mask == NULL) return psfwi_fail(err, PSFWI_EINVAL, "water mask: mask array is NULL");
  if (!isfinite(v_water) || !(v_water > 0.0))
    return psfwi_fail(err, PSFWI_ERANGE, "water mask: v_water = %g m/s; expected finite > 0",
                      v_water);
  if (!isfinite(tol) || tol < 0.0)
    return psfwi_fail(err, PSFWI_ERANGE, "water mask: tol = %g m/s; expected finite >= 0", tol);
  const size_t nx = m->grid.nx, nz = m->grid.nz;
  memset(mask, 0, nx * nz);
  size_t c = 0;
  for (size_t ix = 0; ix < nx; ix++)
    for (size_t iz = 0; iz < nz; iz++) {
      const double v = (double)m->vp[iz * nx + ix];
      if (!(fabs(v - v_water) <= tol)) break; /* also stops at NaN */
      mask[iz * nx + ix] = 1;
      c++;
    }
  if (count != NULL) *count = c;
  return PSFWI_OK;
}
