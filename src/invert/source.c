/* Least-squares (Wiener) source-wavelet estimation (Pratt 1999), the
 * survey-data issue: docs/gradient.md ("Source estimation"). */
#include <complex.h>
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "invert_internal.h"

static const double PI = 3.14159265358979323846;

size_t psfwi_source_nsum(size_t nt) { return 3 * (psfwi_fft_size(2 * nt) / 2 + 1) + 2; }

int psfwi_source_sums(size_t ntrace, size_t nt, const float *syn, const float *obs,
                      const unsigned char *live, double *sums, psfwi_error *err) {
  static const char who[] = "source estimation";
  if (nt < 2 || (ntrace > 0 && (syn == NULL || obs == NULL)) || sums == NULL)
    return psfwi_fail(err, PSFWI_EINVAL, "%s: %zu traces of %zu samples (expected >= 2)", who,
                      ntrace, nt);
  const size_t n = psfwi_fft_size(2 * nt), nf = n / 2 + 1;
  memset(sums, 0, psfwi_source_nsum(nt) * sizeof *sums);
  for (size_t k = 0; k < ntrace * nt; k++)
    if (!isfinite(syn[k]) || !isfinite(obs[k]))
      return psfwi_fail(err, PSFWI_ENONFINITE, "%s: %s trace %zu, sample %zu is not finite", who,
                        isfinite(syn[k]) ? "observed" : "modelled", k / nt, k % nt);
  if (ntrace == 0) return PSFWI_OK;
  /* 2 nt points: the products of two nt-sample spectra do not wrap around */
  float *buf = fftwf_alloc_real(n);
  fftwf_complex *S = fftwf_alloc_complex(nf), *D = fftwf_alloc_complex(nf);
  fftwf_plan fs = NULL, fd = NULL;
  int st = PSFWI_OK;
  if (buf == NULL || S == NULL || D == NULL) {
    st = psfwi_fail(err, PSFWI_ENOMEM, "%s: out of memory (%zu-point transforms)", who, n);
    goto done;
  }
  fftwf_make_planner_thread_safe();
  fs = fftwf_plan_dft_r2c_1d((int)n, buf, S, FFTW_ESTIMATE);
  fd = fftwf_plan_dft_r2c_1d((int)n, buf, D, FFTW_ESTIMATE);
  if (fs == NULL || fd == NULL) {
    st = psfwi_fail(err, PSFWI_EINTERNAL, "%s: FFTW could not plan %zu points", who, n);
    goto done;
  }
  double *nre = sums, *nim = sums + nf, *den = sums + 2 * nf;
  for (size_t k = 0; k < ntrace; k++) {
    if (live != NULL && !live[k]) continue;
    sums[3 * nf + 1] += 1.0;
    memset(buf, 0, n * sizeof *buf);
    memcpy(buf, syn + k * nt, nt * sizeof *buf);
    fftwf_execute(fs);
    memset(buf, 0, n * sizeof *buf);
    memcpy(buf, obs + k * nt, nt * sizeof *buf);
    fftwf_execute(fd);
    for (size_t j = 0; j < nt; j++) sums[3 * nf] += (double)obs[k * nt + j] * obs[k * nt + j];
    for (size_t f = 0; f < nf; f++) {
      const double sr = crealf(S[f]), si = cimagf(S[f]), dr = crealf(D[f]), di = cimagf(D[f]);
      nre[f] += sr * dr + si * di; /* conj(S) D */
      nim[f] += sr * di - si * dr;
      den[f] += sr * sr + si * si;
    }
  }
done:
  if (fs) fftwf_destroy_plan(fs);
  if (fd) fftwf_destroy_plan(fd);
  fftwf_free(buf);
  fftwf_free(S);
  fftwf_free(D);
  return st;
}

