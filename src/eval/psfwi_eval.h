/* psfwi eval: metrics that compare a model against a true model on the same
 * grid. All in double precision over float32 models.
 *  - RMSE and MAE in m/s;
 *  - relative L2 error in %: 100 ||v - v_true||_2 / ||v_true||_2;
 *  - SSIM (Wang et al. 2004): Gaussian 11 x 11 window, sigma 1.5,
 *    C1 = (0.01 L)^2, C2 = (0.03 L)^2, L = max - min of the true model;
 *    the mean of the SSIM map over the positions where the window fits
 *    inside the model (as Wang's reference code and scikit-image do);
 *  - PSNR in dB: 20 log10(L / RMSE) (infinite for identical models). */
#ifndef PSFWI_EVAL_H
#define PSFWI_EVAL_H

#include "psfwi_core.h"

typedef struct psfwi_metrics {
  double rmse, mae; /* m/s */
  double rel_l2;    /* % */
  double ssim;      /* 1 for identical models */
  double psnr;      /* dB; +inf for identical models */
} psfwi_metrics;

/* Both models must be on the same grid (same nx, nz; spacing within 1e-6
 * relative) and at least 11 x 11 points; errors say which differs. */
int psfwi_compare(const psfwi_model *truth, const psfwi_model *m, psfwi_metrics *out,
                  psfwi_error *err);

/* SSIM of two nx x nz arrays (a[iz * nx + ix]) with data range L > 0. */
int psfwi_ssim(const float *a, const float *b, size_t nx, size_t nz, double L, double *ssim,
               psfwi_error *err);

#endif
