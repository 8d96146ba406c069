/* Least-squares (Wiener) source-wavelet estimation (Pratt 1999), the
 * survey-data issue: docs/gradient.md ("Source estimation"). */
#include <complex.h>
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "invert_internal.h"

/* The smallest 2^a 3^b 5^c >= n (FFTW is fastest on such lengths). */
static size_t good_size(size_t n) {
  for (size_t m = n;; m++) {
    size_t r = m;
    while (r % 2 == 0) r /= 2;
    while (r % 3 == 0) r /= 3;
    while (r % 5 == 0) r /= 5;
    if (r == 1) return m;
  }
}

int psfwi_source_estimate(size_t ntrace, size_t nt, const float *syn, const float *obs,
                          const unsigned char *live, const float *w0, double eps, float *w,
                          psfwi_source_info *info, psfwi_error *err) {
  static const char who[] = "source estimation";
  if (ntrace < 1 || nt < 2 || syn == NULL || obs == NULL || w0 == NULL || w == NULL)
    return psfwi_fail(err, PSFWI_EINVAL, "%s: %zu traces of %zu samples (expected >= 1 and >= 2)",
                      who, ntrace, nt);
  if (!(eps >= 0.0) || !isfinite(eps))
    return psfwi_fail(err, PSFWI_ERANGE, "%s: eps = %g; expected finite and >= 0", who, eps);
  for (size_t k = 0; k < ntrace * nt; k++)
    if (!isfinite(syn[k]) || !isfinite(obs[k]))
      return psfwi_fail(err, PSFWI_ENONFINITE, "%s: %s trace %zu, sample %zu is not finite", who,
                        isfinite(syn[k]) ? "observed" : "modelled", k / nt, k % nt);
  /* 2 nt points: the products of two nt-sample spectra do not wrap around */
  const size_t n = good_size(2 * nt), nf = n / 2 + 1;
  float *buf = fftwf_alloc_real(n);
  fftwf_complex *S = fftwf_alloc_complex(nf), *D = fftwf_alloc_complex(nf);
  double complex *num = calloc(nf, sizeof *num);
  double *den = calloc(nf, sizeof *den);
  fftwf_plan fs = NULL, fd = NULL, back = NULL;
  int st = PSFWI_OK;
  if (buf == NULL || S == NULL || D == NULL || num == NULL || den == NULL) {
    st = psfwi_fail(err, PSFWI_ENOMEM, "%s: out of memory (%zu-point transforms)", who, n);
    goto done;
  }
  fftwf_make_planner_thread_safe();
  fs = fftwf_plan_dft_r2c_1d((int)n, buf, S, FFTW_ESTIMATE);
  fd = fftwf_plan_dft_r2c_1d((int)n, buf, D, FFTW_ESTIMATE);
  back = fftwf_plan_dft_c2r_1d((int)n, S, buf, FFTW_ESTIMATE);
  if (fs == NULL || fd == NULL || back == NULL) {
    st = psfwi_fail(err, PSFWI_EINTERNAL, "%s: FFTW could not plan %zu points", who, n);
    goto done;
  }
  double e_obs = 0.0; /* |d|^2 over the live traces */
  size_t nlive = 0;
  for (size_t k = 0; k < ntrace; k++) {
    if (live != NULL && !live[k]) continue;
    nlive++;
    memset(buf, 0, n * sizeof *buf);
    memcpy(buf, syn + k * nt, nt * sizeof *buf);
    fftwf_execute(fs);
    memset(buf, 0, n * sizeof *buf);
    memcpy(buf, obs + k * nt, nt * sizeof *buf);
    fftwf_execute(fd);
    for (size_t j = 0; j < nt; j++) e_obs += (double)obs[k * nt + j] * obs[k * nt + j];
    for (size_t f = 0; f < nf; f++) {
      const double complex s = (double)crealf(S[f]) + I * (double)cimagf(S[f]);
      const double complex d = (double)crealf(D[f]) + I * (double)cimagf(D[f]);
      num[f] += conj(s) * d;
      den[f] += creal(s) * creal(s) + cimag(s) * cimag(s);
    }
  }
  if (nlive == 0) {
    st = psfwi_fail(err, PSFWI_EINVAL, "%s: no live trace among %zu", who, ntrace);
    goto done;
  }
  double dmax = 0.0;
  for (size_t f = 0; f < nf; f++) dmax = den[f] > dmax ? den[f] : dmax;
  if (!(dmax > 0.0)) {
    st = psfwi_fail(err, PSFWI_EINVAL, "%s: the modelled traces are all zero", who);
    goto done;
  }
  /* F = num / (den + eps max den); the residual sum_k |d_k - F s_k|^2 over
   * the padded window, by Parseval (weights 1 at DC and Nyquist, 2 else):
   * |d|^2 - (2 Re(conj(F) num) - |F|^2 den) / n per frequency */
  const double reg = eps * dmax;
  double e_fit = 0.0;
  memset(buf, 0, n * sizeof *buf);
  memcpy(buf, w0, nt * sizeof *buf);
  fftwf_execute_dft_r2c(fs, buf, S);
  for (size_t f = 0; f < nf; f++) {
    const double q = den[f] + reg;
    const double complex F = q > 0.0 ? num[f] / q : 0.0;
    const double wt = (f == 0 || (n % 2 == 0 && f == nf - 1)) ? 1.0 : 2.0;
    /* |d - F s|^2 summed over traces = sum |d|^2 - 2 Re(conj(F) num) + |F|^2 den */
    e_fit += wt * (2.0 * creal(conj(F) * num[f]) - creal(F * conj(F)) * den[f]) / (double)n;
    const double complex s = (double)crealf(S[f]) + I * (double)cimagf(S[f]);
    const double complex y = F * s / (double)n;
    S[f] = (float)creal(y) + I * (float)cimag(y);
  }
  fftwf_execute(back);
  memcpy(w, buf, nt * sizeof *w);
  if (info != NULL) {
    info->live = nlive;
    info->obs_energy = e_obs;
    info->residual_energy = e_obs - e_fit;
  }
done:
  if (fs) fftwf_destroy_plan(fs);
  if (fd) fftwf_destroy_plan(fd);
  if (back) fftwf_destroy_plan(back);
  fftwf_free(buf);
  fftwf_free(S);
  fftwf_free(D);
  free(num);
  free(den);
  return st;
}
