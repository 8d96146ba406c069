/* Pseudo-spectral features: Fourier coefficients of whole traces at a few
 * frequencies, normalised per shot, laid out as a 1-D image (channels,
 * positions). Definitions in psfwi_learn.h; formulas in docs/learn.md.
 * One FFTW r2c plan of a shot's nrec traces is made at create and executed
 * on the object's own buffers (plan once, execute many). */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <fftw3.h>

#include "psfwi_learn.h"

struct psfwi_features {
  psfwi_learn_acq acq;
  size_t nshot, nrec, nt, nhalf; /* nhalf = nt / 2 + 1 coefficients per trace */
  size_t nfreq, bin[PSFWI_LEARN_MAX_FREQ];
  size_t width, nchan;
  float *in;          /* nrec * nt, one shot: in[ir * nt + it] */
  fftwf_complex *out; /* nrec * nhalf */
  fftwf_plan plan;
  double *coef; /* one shot's normalised coefficients, coef[(ir * nfreq + f) * 2 + part] */
  /* profile mode */
  long *cell;    /* nshot * nrec: ob * width + j, or -1 (trace not used) */
  size_t *count; /* noffset * width: traces per cell */
  double *acc;   /* (noffset * nfreq * 2) * width: sums of coefficients */
};

static int check_frequencies(psfwi_features *f, const psfwi_learn_acq *a, size_t nt, double dt,
                             psfwi_error *err) {
  if (a->nfreq < 1 || a->nfreq > PSFWI_LEARN_MAX_FREQ)
    return psfwi_fail(err, PSFWI_ERANGE, "features: %zu frequencies; expected 1 to %d", a->nfreq,
                      PSFWI_LEARN_MAX_FREQ);
  const double nyquist = 0.5 / dt, df = 1.0 / ((double)nt * dt);
  for (size_t i = 0; i < a->nfreq; i++) {
    const double fr = a->freq[i];
    if (!isfinite(fr) || fr <= 0.0)
      return psfwi_fail(err, PSFWI_ERANGE, "features: frequency %zu = %g Hz; expected > 0", i + 1,
                        fr);
    if (fr > nyquist)
      return psfwi_fail(err, PSFWI_ERANGE,
                        "features: frequency %g Hz is above the Nyquist frequency %g Hz of the "
                        "sample interval %g s",
                        fr, nyquist, dt);
    const double k = floor(fr / df + 0.5);
    if (k < 1.0)
      return psfwi_fail(err, PSFWI_ERANGE,
                        "features: frequency %g Hz falls in bin 0 (bins are %g Hz apart for %zu "
                        "samples at %g s); the zero frequency is not a feature",
                        fr, df, nt, dt);
    if (k > (double)(nt / 2))
      return psfwi_fail(err, PSFWI_ERANGE,
                        "features: frequency %g Hz rounds to bin %.0f, beyond the last bin %zu "
                        "(Nyquist %g Hz)",
                        fr, k, nt / 2, nyquist);
    f->bin[i] = (size_t)k;
    for (size_t j = 0; j < i; j++)
      if (f->bin[j] == f->bin[i])
        return psfwi_fail(err, PSFWI_EINVAL,
                          "features: frequencies %g and %g Hz fall in the same bin (%g Hz; bins "
                          "are %g Hz apart)",
                          a->freq[j], fr, k * df, df);
  }
  return PSFWI_OK;
}

/* FNV-1a over every (sx, sz, rx, rz) relative to the origin, rounded to
 * whole micrometres, in trace order. */
static uint64_t geometry_hash(const psfwi_survey *s, const psfwi_grid *g) {
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  for (size_t is = 0; is < s->nshot; is++)
    for (size_t ir = 0; ir < s->nrec; ir++) {
      const size_t t = is * s->nrec + ir;
      const double v[4] = {s->sx[is] - g->x0, s->sz[is] - g->z0, s->rx[t] - g->x0,
                           s->rz[t] - g->z0};
      for (int k = 0; k < 4; k++) {
        const int64_t um = (int64_t)llround(v[k] * 1e6);
        unsigned char b[8];
        for (int j = 0; j < 8; j++) b[j] = (unsigned char)((uint64_t)um >> (8 * j));
        for (int j = 0; j < 8; j++) {
          h ^= b[j];
          h *= UINT64_C(0x100000001b3);
        }
      }
    }
  return h;
}

