/* The source wavelet: its maximum frequency, and band-limited resampling to
 * the internal time step (with the source half of the k-space correction). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <fftw3.h>

#include "wave_internal.h"

static const double PI = 3.14159265358979323846;

/* Ricker amplitude spectrum (f/fp)^2 exp(1 - (f/fp)^2) relative to its peak at
 * f = 2.5 fp: the threshold that defines fmax. */
#define FMAX_LEVEL 0.03279683

int psfwi_wave_fmax(const float *w, size_t nt, double dt, double *fmax, psfwi_error *err) {
  if (w == NULL || nt < 2 || !(dt > 0.0) || !isfinite(dt))
    return psfwi_fail(err, PSFWI_EINVAL,
                      "wavelet of %zu samples at dt = %g s; expected >= 2 samples, dt > 0", nt, dt);
  for (size_t i = 0; i < nt; i++)
    if (!isfinite(w[i]))
      return psfwi_fail(err, PSFWI_ENONFINITE, "wavelet sample %zu is not finite", i);
  const size_t n = psfwi_fft_size(8 * nt), nh = n / 2 + 1;
  float *in = fftwf_malloc(n * sizeof(float));
  fftwf_complex *out = fftwf_malloc(nh * sizeof(fftwf_complex));
  if (!in || !out) {
    fftwf_free(in);
    fftwf_free(out);
    return psfwi_fail(err, PSFWI_ENOMEM, "cannot allocate %zu samples", n);
  }
  fftwf_make_planner_thread_safe();
  fftwf_plan p = fftwf_plan_dft_r2c_1d((int)n, in, out, FFTW_ESTIMATE);
  if (p == NULL) {
    fftwf_free(in);
    fftwf_free(out);
    return psfwi_fail(err, PSFWI_EINTERNAL, "FFTW could not plan a transform of %zu", n);
  }
  memset(in, 0, n * sizeof(float));
  memcpy(in, w, nt * sizeof(float));
  fftwf_execute(p);
  double amax = 0.0;
  for (size_t k = 0; k < nh; k++) {
    const double a = hypot((double)out[k][0], (double)out[k][1]);
    if (a > amax) amax = a;
  }
  int st = PSFWI_OK;
  if (!(amax > 0.0)) {
    st = psfwi_fail(err, PSFWI_EINVAL, "the wavelet is zero: no maximum frequency");
  } else {
    const double lev = FMAX_LEVEL * amax;
    size_t k = nh - 1;
    while (k > 0 && hypot((double)out[k][0], (double)out[k][1]) < lev) k--;
    double kk = (double)k;
    if (k + 1 < nh) { /* interpolate the crossing between bins k and k + 1 */
      const double a0 = hypot((double)out[k][0], (double)out[k][1]);
      const double a1 = hypot((double)out[k + 1][0], (double)out[k + 1][1]);
      if (a0 > a1) kk += (a0 - lev) / (a0 - a1);
    }
    *fmax = kk / ((double)n * dt);
  }
  fftwf_destroy_plan(p);
  fftwf_free(in);
  fftwf_free(out);
  return st;
}

int psfwi_wave_resample(const psfwi_wave *w, const float *wavelet, size_t nt, float *out,
                        psfwi_error *err) {
  const psfwi_wave_info *info = &w->info;
  const size_t nsub = info->nsub;
  if (wavelet == NULL || nt < 1)
    return psfwi_fail(err, PSFWI_EINVAL, "wavelet of %zu samples; expected >= 1", nt);
  for (size_t i = 0; i < nt; i++)
    if (!isfinite(wavelet[i]))
      return psfwi_fail(err, PSFWI_ENONFINITE, "wavelet sample %zu is not finite", i);
  const int ks = info->scheme == PSFWI_WAVE_KSPACE;
  if (nsub == 1 && !ks) {
    memcpy(out, wavelet, nt * sizeof(float));
    return PSFWI_OK;
  }
  /* Zero-pad to twice the length (no wrap-around), filter and zero-pad the
   * spectrum by nsub: exact band-limited interpolation of the samples. */
  const size_t n = psfwi_fft_size(2 * nt + 16), nh = n / 2 + 1;
  const size_t nf = n * nsub, nfh = nf / 2 + 1;
  float *a = fftwf_malloc(nf * sizeof(float));
  fftwf_complex *spec = fftwf_malloc(nfh * sizeof(fftwf_complex));
  fftwf_plan pf = NULL, pi = NULL;
  int st = PSFWI_OK;
  if (!a || !spec) {
    st = psfwi_fail(err, PSFWI_ENOMEM, "cannot allocate %zu samples for resampling", nf);
    goto done;
  }
  fftwf_make_planner_thread_safe();
  pf = fftwf_plan_dft_r2c_1d((int)n, a, spec, FFTW_ESTIMATE);
  pi = fftwf_plan_dft_c2r_1d((int)nf, spec, a, FFTW_ESTIMATE);
  if (!pf || !pi) {
    st = psfwi_fail(err, PSFWI_EINTERNAL, "FFTW could not plan a transform of %zu", nf);
    goto done;
  }
  memset(a, 0, nf * sizeof(float));
  memcpy(a, wavelet, nt * sizeof(float));
  fftwf_execute(pf);
  for (size_t k = 0; k < nh; k++) {
    double s = 1.0 / (double)n;
    if (ks && k > 0) {
      const double x = 2.0 * PI * (double)k / ((double)n * info->dt_out) * info->dt;
      s *= sin(x) / x;
    }
    if (k == n / 2 && nsub > 1) s *= 0.5; /* split the Nyquist bin between +-f */
    spec[k][0] = (float)((double)spec[k][0] * s);
    spec[k][1] = (float)((double)spec[k][1] * s);
  }
  for (size_t k = nh; k < nfh; k++) spec[k][0] = spec[k][1] = 0.0f;
  fftwf_execute(pi);
  memcpy(out, a, nt * nsub * sizeof(float));
done:
  if (pf) fftwf_destroy_plan(pf);
  if (pi) fftwf_destroy_plan(pi);
  fftwf_free(a);
  fftwf_free(spec);
  return st;
}