int psfwi_source_apply(size_t nt, const double *sums, const float *w0, double eps,
                       const psfwi_filter *band, float *w, psfwi_source_info *info,
                       psfwi_error *err) {
  static const char who[] = "source estimation";
  if (nt < 2 || sums == NULL || w0 == NULL || w == NULL)
    return psfwi_fail(err, PSFWI_EINVAL, "%s: no sums or wavelet", who);
  if (!(eps >= 0.0) || !isfinite(eps))
    return psfwi_fail(err, PSFWI_ERANGE, "%s: eps = %g; expected finite and >= 0", who, eps);
  const size_t n = psfwi_fft_size(2 * nt), nf = n / 2 + 1;
  const double *nre = sums, *nim = sums + nf, *den = sums + 2 * nf;
  if (!(sums[3 * nf + 1] > 0.0)) return psfwi_fail(err, PSFWI_EINVAL, "%s: no live trace", who);
  double dmax = 0.0;
  for (size_t f = 0; f < nf; f++) dmax = den[f] > dmax ? den[f] : dmax;
  if (!(dmax > 0.0))
    return psfwi_fail(err, PSFWI_EINVAL, "%s: the modelled traces are all zero", who);
  float *buf = fftwf_alloc_real(n);
  fftwf_complex *S = fftwf_alloc_complex(nf);
  double *resp = band ? malloc(nf * sizeof *resp) : NULL;
  fftwf_plan fw = NULL, back = NULL;
  int st = PSFWI_OK;
  if (buf == NULL || S == NULL || (band && resp == NULL)) {
    st = psfwi_fail(err, PSFWI_ENOMEM, "%s: out of memory (%zu-point transforms)", who, n);
    goto done;
  }
  fftwf_make_planner_thread_safe();
  fw = fftwf_plan_dft_r2c_1d((int)n, buf, S, FFTW_ESTIMATE);
  back = fftwf_plan_dft_c2r_1d((int)n, S, buf, FFTW_ESTIMATE);
  if (fw == NULL || back == NULL) {
    st = psfwi_fail(err, PSFWI_EINTERNAL, "%s: FFTW could not plan %zu points", who, n);
    goto done;
  }
  if (band) { /* the band filter's amplitude response: its impulse response's spectrum */
    memset(buf, 0, n * sizeof *buf);
    buf[n / 2] = 1.0f;
    if ((st = psfwi_filter_apply(band, 1, n, buf, err)) != PSFWI_OK) goto done;
    fftwf_execute(fw);
    /* the full correction wherever the band keeps a tenth of the amplitude
     * (a half correction at the corner would leave a misfit there that the
     * band's iterations would fit by moving the model) */
    for (size_t f = 0; f < nf; f++) {
      const double r = 10.0 * hypot(crealf(S[f]), cimagf(S[f]));
      resp[f] = r > 1.0 ? 1.0 : r;
    }
  }
  /* F = num / (den + eps max den) (blended with 1 by the band's response);
   * the residual sum_k |d_k - F s_k|^2 over the padded window, by Parseval
   * (weights 1 at DC and Nyquist, 2 else): |d|^2 - (2 Re(conj(F) num) -
   * |F|^2 den) / n per frequency */
  const double reg = eps * dmax;
  double e_fit = 0.0;
  memset(buf, 0, n * sizeof *buf);
  memcpy(buf, w0, nt * sizeof *buf);
  fftwf_execute(fw);
  for (size_t f = 0; f < nf; f++) {
    const double q = den[f] + reg;
    const double complex num = nre[f] + I * nim[f];
    double complex F = q > 0.0 ? num / q : 0.0;
    if (band) F = 1.0 + resp[f] * (F - 1.0);
    const double wt = (f == 0 || (n % 2 == 0 && f == nf - 1)) ? 1.0 : 2.0;
    e_fit += wt * (2.0 * creal(conj(F) * num) - creal(F * conj(F)) * den[f]) / (double)n;
    const double complex s = (double)crealf(S[f]) + I * (double)cimagf(S[f]);
    const double complex y = F * s / (double)n;
    S[f] = (float)creal(y) + I * (float)cimag(y);
  }
  fftwf_execute(back);
  for (size_t i = 0; i < nt; i++)
    if (!isfinite(buf[i])) {
      st = psfwi_fail(err, PSFWI_ENONFINITE, "%s: the estimate is not finite", who);
      goto done;
    }
  memcpy(w, buf, nt * sizeof *w);
  if (info != NULL) {
    info->live = (size_t)sums[3 * nf + 1];
    info->obs_energy = sums[3 * nf];
    info->residual_energy = sums[3 * nf] - e_fit;
  }
done:
  if (fw) fftwf_destroy_plan(fw);
  if (back) fftwf_destroy_plan(back);
  fftwf_free(buf);
  fftwf_free(S);
  free(resp);
  return st;
}