/* Profile mode: the cell of every trace and the traces per cell. */
static int plan_cells(psfwi_features *f, const psfwi_survey *s, const psfwi_grid *g,
                      psfwi_error *err) {
  const psfwi_learn_acq *a = &f->acq;
  if (!(a->offset_step > 0.0) || !isfinite(a->offset_step) || !isfinite(a->offset_min) ||
      a->noffset < 1)
    return psfwi_fail(err, PSFWI_ERANGE,
                      "features: profile mode needs offset_step > 0 (got %g m), a finite "
                      "offset_min (got %g m) and offset_count >= 1 (got %zu)",
                      a->offset_step, a->offset_min, a->noffset);
  if (a->noffset > SIZE_MAX / 2 / PSFWI_LEARN_MAX_FREQ / f->width)
    return psfwi_fail(err, PSFWI_ERANGE, "features: %zu offset bins x %zu positions is too many",
                      a->noffset, f->width);
  f->cell = malloc(s->nshot * s->nrec * sizeof *f->cell);
  f->count = calloc(a->noffset * f->width, sizeof *f->count);
  f->acc = malloc(a->noffset * f->nfreq * 2 * f->width * sizeof *f->acc);
  if (f->cell == NULL || f->count == NULL || f->acc == NULL)
    return psfwi_fail(err, PSFWI_ENOMEM, "features: out of memory for %zu offset bins", a->noffset);
  size_t used = 0;
  for (size_t is = 0; is < s->nshot; is++)
    for (size_t ir = 0; ir < s->nrec; ir++) {
      const size_t t = is * s->nrec + ir;
      const double mid = 0.5 * (s->sx[is] + s->rx[t]);
      const double j = floor((mid - g->x0) / g->dx + 0.5);
      const double ob = floor((s->rx[t] - s->sx[is] - a->offset_min) / a->offset_step + 0.5);
      f->cell[t] = -1;
      if (j >= 0.0 && j < (double)f->width && ob >= 0.0 && ob < (double)a->noffset) {
        const size_t c = (size_t)ob * f->width + (size_t)j;
        f->cell[t] = (long)c;
        f->count[c]++;
        used++;
      }
    }
  if (used == 0)
    return psfwi_fail(err, PSFWI_ERANGE,
                      "features: no trace falls in the %zu offset bins from %g m by %g m (or "
                      "its midpoint is outside the model)",
                      a->noffset, a->offset_min, a->offset_step);
  return PSFWI_OK;
}

