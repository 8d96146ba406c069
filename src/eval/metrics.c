#include <math.h>
#include <stdlib.h>

#include "psfwi_eval.h"

enum { SSIM_RADIUS = 5, SSIM_WIN = 2 * SSIM_RADIUS + 1 };

/* Separable Gaussian filter over the 'valid' region: out has
 * (nx - 10) x (nz - 10) points. tmp holds (nx - 10) x nz values. */
static void gauss_valid(const double *in, size_t nx, size_t nz, const double *w, double *tmp,
                        double *out) {
  const size_t ox = nx - 2 * SSIM_RADIUS, oz = nz - 2 * SSIM_RADIUS;
  for (size_t iz = 0; iz < nz; iz++)
    for (size_t ix = 0; ix < ox; ix++) {
      double s = 0.0;
      for (size_t k = 0; k < SSIM_WIN; k++) s += w[k] * in[iz * nx + ix + k];
      tmp[iz * ox + ix] = s;
    }
  for (size_t iz = 0; iz < oz; iz++)
    for (size_t ix = 0; ix < ox; ix++) {
      double s = 0.0;
      for (size_t k = 0; k < SSIM_WIN; k++) s += w[k] * tmp[(iz + k) * ox + ix];
      out[iz * ox + ix] = s;
    }
}

int psfwi_ssim(const float *a, const float *b, size_t nx, size_t nz, double L, double *ssim,
               psfwi_error *err) {
  if (nx < SSIM_WIN || nz < SSIM_WIN)
    return psfwi_fail(err, PSFWI_ERANGE, "SSIM needs at least %d x %d points; got %zu x %zu",
                      SSIM_WIN, SSIM_WIN, nx, nz);
  if (!(L > 0.0) || !isfinite(L))
    return psfwi_fail(err, PSFWI_ERANGE,
                      "SSIM data range L = %g; expected > 0 (is the true model constant?)", L);
  double w[SSIM_WIN], wsum = 0.0;
  for (int k = 0; k < SSIM_WIN; k++) {
    const double d = (double)(k - SSIM_RADIUS);
    w[k] = exp(-d * d / (2.0 * 1.5 * 1.5));
    wsum += w[k];
  }
  for (int k = 0; k < SSIM_WIN; k++) w[k] /= wsum;

  const size_t n = nx * nz, ox = nx - 2 * SSIM_RADIUS, oz = nz - 2 * SSIM_RADIUS, no = ox * oz;
  double *in = malloc(5 * n * sizeof *in);
  double *tmp = malloc(ox * nz * sizeof *tmp);
  double *f = malloc(5 * no * sizeof *f);
  if (!in || !tmp || !f) {
    free(in), free(tmp), free(f);
    return psfwi_fail(err, PSFWI_ENOMEM, "SSIM: cannot allocate work space for %zu points", n);
  }
  for (size_t i = 0; i < n; i++) {
    const double x = a[i], y = b[i];
    in[i] = x;
    in[n + i] = y;
    in[2 * n + i] = x * x;
    in[3 * n + i] = y * y;
    in[4 * n + i] = x * y;
  }
  for (int q = 0; q < 5; q++) gauss_valid(in + (size_t)q * n, nx, nz, w, tmp, f + (size_t)q * no);
  const double c1 = (0.01 * L) * (0.01 * L), c2 = (0.03 * L) * (0.03 * L);
  double sum = 0.0;
  for (size_t i = 0; i < no; i++) {
    const double mx = f[i], my = f[no + i];
    const double vx = f[2 * no + i] - mx * mx, vy = f[3 * no + i] - my * my;
    const double cxy = f[4 * no + i] - mx * my;
    sum += ((2.0 * mx * my + c1) * (2.0 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
  }
  *ssim = sum / (double)no;
  free(in), free(tmp), free(f);
  return PSFWI_OK;
}

int psfwi_compare(const psfwi_model *truth, const psfwi_model *m, psfwi_metrics *out,
                  psfwi_error *err) {
  const psfwi_grid *gt = &truth->grid, *gm = &m->grid;
  if (gt->nx != gm->nx || gt->nz != gm->nz)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "models differ in size: true model is %zu x %zu (nx x nz), model is "
                      "%zu x %zu; resample or crop first",
                      gt->nx, gt->nz, gm->nx, gm->nz);
  if (fabs(gt->dx - gm->dx) > 1e-6 * gt->dx || fabs(gt->dz - gm->dz) > 1e-6 * gt->dz)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "models differ in spacing: true model dx = %g, dz = %g m, model dx = %g, "
                      "dz = %g m",
                      gt->dx, gt->dz, gm->dx, gm->dz);
  const size_t n = psfwi_grid_size(gt);
  double se = 0.0, ae = 0.0, nt = 0.0;
  float lo, hi;
  psfwi_model_range(truth, &lo, &hi);
  for (size_t i = 0; i < n; i++) {
    const double d = (double)m->vp[i] - (double)truth->vp[i];
    se += d * d;
    ae += fabs(d);
    nt += (double)truth->vp[i] * (double)truth->vp[i];
  }
  out->rmse = sqrt(se / (double)n);
  out->mae = ae / (double)n;
  out->rel_l2 = nt > 0.0 ? 100.0 * sqrt(se / nt) : INFINITY;
  const double L = (double)hi - (double)lo;
  out->psnr = out->rmse > 0.0 ? 20.0 * log10((L > 0.0 ? L : (double)hi) / out->rmse) : INFINITY;
  if (L > 0.0) return psfwi_ssim(truth->vp, m->vp, gt->nx, gt->nz, L, &out->ssim, err);
  /* A constant true model has no data range: SSIM is undefined. */
  out->ssim = NAN;
  return PSFWI_OK;
}