int psfwi_source_estimate(size_t ntrace, size_t nt, const float *syn, const float *obs,
                          const unsigned char *live, const float *w0, double eps, float *w,
                          psfwi_source_info *info, psfwi_error *err) {
  if (ntrace < 1 || nt < 2 || syn == NULL || obs == NULL || w0 == NULL || w == NULL)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "source estimation: %zu traces of %zu samples (expected >= 1 and >= 2)",
                      ntrace, nt);
  if (!(eps >= 0.0) || !isfinite(eps))
    return psfwi_fail(err, PSFWI_ERANGE, "source estimation: eps = %g; expected finite and >= 0",
                      eps);
  double *sums = malloc(psfwi_source_nsum(nt) * sizeof *sums);
  if (sums == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "source estimation: out of memory");
  int st = psfwi_source_sums(ntrace, nt, syn, obs, live, sums, err);
  if (st == PSFWI_OK) {
    st = psfwi_source_apply(nt, sums, w0, eps, NULL, w, info, err);
    if (st != PSFWI_OK && strstr(err->msg, "no live") != NULL)
      psfwi_fail(err, PSFWI_EINVAL, "source estimation: no live trace among %zu", ntrace);
  }
  free(sums);
  return st;
}

/* ---- The direct wave (a start for the estimate) ----------------------------------- */
/* acosh(x / T) and sqrt(x^2 - T^2) for x >= T (0 below): the primitives of
 * 1 / sqrt(x^2 - T^2) and x / sqrt(x^2 - T^2). */
static double prim_a(double x, double T) { return x > T ? acosh(x / T) : 0.0; }
static double prim_b(double x, double T) { return x > T ? sqrt((x - T) * (x + T)) : 0.0; }

/* k[m] = int G(tau) hat_m(tau) dtau, m < nt: the 2-D Green's function
 * G = 1 / (2 pi sqrt(tau^2 - T^2)) (tau > T) against the hat function of
 * sample m (exact for a piecewise-linear wavelet), times sign, added. */
static void green_kernel(double T, double dt, size_t nt, double sign, double *k) {
  for (size_t m = 0; m < nt; m++) {
    const double tm = (double)m * dt, lo = tm - dt, hi = tm + dt;
    double v = 0.0;
    if (m > 0 && tm > T) { /* rising half on [lo, tm] */
      const double ia = prim_a(tm, T) - prim_a(lo, T), ib = prim_b(tm, T) - prim_b(lo, T);
      v += (ib - lo * ia) / dt;
    }
    if (hi > T) { /* falling half on [tm, hi] */
      const double ia = prim_a(hi, T) - prim_a(tm, T), ib = prim_b(hi, T) - prim_b(tm, T);
      v += (hi * ia - ib) / dt;
    }
    k[m] += sign * v / (2.0 * PI);
  }
}

int psfwi_direct_wave(const psfwi_survey *s, size_t nt, double dt, double v, int free_surface,
                      const float *w0, float *out, psfwi_error *err) {
  static const char who[] = "direct wave";
  if (s == NULL || w0 == NULL || out == NULL || nt < 2)
    return psfwi_fail(err, PSFWI_EINVAL, "%s: survey, wavelet, output and nt >= 2 are needed", who);
  if (!(v > 0) || !isfinite(v) || !(dt > 0) || !isfinite(dt))
    return psfwi_fail(err, PSFWI_ERANGE, "%s: velocity %g m/s and dt %g s; expected > 0", who, v,
                      dt);
  double *k = malloc(nt * sizeof *k);
  if (k == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "%s: out of memory", who);
  int st = PSFWI_OK;
  for (size_t is = 0; is < s->nshot && st == PSFWI_OK; is++)
    for (size_t ir = 0; ir < s->nrec && st == PSFWI_OK; ir++) {
      const size_t tr = is * s->nrec + ir;
      const double dx = s->rx[tr] - s->sx[is], r1 = hypot(dx, s->rz[tr] - s->sz[is]);
      if (!(r1 > 1e-3)) {
        st = psfwi_fail(err, PSFWI_EINVAL,
                        "%s: shot %zu, receiver %zu is %g m from its source; expected > 1 mm (the "
                        "2-D Green's function is singular there)",
                        who, is, ir, r1);
        break;
      }
      memset(k, 0, nt * sizeof *k);
      green_kernel(r1 / v, dt, nt, 1.0, k);
      if (free_surface) /* the mirror source above the surface, opposite sign */
        green_kernel(hypot(dx, s->rz[tr] + s->sz[is]) / v, dt, nt, -1.0, k);
      float *o = out + tr * nt;
      for (size_t i = 0; i < nt; i++) {
        double acc = 0.0;
        for (size_t j = 0; j <= i; j++) acc += (double)w0[j] * k[i - j];
        o[i] = (float)acc;
      }
    }
  free(k);
  return st;
}