psfwi_features *psfwi_features_create(psfwi_learn_acq *a, const psfwi_survey *s,
                                      const psfwi_grid *g, size_t nt, double dt, psfwi_error *err) {
  if (a == NULL || s == NULL || g == NULL) {
    psfwi_fail(err, PSFWI_EINVAL, "features: NULL acquisition, survey or grid");
    return NULL;
  }
  if (psfwi_grid_check(g, "features grid", err) != PSFWI_OK) return NULL;
  if (a->mode != PSFWI_LEARN_WHOLE && a->mode != PSFWI_LEARN_PROFILE) {
    psfwi_fail(err, PSFWI_EINVAL, "features: mode %d; expected whole (0) or profile (1)", a->mode);
    return NULL;
  }
  if (a->parts != PSFWI_LEARN_REIM && a->parts != PSFWI_LEARN_AMPPHASE) {
    psfwi_fail(err, PSFWI_EINVAL, "features: parts %d; expected reim (0) or ampphase (1)",
               a->parts);
    return NULL;
  }
  if (nt < 2 || nt > (size_t)INT_MAX || !(dt > 0.0) || !isfinite(dt)) {
    psfwi_fail(err, PSFWI_ERANGE, "features: %zu samples at %g s; expected 2 to %d samples, dt > 0",
               nt, dt, INT_MAX);
    return NULL;
  }
  if (a->mode == PSFWI_LEARN_WHOLE && s->nrec != g->nx) {
    psfwi_fail(err, PSFWI_EINVAL,
               "features: whole-model mode needs one receiver per model column: %zu receivers "
               "per shot, %zu columns",
               s->nrec, g->nx);
    return NULL;
  }
  psfwi_features *f = calloc(1, sizeof *f);
  if (f == NULL) {
    psfwi_fail(err, PSFWI_ENOMEM, "features: out of memory");
    return NULL;
  }
  if (check_frequencies(f, a, nt, dt, err) != PSFWI_OK) goto fail;
  /* the fields filled from the survey, grid and time axis */
  a->nt = nt;
  a->dt = dt;
  a->nshot = s->nshot;
  a->nrec = s->nrec;
  a->dx = g->dx;
  a->dz = g->dz;
  a->nz = g->nz;
  a->z0 = g->z0;
  a->source_z = s->sz[0];
  a->receiver_z = s->rz[0];
  if (a->mode == PSFWI_LEARN_WHOLE) {
    a->offset_min = a->offset_step = 0.0;
    a->noffset = 0;
    a->geometry_hash = geometry_hash(s, g);
  } else {
    a->geometry_hash = 0;
  }
  f->acq = *a;
  f->nshot = s->nshot;
  f->nrec = s->nrec;
  f->nt = nt;
  f->nhalf = nt / 2 + 1;
  f->nfreq = a->nfreq;
  f->width = a->mode == PSFWI_LEARN_WHOLE ? s->nrec : g->nx;
  f->nchan = psfwi_learn_channels(a);
  if (a->mode == PSFWI_LEARN_PROFILE && plan_cells(f, s, g, err) != PSFWI_OK) goto fail;
  f->in = fftwf_malloc(f->nrec * f->nt * sizeof *f->in);
  f->out = fftwf_malloc(f->nrec * f->nhalf * sizeof *f->out);
  f->coef = malloc(f->nrec * f->nfreq * 2 * sizeof *f->coef);
  if (f->in == NULL || f->out == NULL || f->coef == NULL) {
    psfwi_fail(err, PSFWI_ENOMEM, "features: out of memory for %zu traces of %zu samples", f->nrec,
               nt);
    goto fail;
  }
  fftwf_make_planner_thread_safe();
  const int n = (int)nt;
  f->plan = fftwf_plan_many_dft_r2c(1, &n, (int)f->nrec, f->in, NULL, 1, (int)nt, f->out, NULL, 1,
                                    (int)f->nhalf, FFTW_ESTIMATE);
  if (f->plan == NULL) {
    psfwi_fail(err, PSFWI_EINTERNAL, "features: FFTW could not plan %zu transforms of %zu samples",
               f->nrec, nt);
    goto fail;
  }
  return f;
fail:
  psfwi_features_destroy(f);
  return NULL;
}

void psfwi_features_destroy(psfwi_features *f) {
  if (f == NULL) return;
  if (f->plan != NULL) fftwf_destroy_plan(f->plan);
  fftwf_free(f->in);
  fftwf_free(f->out);
  free(f->coef);
  free(f->cell);
  free(f->count);
  free(f->acc);
  free(f);
}

size_t psfwi_features_channels(const psfwi_features *f) { return f->nchan; }
size_t psfwi_features_width(const psfwi_features *f) { return f->width; }

/* (re, im) -> the two parts written. */
static void put_parts(int parts, double re, double im, float *p0, float *p1) {
  if (parts == PSFWI_LEARN_AMPPHASE) {
    *p0 = (float)log(PSFWI_LEARN_AMP_EPS + hypot(re, im));
    *p1 = (float)atan2(im, re);
  } else {
    *p0 = (float)re;
    *p1 = (float)im;
  }
}

/* One shot's traces through the FFT into f->coef, normalised by its RMS. */
static int shot_coefficients(psfwi_features *f, size_t is, const float *data, psfwi_error *err) {
  const size_t n = f->nrec * f->nt;
  const float *d = data + is * n;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(d[i]))
      return psfwi_fail(err, PSFWI_ENONFINITE,
                        "features: data of shot %zu, receiver %zu, sample %zu is not finite", is,
                        i / f->nt, i % f->nt);
    f->in[i] = d[i];
  }
  fftwf_execute(f->plan);
  double sumsq = 0.0;
  for (size_t ir = 0; ir < f->nrec; ir++)
    for (size_t k = 0; k < f->nfreq; k++) {
      const float *c = f->out[ir * f->nhalf + f->bin[k]];
      const double re = (double)c[0], im = (double)c[1];
      f->coef[(ir * f->nfreq + k) * 2] = re;
      f->coef[(ir * f->nfreq + k) * 2 + 1] = im;
      sumsq += re * re + im * im;
    }
  const double rms = sqrt(sumsq / (double)(f->nrec * f->nfreq));
  const double scale = rms > 0.0 ? 1.0 / rms : 0.0;
  for (size_t i = 0; i < f->nrec * f->nfreq * 2; i++) f->coef[i] *= scale;
  return PSFWI_OK;
}

int psfwi_features_compute(psfwi_features *f, const float *data, float *out, psfwi_error *err) {
  if (f == NULL || data == NULL || out == NULL)
    return psfwi_fail(err, PSFWI_EINVAL, "features: NULL argument");
  const size_t w = f->width, nf = f->nfreq;
  const int parts = f->acq.parts;
  const int profile = f->acq.mode == PSFWI_LEARN_PROFILE;
  if (profile) memset(f->acc, 0, f->acq.noffset * nf * 2 * w * sizeof *f->acc);
  for (size_t is = 0; is < f->nshot; is++) {
    const int st = shot_coefficients(f, is, data, err);
    if (st != PSFWI_OK) return st;
    for (size_t ir = 0; ir < f->nrec; ir++) {
      const double *c = f->coef + ir * nf * 2;
      if (!profile) {
        /* channel (is * nfreq + k) * 2 + part, position ir */
        for (size_t k = 0; k < nf; k++) {
          const size_t ch = (is * nf + k) * 2;
          put_parts(parts, c[2 * k], c[2 * k + 1], &out[ch * w + ir], &out[(ch + 1) * w + ir]);
        }
        continue;
      }
      const long cell = f->cell[is * f->nrec + ir];
      if (cell < 0) continue;
      const size_t ob = (size_t)cell / w, j = (size_t)cell % w;
      for (size_t k = 0; k < nf; k++) {
        const size_t ch = (ob * nf + k) * 2;
        f->acc[ch * w + j] += c[2 * k];
        f->acc[(ch + 1) * w + j] += c[2 * k + 1];
      }
    }
  }
  if (profile)
    for (size_t ob = 0; ob < f->acq.noffset; ob++)
      for (size_t j = 0; j < w; j++) {
        const size_t cnt = f->count[ob * w + j];
        for (size_t k = 0; k < nf; k++) {
          const size_t ch = (ob * nf + k) * 2;
          if (cnt == 0) {
            out[ch * w + j] = out[(ch + 1) * w + j] = 0.0f;
            continue;
          }
          const double re = f->acc[ch * w + j] / (double)cnt;
          const double im = f->acc[(ch + 1) * w + j] / (double)cnt;
          put_parts(parts, re, im, &out[ch * w + j], &out[(ch + 1) * w + j]);
        }
      }
  return PSFWI_OK;
}

void psfwi_features_add_noise(float *x, size_t n_all, double snr_db, unsigned long long seed,
                              double *sigma) {
  double ss = 0;
  size_t n = 0;
  for (size_t i = 0; i < n_all; i++)
    if (x[i] != 0.0f) ss += (double)x[i] * x[i], n++;
  const double s = n ? sqrt(ss / (double)n) * pow(10.0, -snr_db / 20.0) : 0.0;
  if (sigma) *sigma = s;
  if (s == 0.0) return;
  unsigned long long state = seed;
  for (size_t i = 0; i < n_all; i++)
    if (x[i] != 0.0f) x[i] = (float)(x[i] + s * psfwi_normal_draw(&state));
}
