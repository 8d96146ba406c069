/* Classical FWI: multiscale bands, the preconditioning change of variables,
 * regularization, the bounded optimiser in reverse communication, the
 * iteration history and the resumable state. The definitions (objective,
 * variables, files) are in psfwi_invert.h; docs/fwi.md explains why. */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "invert_internal.h"

/* clang-format off */
enum { SC_OBJECTIVE, SC_MISFIT, SC_REG, SC_BAND, SC_FHIGH, SC_NFEV, SC_STEP, SC_RMSE, SC_REL, SC_SSIM };
static const char *const scalar_names[] = {"objective",  "misfit",     "regularization",
                                           "band",       "band_f_high", "evaluations",
                                           "step",       "rmse",       "relative_error",
                                           "ssim"};
static const char *const scalar_units[] = {"1", "1", "1", "1", "Hz", "1", "1", "m/s", "%", "1"};
/* clang-format on */

size_t psfwi_fwi_scalar_count(int have_truth) { return have_truth ? 10 : 7; }
const char *const *psfwi_fwi_scalar_names(void) { return scalar_names; }
const char *const *psfwi_fwi_scalar_units(void) { return scalar_units; }

void psfwi_fwi_opts_defaults(psfwi_fwi_opts *o) {
  memset(o, 0, sizeof *o);
  psfwi_optim_options_init(&o->optim, PSFWI_OPTIM_LBFGS);
  o->optim.step0 = 50.0;
  o->misfit = PSFWI_MISFIT_L2;
  o->filter_order = 4;
  o->illum_eps = 1e-3;
  o->wavelet_eps = 1e-3;
  psfwi_reg_prox_opts_init(&o->prox);
  psfwi_gradient_opts_defaults(&o->grad);
}

/* Counters kept in the state file (f64). */
enum { ST_BAND, ST_ROWS, ST_NFEV, ST_J0, ST_DONE, ST_NBAND, ST_NX, ST_NZ, ST_NSCALAR, ST_COUNT };

typedef struct fwi {
  const psfwi_wave *w;
  const psfwi_survey *s;
  const float *wavelet;
  size_t nt;
  const float *d_obs;
  const psfwi_fwi_opts *o;
  psfwi_model *model; /* the caller's: the current model */
  size_t nx, nz, nxz, nfree;
  size_t *free_idx;
  float *v_b;      /* band start model */
  double *scale;   /* s_i */
  double *kx, *kz; /* smoothing kernels (half, index 0 = centre) */
  size_t rx, rz;   /* their radii in cells */
  double *t1, *t2; /* nxz scratch */
  double *g_v;     /* nxz: dJ/dv, then dPhi/dv */
  double *illum;   /* nxz */
  double *x_g;     /* nxz: g_x of an evaluation */
  unsigned char *clamped;
  psfwi_model *trial; /* model at the point being evaluated */
  psfwi_model *cur;   /* model at the current accepted point */
  psfwi_filter *filter;
  psfwi_misfit *mf;
  psfwi_reg reg;
  double J0;
  size_t band, rows, nfev;
  int have_truth;
  size_t nscalar;
  float *hist_vp;  /* rows * nxz */
  double *hist_sc; /* rows * nscalar */
  size_t hist_cap;
  psfwi_optim *opt;
  psfwi_reg_fista *fista; /* the proximal solver (o->proximal) instead of opt */
  double *plo, *phi_;     /* nxz: its bounds on v (frozen cells: lo = hi = v_b) */
  double *pu;             /* nxz: its prox argument */
  int scaled;             /* auto_scale done (factors in reg_factors) */
  double reg_factors[PSFWI_REG_NSCALE];
  psfwi_gradient_ws *gws;     /* the gradient engine, set up once for the run */
  float *wav;                 /* nt: the wavelet in use (estimate_wavelet: re-estimated per band;
                             per shot: their mean over every process's shots) */
  float *wav_shots;           /* estimate_wavelet = PSFWI_FWI_WAVELET_SHOT: nshot * nt, one
                             wavelet per shot of this process */
  psfwi_gradient_batch batch; /* per shot: the evaluations' wavelets */
  float *hist_wav;            /* estimate_wavelet: rows * nt, the wavelet of each history row */
  float *syn;                 /* estimate_wavelet: this process's modelled traces */
  unsigned char *live;        /* estimate_wavelet: its live observed traces */
  int config_changed;         /* resumed with another configuration text */
} fwi;

static void *xcalloc(size_t n, size_t size, int *oom) {
  void *p = calloc(n ? n : 1, size);
  if (p == NULL) *oom = 1;
  return p;
}

/* Normalised Gaussian half-kernel for sigma in cells; radius 3 sigma. */
static double *gauss_kernel(double sigma_cells, size_t *radius, int *oom) {
  size_t r = (size_t)ceil(3.0 * sigma_cells);
  double *k = xcalloc(r + 1, sizeof *k, oom);
  if (k == NULL) return NULL;
  double sum = 0.0;
  for (size_t j = 0; j <= r; j++) {
    k[j] = sigma_cells > 0 ? exp(-0.5 * (double)(j * j) / (sigma_cells * sigma_cells)) : 1.0;
    sum += j ? 2.0 * k[j] : k[j];
  }
  for (size_t j = 0; j <= r; j++) k[j] /= sum;
  *radius = r;
  return k;
}

/* out = G in: separable convolution with zero extension outside the grid, so
 * that G is symmetric (G^T = G) and the chain rule below uses G itself. */
static void smooth_apply(const fwi *f, const double *in, double *out) {
  const size_t nx = f->nx, nz = f->nz;
  double *t = f->t2;
  for (size_t iz = 0; iz < nz; iz++)
    for (size_t ix = 0; ix < nx; ix++) {
      double acc = f->kx[0] * in[iz * nx + ix];
      for (size_t j = 1; j <= f->rx; j++) {
        if (ix >= j) acc += f->kx[j] * in[iz * nx + ix - j];
        if (ix + j < nx) acc += f->kx[j] * in[iz * nx + ix + j];
      }
      t[iz * nx + ix] = acc;
    }
  for (size_t iz = 0; iz < nz; iz++)
    for (size_t ix = 0; ix < nx; ix++) {
      double acc = f->kz[0] * t[iz * nx + ix];
      for (size_t j = 1; j <= f->rz; j++) {
        if (iz >= j) acc += f->kz[j] * t[(iz - j) * nx + ix];
        if (iz + j < nz) acc += f->kz[j] * t[(iz + j) * nx + ix];
      }
      out[iz * nx + ix] = acc;
    }
}

/* Bounds as floats that lie inside [vmin, vmax]. */
static float fbound_lo(double v) {
  float f = (float)v;
  return (double)f < v ? nextafterf(f, INFINITY) : f;
}
static float fbound_hi(double v) {
  float f = (float)v;
  return (double)f > v ? nextafterf(f, -INFINITY) : f;
}

/* m = clamp(v_b + S G x) on free cells, v_b elsewhere; marks clamped cells. */
static void map_x(fwi *f, const double *x, psfwi_model *m) {
  double *y = f->t1;
  memset(y, 0, f->nxz * sizeof *y);
  for (size_t k = 0; k < f->nfree; k++) y[f->free_idx[k]] = x[k];
  if (f->o->smooth_sigma > 0) smooth_apply(f, y, y);
  const float lo = fbound_lo(f->o->vmin), hi = fbound_hi(f->o->vmax);
  memcpy(m->vp, f->v_b, f->nxz * sizeof *m->vp);
  memset(f->clamped, 0, f->nxz);
  for (size_t k = 0; k < f->nfree; k++) {
    const size_t i = f->free_idx[k];
    const double v = (double)f->v_b[i] + f->scale[i] * y[i];
    float fv = (float)v;
    if (!(fv >= lo)) {
      fv = lo;
      f->clamped[i] = 1;
    } else if (fv > hi) {
      fv = hi;
      f->clamped[i] = 1;
    }
    m->vp[i] = fv;
  }
}

/* g_x = G S (dPhi/dv restricted to free, unclamped cells). */
static void chain_rule(fwi *f, const double *g_v, double *g_x) {
  double *t = f->t1;
  memset(t, 0, f->nxz * sizeof *t);
  for (size_t k = 0; k < f->nfree; k++) {
    const size_t i = f->free_idx[k];
    t[i] = f->clamped[i] ? 0.0 : f->scale[i] * g_v[i];
  }
  if (f->o->smooth_sigma > 0) smooth_apply(f, t, t);
  for (size_t k = 0; k < f->nfree; k++) g_x[k] = t[f->free_idx[k]];
}

/* Data misfit and dJ/dv (and illumination) at f->trial. */
static int data_eval(fwi *f, double *Jd, int want_illum, psfwi_error *err) {
  f->nfev++;
  return psfwi_gradient_ws_eval(f->gws, f->trial, f->wavelet, f->d_obs, f->mf,
                                f->wav_shots ? &f->batch : NULL, Jd, f->g_v,
                                want_illum ? f->illum : NULL, NULL, NULL, err);
}

/* The objective alone at f->trial (the proximal solver's trial points). */
static int value_eval(fwi *f, double *phi, psfwi_error *err) {
  double Jd;
  f->nfev++;
  int st =
      psfwi_gradient_ws_eval(f->gws, f->trial, f->wavelet, f->d_obs, f->mf,
                             f->wav_shots ? &f->batch : NULL, &Jd, NULL, NULL, NULL, NULL, err);
  if (st != PSFWI_OK) return st;
  psfwi_reg_terms terms;
  if ((st = psfwi_reg_eval_terms(&f->reg, f->trial->vp, &terms, NULL, err)) != PSFWI_OK) return st;
  *phi = Jd / f->J0 + terms.smooth;
  return PSFWI_OK;
}

/* Phi and g_x from the raw data misfit and f->g_v at f->trial. */
static int finish_eval(fwi *f, double Jd, double *phi, double *g_x, psfwi_error *err) {
  const double inv = 1.0 / f->J0;
  for (size_t i = 0; i < f->nxz; i++) f->g_v[i] *= inv;
  psfwi_reg_terms terms;
  int st = psfwi_reg_eval_terms(&f->reg, f->trial->vp, &terms, f->g_v, err);
  if (st != PSFWI_OK) return st;
  /* the proximal solver's f is the smooth part; its g the rest */
  *phi = Jd * inv + (f->reg.proximal ? terms.smooth : terms.total);
  chain_rule(f, f->g_v, g_x);
  return PSFWI_OK;
}

int psfwi_band_misfit_(psfwi_misfit_kind kind, const double *all_freqs, size_t nfreq_all,
                       double huber_delta, const psfwi_fwi_band *bd, size_t band, int filter_order,
                       size_t nt, double dt, psfwi_filter **filter, psfwi_misfit **mf,
                       psfwi_error *err) {
  double *freqs = NULL;
  *filter = NULL;
  *mf = NULL;
  if (bd->f_low > 0 || bd->f_high > 0) {
    psfwi_filter_opts fo;
    psfwi_filter_opts_defaults(&fo);
    fo.f_lowcut = bd->f_low;
    fo.f_highcut = bd->f_high;
    if (filter_order > 0) fo.order = filter_order;
    if ((*filter = psfwi_filter_create(&fo, dt, err)) == NULL)
      return psfwi_error_prefix(err, "band %zu (%g-%g Hz)", band + 1, bd->f_low, bd->f_high);
  }
  psfwi_misfit_opts mo;
  psfwi_misfit_opts_defaults(&mo);
  mo.kind = kind;
  mo.filter = *filter;
  mo.huber_delta = huber_delta;
  if (kind == PSFWI_MISFIT_SPECTRAL) {
    size_t n = 0;
    freqs = calloc(nfreq_all + 1, sizeof *freqs);
    if (freqs == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "out of memory");
    for (size_t k = 0; k < nfreq_all; k++)
      if (bd->f_high <= 0 || all_freqs[k] <= bd->f_high) freqs[n++] = all_freqs[k];
    if (n == 0) {
      free(freqs);
      return psfwi_fail(err, PSFWI_ERANGE,
                        "band %zu: no spectral-misfit frequency at or below f_high = %g Hz",
                        band + 1, bd->f_high);
    }
    mo.freqs = freqs;
    mo.nfreq = n;
  }
  *mf = psfwi_misfit_create(&mo, nt, dt, err); /* copies the frequencies */
  free(freqs);
  return *mf ? PSFWI_OK : err->status;
}

int psfwi_fwi_make_misfit(const psfwi_fwi_opts *o, size_t band, size_t nt, double dt,
                          psfwi_filter **filter, psfwi_misfit **mf, psfwi_error *err) {
  return psfwi_band_misfit_(o->misfit, o->freqs, o->nfreq, 0.0, &o->bands[band], band,
                            o->filter_order, nt, dt, filter, mf, err);
}

/* The band's filter and misfit. */
static int band_setup(fwi *f, size_t b, psfwi_error *err) {
  psfwi_filter_destroy(f->filter);
  psfwi_misfit_destroy(f->mf);
  f->filter = NULL;
  f->mf = NULL;
  return psfwi_fwi_make_misfit(f->o, b, f->nt, psfwi_wave_get_info(f->w)->dt_out, &f->filter,
                               &f->mf, err);
}

/* The proximal solver's prox: x (the update on free cells) -> the prox of
 * the non-smooth terms at v_b + x within the bounds, as an update again. */
static int fwi_prox(void *ctx, size_t n, double a, double *x, psfwi_error *err) {
  fwi *f = ctx;
  (void)n;
  for (size_t i = 0; i < f->nxz; i++) f->pu[i] = (double)f->v_b[i];
  for (size_t k = 0; k < f->nfree; k++) f->pu[f->free_idx[k]] += x[k];
  const int st = psfwi_reg_prox(&f->reg, a, f->plo, f->phi_, &f->o->prox, f->pu, NULL, err);
  if (st != PSFWI_OK) return st;
  for (size_t k = 0; k < f->nfree; k++) {
    const size_t i = f->free_idx[k];
    x[k] = f->pu[i] - (double)f->v_b[i];
  }
  return PSFWI_OK;
}

/* FISTA for band b: steps of first_change = step0 (m/s) at first, doubled
 * when accepted, halved when the sufficient decrease fails. */
static int make_fista(fwi *f, size_t b, psfwi_error *err) {
  psfwi_reg_fista_destroy(f->fista);
  f->fista = NULL;
  psfwi_reg_fista_options fo;
  psfwi_reg_fista_options_init(&fo);
  fo.step0 = 0.0;
  fo.first_change = f->o->optim.step0;
  fo.grow = 2.0;
  fo.max_iter = f->o->bands[b].max_iter;
  const float lo = fbound_lo(f->o->vmin), hi = fbound_hi(f->o->vmax);
  for (size_t i = 0; i < f->nxz; i++) {
    const int frozen = f->o->mask && f->o->mask[i];
    f->plo[i] = frozen ? (double)f->v_b[i] : (double)lo;
    f->phi_[i] = frozen ? (double)f->v_b[i] : (double)hi;
  }
  if ((f->fista = psfwi_reg_fista_create(f->nfree, &fo, fwi_prox, f, err)) == NULL)
    return err->status;
  return PSFWI_OK;
}

static int make_optim(fwi *f, size_t b, psfwi_error *err) {
  if (f->o->proximal) return make_fista(f, b, err);
  psfwi_optim_destroy(f->opt);
  psfwi_optim_options oo = f->o->optim;
  oo.max_iter = f->o->bands[b].max_iter;
  if ((f->opt = psfwi_optim_create(f->nfree, &oo, err)) == NULL) return err->status;
  double *lo = f->t1, *hi = f->t2;
  for (size_t k = 0; k < f->nfree; k++) {
    const size_t i = f->free_idx[k];
    lo[k] = ((double)fbound_lo(f->o->vmin) - f->v_b[i]) / f->scale[i];
    hi[k] = ((double)fbound_hi(f->o->vmax) - f->v_b[i]) / f->scale[i];
    if (lo[k] > 0) lo[k] = 0; /* a start outside the bounds was clamped at band start */
    if (hi[k] < 0) hi[k] = 0;
  }
  return psfwi_optim_set_bounds(f->opt, lo, hi, 0, 0, err);
}

static int hist_push(fwi *f, const psfwi_model *m, const double *sc, psfwi_error *err) {
  if (f->rows == f->hist_cap) {
    size_t cap = f->hist_cap ? 2 * f->hist_cap : 16;
    float *v = realloc(f->hist_vp, cap * f->nxz * sizeof *v);
    if (v) f->hist_vp = v;
    double *s = realloc(f->hist_sc, cap * f->nscalar * sizeof *s);
    if (s) f->hist_sc = s;
    float *hw = f->o->estimate_wavelet ? realloc(f->hist_wav, cap * f->nt * sizeof *hw) : NULL;
    if (hw) f->hist_wav = hw;
    if (v == NULL || s == NULL || (f->o->estimate_wavelet && hw == NULL))
      return psfwi_fail(err, PSFWI_ENOMEM, "fwi: cannot grow the history to %zu iterations", cap);
    f->hist_cap = cap;
  }
  memcpy(f->hist_vp + f->rows * f->nxz, m->vp, f->nxz * sizeof *m->vp);
  memcpy(f->hist_sc + f->rows * f->nscalar, sc, f->nscalar * sizeof *sc);
  if (f->o->estimate_wavelet) memcpy(f->hist_wav + f->rows * f->nt, f->wav, f->nt * sizeof *f->wav);
  f->rows++;
  return PSFWI_OK;
}

static int write_history(const fwi *f, psfwi_error *err) {
  const psfwi_fwi_opts *o = f->o;
  if (!o->write_files || o->history_path == NULL) return PSFWI_OK;
  psfwi_history *h = psfwi_history_create(o->history_path, &f->model->grid, f->nscalar,
                                          scalar_names, scalar_units, o->meta, err);
  if (h == NULL) return err->status;
  if (o->estimate_wavelet &&
      psfwi_history_add_vector(
          h, "wavelet", "wavelet_time", f->nt, psfwi_wave_get_info(f->w)->dt_out, "1",
          "source wavelet (least-squares estimate at each band start)", err) != PSFWI_OK) {
    psfwi_history_close(h, 0, NULL);
    return err->status;
  }
  psfwi_model row = {.grid = f->model->grid};
  for (size_t r = 0; r < f->rows; r++) {
    row.vp = f->hist_vp + r * f->nxz;
    if (psfwi_history_append(h, &row, f->hist_sc + r * f->nscalar, err) != PSFWI_OK ||
        (o->estimate_wavelet &&
         psfwi_history_append_vector(h, 0, f->hist_wav + r * f->nt, err) != PSFWI_OK)) {
      psfwi_history_close(h, 0, NULL);
      return err->status;
    }
  }
  return psfwi_history_close(h, 1, err);
}

static int write_state(fwi *f, int done, psfwi_error *err) {
  const psfwi_fwi_opts *o = f->o;
  if (!o->write_files || o->state_path == NULL) return PSFWI_OK;
  double counters[ST_COUNT] = {0};
  counters[ST_BAND] = (double)f->band;
  counters[ST_ROWS] = (double)f->rows;
  counters[ST_NFEV] = (double)f->nfev;
  counters[ST_J0] = f->J0;
  counters[ST_DONE] = done;
  counters[ST_NBAND] = (double)o->nband;
  counters[ST_NX] = (double)f->nx;
  counters[ST_NZ] = (double)f->nz;
  counters[ST_NSCALAR] = (double)f->nscalar;
  const char *cfg = o->meta && o->meta->config ? o->meta->config : "";
  const size_t cfg_len = strlen(cfg);
  size_t osize = f->opt     ? psfwi_optim_state_size(f->opt)
                 : f->fista ? psfwi_reg_fista_state_size(f->fista)
                            : 0;
  unsigned char *obuf = malloc(osize + 1);
  if (obuf == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "fwi: out of memory for the state");
  if ((f->opt && psfwi_optim_state_save(f->opt, obuf, osize, err) != PSFWI_OK) ||
      (f->fista && psfwi_reg_fista_state_save(f->fista, obuf, osize, err) != PSFWI_OK)) {
    free(obuf);
    return err->status;
  }
  psfwi_state_item items[12] = {
      {"counters", PSFWI_STATE_F64, ST_COUNT, counters},
      {"model", PSFWI_STATE_F32, f->nxz, f->model->vp},
      {"v_band", PSFWI_STATE_F32, f->nxz, f->v_b},
      {"scale", PSFWI_STATE_F64, f->nxz, f->scale},
      {"optim", PSFWI_STATE_U8, osize, obuf},
      {"hist_vp", PSFWI_STATE_F32, f->rows * f->nxz, f->hist_vp},
      {"hist_scalars", PSFWI_STATE_F64, f->rows * f->nscalar, f->hist_sc},
      {"config", PSFWI_STATE_U8, cfg_len, (void *)cfg},
  };
  size_t nitems = 8;
  /* the weights' scale factors only when auto_scale made them */
  if (o->auto_scale)
    items[nitems++] =
        (psfwi_state_item){"reg_scale", PSFWI_STATE_F64, PSFWI_REG_NSCALE, (void *)f->reg_factors};
  if (o->estimate_wavelet) {
    items[nitems++] = (psfwi_state_item){"wavelet", PSFWI_STATE_F32, f->nt, f->wav};
    items[nitems++] =
        (psfwi_state_item){"hist_wavelet", PSFWI_STATE_F32, f->rows * f->nt, f->hist_wav};
  }
  if (f->wav_shots)
    items[nitems++] =
        (psfwi_state_item){"wavelet_shots", PSFWI_STATE_F32, f->s->nshot * f->nt, f->wav_shots};
  int st = psfwi_state_write(o->state_path, "fwi", items, nitems, o->meta, err);
  free(obuf);
  return st;
}

/* Restores everything written by write_state; *done set when the run ended. */
static int read_state(fwi *f, int *done, int *have_opt, psfwi_error *err) {
  const psfwi_fwi_opts *o = f->o;
  const char *path = o->state_path;
  psfwi_state_item *items = NULL;
  size_t n = 0;
  int st = psfwi_state_read(path, "fwi", &items, &n, err);
  if (st != PSFWI_OK) return st;
  st = PSFWI_EFORMAT;
  const psfwi_state_item *c =
      psfwi_state_find(items, n, "counters", PSFWI_STATE_F64, ST_COUNT, path, err);
  if (c == NULL) goto done;
  const double *cv = c->data;
  if ((size_t)cv[ST_NX] != f->nx || (size_t)cv[ST_NZ] != f->nz ||
      (size_t)cv[ST_NBAND] != o->nband || (size_t)cv[ST_NSCALAR] != f->nscalar) {
    psfwi_fail(err, PSFWI_EINVAL,
               "'%s': the state is of a %g x %g model, %g bands and %g history scalars; this "
               "run has %zu x %zu, %zu bands and %zu (resume with the same configuration)",
               path, cv[ST_NX], cv[ST_NZ], cv[ST_NBAND], cv[ST_NSCALAR], f->nx, f->nz, o->nband,
               f->nscalar);
    goto done;
  }
  const size_t rows = (size_t)cv[ST_ROWS];
  const psfwi_state_item *m =
      psfwi_state_find(items, n, "model", PSFWI_STATE_F32, f->nxz, path, err);
  const psfwi_state_item *vb =
      m ? psfwi_state_find(items, n, "v_band", PSFWI_STATE_F32, f->nxz, path, err) : NULL;
  const psfwi_state_item *sc =
      vb ? psfwi_state_find(items, n, "scale", PSFWI_STATE_F64, f->nxz, path, err) : NULL;
  const psfwi_state_item *ob =
      sc ? psfwi_state_find(items, n, "optim", PSFWI_STATE_U8, (size_t)-1, path, err) : NULL;
  const psfwi_state_item *hv =
      ob ? psfwi_state_find(items, n, "hist_vp", PSFWI_STATE_F32, rows * f->nxz, path, err) : NULL;
  const psfwi_state_item *hs =
      hv ? psfwi_state_find(items, n, "hist_scalars", PSFWI_STATE_F64, rows * f->nscalar, path, err)
         : NULL;
  if (hs == NULL) goto done;
  if (o->auto_scale) {
    const psfwi_state_item *rs =
        psfwi_state_find(items, n, "reg_scale", PSFWI_STATE_F64, PSFWI_REG_NSCALE, path, err);
    if (rs == NULL) goto done;
    memcpy(f->reg_factors, rs->data, sizeof f->reg_factors);
    psfwi_reg_apply_scale(&f->reg, f->reg_factors);
    f->scaled = 1;
  }
  const psfwi_state_item *sw = NULL, *shw = NULL;
  if (o->estimate_wavelet) {
    sw = psfwi_state_find(items, n, "wavelet", PSFWI_STATE_F32, f->nt, path, err);
    shw = sw ? psfwi_state_find(items, n, "hist_wavelet", PSFWI_STATE_F32, rows * f->nt, path, err)
             : NULL;
    if (shw == NULL) goto done;
  }
  const psfwi_state_item *sws = NULL;
  if (f->wav_shots && (sws = psfwi_state_find(items, n, "wavelet_shots", PSFWI_STATE_F32,
                                              f->s->nshot * f->nt, path, err)) == NULL)
    goto done;
  f->band = (size_t)cv[ST_BAND];
  f->nfev = (size_t)cv[ST_NFEV];
  f->J0 = cv[ST_J0];
  *done = cv[ST_DONE] != 0;
  if (f->band >= o->nband) {
    psfwi_fail(err, PSFWI_EFORMAT, "'%s': band %zu of %zu", path, f->band, o->nband);
    goto done;
  }
  f->config_changed = psfwi_state_config_differs(items, n, o->meta ? o->meta->config : NULL);
  memcpy(f->model->vp, m->data, f->nxz * sizeof(float));
  memcpy(f->v_b, vb->data, f->nxz * sizeof(float));
  memcpy(f->scale, sc->data, f->nxz * sizeof(double));
  f->rows = 0;
  for (size_t r = 0; r < rows; r++) {
    psfwi_model row = {.grid = f->model->grid, .vp = (float *)hv->data + r * f->nxz};
    if ((st = hist_push(f, &row, (const double *)hs->data + r * f->nscalar, err)) != PSFWI_OK)
      goto done;
  }
  if (sw) {
    memcpy(f->wav, sw->data, f->nt * sizeof *f->wav);
    memcpy(f->hist_wav, shw->data, rows * f->nt * sizeof *f->wav);
  }
  if (sws) memcpy(f->wav_shots, sws->data, f->s->nshot * f->nt * sizeof *f->wav_shots);
  *have_opt = 0;
  if (ob->n > 0 && !*done) {
    if ((st = band_setup(f, f->band, err)) != PSFWI_OK) goto done;
    if ((st = make_optim(f, f->band, err)) != PSFWI_OK) goto done;
    if ((st = f->fista ? psfwi_reg_fista_state_restore(f->fista, ob->data, ob->n, err)
                       : psfwi_optim_state_restore(f->opt, ob->data, ob->n, err)) != PSFWI_OK) {
      psfwi_error_prefix(err, "'%s'", path);
      goto done;
    }
    *have_opt = 1;
  }
  st = PSFWI_OK;
done:
  psfwi_state_free(items, n);
  return st;
}

static int check_opts(const psfwi_wave *w, const psfwi_model *model, const psfwi_fwi_opts *o,
                      psfwi_error *err) {
  const psfwi_wave_info *wi = psfwi_wave_get_info(w);
  if (o->nband == 0 || o->bands == NULL)
    return psfwi_fail(err, PSFWI_EINVAL, "fwi: at least one frequency band is needed");
  for (size_t b = 0; b < o->nband; b++)
    if (o->bands[b].max_iter == 0)
      return psfwi_fail(err, PSFWI_ERANGE, "fwi: band %zu has 0 iterations; expected >= 1", b + 1);
  if (!(o->vmin > 0) || !(o->vmax > o->vmin) || !isfinite(o->vmax))
    return psfwi_fail(err, PSFWI_ERANGE,
                      "fwi: bounds vmin = %g, vmax = %g m/s; expected 0 < vmin < vmax", o->vmin,
                      o->vmax);
  if (o->vmin < wi->vmin_bound || o->vmax > wi->vmax_bound)
    return psfwi_fail(err, PSFWI_ERANGE,
                      "fwi: bounds [%g, %g] m/s exceed the propagator's [%g, %g] m/s (set the "
                      "propagator's vmin/vmax to the inversion bounds)",
                      o->vmin, o->vmax, wi->vmin_bound, wi->vmax_bound);
  if (o->estimate_wavelet && (!(o->wavelet_eps >= 0) || !isfinite(o->wavelet_eps)))
    return psfwi_fail(err, PSFWI_ERANGE, "fwi: wavelet_eps = %g; expected finite and >= 0",
                      o->wavelet_eps);
  if (!(o->illum_eps > 0) || !(o->smooth_sigma >= 0) || !isfinite(o->smooth_sigma))
    return psfwi_fail(err, PSFWI_ERANGE, "fwi: illum_eps = %g (> 0), smooth_sigma = %g m (>= 0)",
                      o->illum_eps, o->smooth_sigma);
  if (o->proximal && o->smooth_sigma > 0)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "fwi: the proximal solver works on the model itself: smoothing of the "
                      "update (smooth_sigma = %g m) needs the smooth solver",
                      o->smooth_sigma);
  if (model->grid.nx != wi->nx || model->grid.nz != wi->nz)
    return psfwi_fail(err, PSFWI_EINVAL, "fwi: model of %zu x %zu for a propagator of %zu x %zu",
                      model->grid.nx, model->grid.nz, wi->nx, wi->nz);
  if (o->truth && (o->truth->grid.nx != wi->nx || o->truth->grid.nz != wi->nz))
    return psfwi_fail(err, PSFWI_EINVAL, "fwi: true model of %zu x %zu for a model of %zu x %zu",
                      o->truth->grid.nx, o->truth->grid.nz, wi->nx, wi->nz);
  return PSFWI_OK;
}

static void fwi_free(fwi *f) {
  free(f->free_idx);
  free(f->v_b);
  free(f->scale);
  free(f->kx);
  free(f->kz);
  free(f->t1);
  free(f->t2);
  free(f->g_v);
  free(f->illum);
  free(f->x_g);
  free(f->clamped);
  free(f->hist_vp);
  free(f->hist_sc);
  free(f->hist_wav);
  free(f->wav);
  free(f->wav_shots);
  free(f->syn);
  free(f->live);
  psfwi_model_destroy(f->trial);
  psfwi_model_destroy(f->cur);
  psfwi_filter_destroy(f->filter);
  psfwi_misfit_destroy(f->mf);
  psfwi_optim_destroy(f->opt);
  psfwi_reg_fista_destroy(f->fista);
  free(f->plo);
  free(f->phi_);
  free(f->pu);
  psfwi_reg_ws_destroy(f->reg.ws);
  psfwi_gradient_ws_destroy(f->gws);
}

/* A note for band b through the progress callback (set). */
static void band_note(const fwi *f, size_t b, const char *note) {
  psfwi_fwi_progress q = {0};
  q.band = b;
  q.nband = f->o->nband;
  q.b = &f->o->bands[b];
  q.note = note;
  f->o->progress(f->o->progress_ctx, &q);
}

/* Per shot (estimate_wavelet = PSFWI_FWI_WAVELET_SHOT): each shot modelled
 * with its own wavelet and its filter from its own traces; f->wav becomes
 * the mean over every process's shots (the reduce hook adds the sums of the
 * nt samples and the shot count). f->syn and f->live are set. */
static int estimate_wavelets(fwi *f, size_t b, psfwi_error *err) {
  const psfwi_fwi_opts *o = f->o;
  const size_t nrec = f->s->nrec, nt = f->nt, ns = psfwi_source_nsum(nt);
  double *sums = malloc(ns * sizeof *sums), *mean = calloc(nt + 1, sizeof *mean);
  float *w = malloc(nt * sizeof *w);
  int st = sums && w && mean ? PSFWI_OK : psfwi_fail(err, PSFWI_ENOMEM, "fwi: out of memory");
  double worst = 0.0;
  size_t live = 0;
  for (size_t is = 0; is < f->s->nshot && st == PSFWI_OK; is++) {
    float *wv = f->wav_shots + is * nt, *syn = f->syn + is * nrec * nt;
    size_t nlive = 0;
    for (size_t ir = 0; ir < nrec; ir++) nlive += f->live[is * nrec + ir];
    if (nlive == 0) { /* a shot without live traces keeps its wavelet */
      for (size_t i = 0; i < nt; i++) mean[i] += wv[i];
      mean[nt] += 1.0;
      continue;
    }
    psfwi_survey *one = psfwi_survey_subset(f->s, is, 1, err);
    st = one ? psfwi_wave_model_shots(f->w, f->model, one, wv, nt, syn, NULL, err) : err->status;
    psfwi_survey_destroy(one);
    if (st == PSFWI_OK)
      st = psfwi_source_sums(nrec, nt, syn, f->d_obs + is * nrec * nt, f->live + is * nrec, sums,
                             err);
    psfwi_source_info info = {0};
    if (st == PSFWI_OK)
      st = psfwi_source_apply(nt, sums, wv, o->wavelet_eps, f->filter, w, &info, err);
    if (st != PSFWI_OK) {
      psfwi_error_prefix(err, "shot %zu: ", is);
      break;
    }
    memcpy(wv, w, nt * sizeof *w);
    for (size_t i = 0; i < nt; i++) mean[i] += w[i];
    mean[nt] += 1.0;
    live += info.live;
    if (info.obs_energy > 0) worst = fmax(worst, info.residual_energy / info.obs_energy);
  }
  if (st == PSFWI_OK && o->grad.reduce) st = o->grad.reduce(o->grad.reduce_ctx, mean, nt + 1, err);
  for (size_t i = 0; st == PSFWI_OK && i < nt; i++) f->wav[i] = (float)(mean[i] / mean[nt]);
  free(sums);
  free(mean);
  free(w);
  if (st != PSFWI_OK) return psfwi_error_prefix(err, "fwi: band %zu: wavelet estimate: ", b + 1);
  if (o->progress) {
    char note[256];
    snprintf(note, sizeof note,
             "wavelets re-estimated per shot (%zu live traces here): the worst shot's filtered "
             "modelled data leave %.3g %% of its observed energy",
             live, 100.0 * worst);
    band_note(f, b, note);
  }
  return PSFWI_OK;
}

/* The wavelet re-estimated at band b's start (docs/data.md): this
 * process's shots modelled in the current model with the current wavelet,
 * the least-squares filter to the observed data summed over every process
 * (the gradient's reduce hook), applied within the band's passband. */
static int estimate_wavelet(fwi *f, size_t b, psfwi_error *err) {
  const psfwi_fwi_opts *o = f->o;
  const size_t ntr = f->s->nshot * f->s->nrec, nt = f->nt, ns = psfwi_source_nsum(nt);
  if (f->syn == NULL) {
    int oom = 0;
    f->syn = xcalloc(ntr * nt, sizeof *f->syn, &oom);
    f->live = xcalloc(ntr, 1, &oom);
    if (oom) return psfwi_fail(err, PSFWI_ENOMEM, "fwi: out of memory for the wavelet estimate");
    /* live: observed data that are not all zero (dead traces, padding) and
     * that the data weights keep (noisy traces, offsets left out) */
    const float *wt = o->grad.data_weights;
    for (size_t k = 0; k < ntr; k++) {
      int obs = 0, kept = wt == NULL;
      for (size_t i = 0; i < nt && !obs; i++) obs = f->d_obs[k * nt + i] != 0.0f;
      for (size_t i = 0; i < nt && !kept; i++) kept = wt[k * nt + i] != 0.0f;
      f->live[k] = (unsigned char)(obs && kept);
    }
  }
  if (f->wav_shots) return estimate_wavelets(f, b, err);
  double *sums = malloc(ns * sizeof *sums);
  float *w = malloc(nt * sizeof *w);
  int st = sums && w ? PSFWI_OK : psfwi_fail(err, PSFWI_ENOMEM, "fwi: out of memory");
  if (st == PSFWI_OK)
    st = psfwi_wave_model_shots(f->w, f->model, f->s, f->wav, nt, f->syn, NULL, err);
  if (st == PSFWI_OK) st = psfwi_source_sums(ntr, nt, f->syn, f->d_obs, f->live, sums, err);
  if (st == PSFWI_OK && o->grad.reduce) st = o->grad.reduce(o->grad.reduce_ctx, sums, ns, err);
  psfwi_source_info info = {0};
  if (st == PSFWI_OK)
    st = psfwi_source_apply(nt, sums, f->wav, o->wavelet_eps, f->filter, w, &info, err);
  if (st == PSFWI_OK) memcpy(f->wav, w, nt * sizeof *w);
  free(sums);
  free(w);
  if (st != PSFWI_OK) return psfwi_error_prefix(err, "fwi: band %zu: wavelet estimate: ", b + 1);
  if (o->progress) {
    char note[256];
    snprintf(note, sizeof note,
             "wavelet re-estimated (%zu live traces): the filtered modelled data leave %.3g %% "
             "of the observed energy",
             info.live, 100.0 * info.residual_energy / info.obs_energy);
    band_note(f, b, note);
  }
  return PSFWI_OK;
}

/* Start of band b: v_b = the model (clamped into the bounds), data misfit,
 * gradient and illumination there, J0, the scaling, a fresh optimiser. The
 * evaluation is returned (phi0, g0) for the optimiser's first request. */
static int band_start(fwi *f, size_t b, double *phi0, double *g0, psfwi_error *err) {
  const psfwi_fwi_opts *o = f->o;
  int st = band_setup(f, b, err);
  if (st != PSFWI_OK) return st;
  if (o->estimate_wavelet && (st = estimate_wavelet(f, b, err)) != PSFWI_OK) return st;
  if (o->band_hook &&
      (st = o->band_hook(o->band_hook_ctx, b, 0, f->model, f->wav, err)) != PSFWI_OK)
    return st;
  const float lo = fbound_lo(o->vmin), hi = fbound_hi(o->vmax);
  for (size_t i = 0; i < f->nxz; i++) {
    float v = f->model->vp[i];
    if (o->mask == NULL || !o->mask[i]) v = v < lo ? lo : v > hi ? hi : v;
    f->v_b[i] = v;
    f->trial->vp[i] = v;
    f->scale[i] = 1.0;
  }
  memset(f->clamped, 0, f->nxz);
  double Jd;
  if ((st = data_eval(f, &Jd, o->illumination, err)) != PSFWI_OK) return st;
  f->J0 = Jd > 0 && isfinite(Jd) ? Jd : 1.0;
  /* from the first band's data gradient, or from each band's */
  if (o->auto_scale && (!f->scaled || o->auto_scale == PSFWI_AUTO_SCALE_EACH)) {
    psfwi_reg_copy_weights(&f->reg, &o->reg);
    for (size_t i = 0; i < f->nxz; i++) f->t1[i] = f->g_v[i] / f->J0;
    if ((st = psfwi_reg_auto_scale(&f->reg, f->t1, o->optim.step0, f->reg_factors, err)) !=
        PSFWI_OK)
      return psfwi_error_prefix(err, "fwi");
    f->scaled = 1;
    if (o->progress) {
      char text[448], note[512];
      psfwi_reg_scale_text(f->reg_factors, text, sizeof text);
      snprintf(note, sizeof note, "band %zu: %s", b + 1, text);
      band_note(f, b, note);
    }
  }
  if (o->illumination && !o->proximal) {
    double hmax = 0.0;
    for (size_t i = 0; i < f->nxz; i++) hmax = f->illum[i] > hmax ? f->illum[i] : hmax;
    if (hmax > 0)
      for (size_t i = 0; i < f->nxz; i++)
        f->scale[i] = sqrt(o->illum_eps / (f->illum[i] / hmax + o->illum_eps));
  }
  if ((st = make_optim(f, b, err)) != PSFWI_OK) return st;
  if ((st = finish_eval(f, Jd, phi0, g0, err)) != PSFWI_OK) return st;
  double *x0 = f->t2; /* make_optim is done with t2 */
  memset(x0, 0, f->nfree * sizeof *x0);
  if (f->fista) return psfwi_reg_fista_set(f->fista, x0, err);
  return psfwi_optim_set(f->opt, x0, err);
}

static void metrics_of(const fwi *f, const psfwi_model *m, psfwi_metrics *mt) {
  psfwi_error e;
  if (!f->have_truth || psfwi_compare(f->o->truth, m, mt, &e) != PSFWI_OK)
    mt->rmse = mt->rel_l2 = mt->ssim = mt->mae = mt->psnr = NAN;
}

/* Everything a run or a gradient check needs, from the options. */
static int fwi_init(fwi *f, const psfwi_wave *w, psfwi_model *model, const psfwi_survey *s,
                    const float *wavelet, size_t nt, const float *d_obs, const psfwi_fwi_opts *o,
                    psfwi_error *err) {
  int st = check_opts(w, model, o, err);
  if (st != PSFWI_OK) return st;
  int oom = 0;
  f->w = w;
  f->s = s;
  f->nt = nt;
  f->d_obs = d_obs;
  f->o = o;
  f->model = model;
  f->nx = model->grid.nx;
  f->nz = model->grid.nz;
  f->nxz = f->nx * f->nz;
  f->have_truth = o->truth != NULL;
  f->nscalar = psfwi_fwi_scalar_count(f->have_truth);
  f->free_idx = xcalloc(f->nxz, sizeof *f->free_idx, &oom);
  f->v_b = xcalloc(f->nxz, sizeof *f->v_b, &oom);
  f->scale = xcalloc(f->nxz, sizeof *f->scale, &oom);
  f->t1 = xcalloc(f->nxz, sizeof *f->t1, &oom);
  f->t2 = xcalloc(f->nxz, sizeof *f->t2, &oom);
  f->g_v = xcalloc(f->nxz, sizeof *f->g_v, &oom);
  f->illum = xcalloc(f->nxz, sizeof *f->illum, &oom);
  f->x_g = xcalloc(f->nxz, sizeof *f->x_g, &oom);
  f->clamped = xcalloc(f->nxz, 1, &oom);
  f->wav = xcalloc(nt, sizeof *f->wav, &oom);
  if (f->wav) memcpy(f->wav, wavelet, nt * sizeof *f->wav);
  f->wavelet = f->wav;
  if (o->estimate_wavelet == PSFWI_FWI_WAVELET_SHOT) {
    f->wav_shots = xcalloc(s->nshot * nt, sizeof *f->wav_shots, &oom);
    for (size_t is = 0; f->wav_shots && is < s->nshot; is++)
      memcpy(f->wav_shots + is * nt, wavelet, nt * sizeof *f->wav_shots);
    f->batch.wavelets = f->wav_shots;
  }
  f->kx = gauss_kernel(o->smooth_sigma / model->grid.dx, &f->rx, &oom);
  f->kz = gauss_kernel(o->smooth_sigma / model->grid.dz, &f->rz, &oom);
  if (oom)
    return psfwi_fail(err, PSFWI_ENOMEM, "fwi: out of memory for a %zu x %zu model", f->nx, f->nz);
  if ((f->trial = psfwi_model_copy(model, err)) == NULL ||
      (f->cur = psfwi_model_copy(model, err)) == NULL)
    return err->status;
  for (size_t i = 0; i < f->nxz; i++)
    if (o->mask == NULL || !o->mask[i]) f->free_idx[f->nfree++] = i;
  if (f->nfree == 0) return psfwi_fail(err, PSFWI_EINVAL, "fwi: every cell is frozen by the mask");
  f->gws = psfwi_gradient_ws_create(w, s, nt,
                                    PSFWI_GRADIENT_WANT_GRAD | PSFWI_GRADIENT_WANT_ILLUM |
                                        (f->wav_shots ? PSFWI_GRADIENT_PER_SHOT_WAVELETS : 0u),
                                    &o->grad, err);
  if (f->gws == NULL) return err->status;
  f->reg = o->reg;
  f->reg.nx = f->nx;
  f->reg.nz = f->nz;
  f->reg.dx = model->grid.dx;
  f->reg.dz = model->grid.dz;
  f->reg.mask = o->mask;
  f->reg.proximal = o->proximal != 0;
  for (int k = 0; k < PSFWI_REG_NSCALE; k++) f->reg_factors[k] = 1.0;
  f->reg.ws = NULL;
  if (f->reg.nuclear > 0.0 || f->reg.ksupport > 0.0 || (o->proximal && f->reg.tv > 0.0))
    if ((f->reg.ws = psfwi_reg_ws_create(f->nx, f->nz, err)) == NULL) return err->status;
  if (o->proximal) {
    f->plo = xcalloc(f->nxz, sizeof *f->plo, &oom);
    f->phi_ = xcalloc(f->nxz, sizeof *f->phi_, &oom);
    f->pu = xcalloc(f->nxz, sizeof *f->pu, &oom);
    if (oom) return psfwi_fail(err, PSFWI_ENOMEM, "fwi: out of memory for the proximal solver");
  }
  return psfwi_reg_check(&f->reg, err);
}

int psfwi_fwi_check_gradient_(const psfwi_wave *w, psfwi_model *model, const psfwi_survey *s,
                              const float *wavelet, size_t nt, const float *d_obs,
                              const psfwi_fwi_opts *o, const double *dir, const double *h,
                              size_t nh, size_t *nfree, double *phi0, double *gdotd, double *phi_h,
                              psfwi_error *err) {
  fwi F = {0}, *f = &F;
  int st = fwi_init(f, w, model, s, wavelet, nt, d_obs, o, err);
  if (st == PSFWI_OK) st = band_start(f, 0, phi0, f->x_g, err);
  if (st == PSFWI_OK) {
    *nfree = f->nfree;
    double gd = 0.0;
    for (size_t k = 0; k < f->nfree; k++) gd += f->x_g[k] * dir[k];
    *gdotd = gd;
    double *x = calloc(f->nfree, sizeof *x);
    if (x == NULL) st = psfwi_fail(err, PSFWI_ENOMEM, "out of memory");
    for (size_t j = 0; j < nh && st == PSFWI_OK; j++) {
      double Jd;
      for (size_t k = 0; k < f->nfree; k++) x[k] = h[j] * dir[k];
      map_x(f, x, f->trial);
      for (size_t i = 0; i < f->nxz && st == PSFWI_OK; i++)
        if (f->clamped[i])
          st = psfwi_fail(err, PSFWI_ERANGE, "gradient check: step %g clamps cell %zu", h[j], i);
      if (st == PSFWI_OK) st = data_eval(f, &Jd, 0, err);
      if (st == PSFWI_OK) st = finish_eval(f, Jd, &phi_h[j], f->x_g, err);
    }
    free(x);
  }
  fwi_free(f);
  return st;
}

/* An accepted iterate of band b at f->cur (the solver's iteration iter,
 * objective fc, step): metrics, a history row (iteration 0 only for the
 * first band of a fresh run), the state, the progress line; stop_after. */
static int new_iterate(fwi *f, size_t b, size_t iter, double fc, double step, size_t planned,
                       double t0, size_t *iters_here, double *sc, psfwi_error *err) {
  const psfwi_fwi_opts *o = f->o;
  psfwi_model *model = f->model;
  int st;
  const int record = iter > 0 || (b == 0 && f->rows == 0);
  psfwi_reg_terms terms;
  if ((st = psfwi_reg_eval_terms(&f->reg, f->cur->vp, &terms, NULL, err)) != PSFWI_OK) return st;
  psfwi_fwi_progress p = {0};
  p.band = b;
  p.nband = o->nband;
  p.b = &o->bands[b];
  p.iter = iter;
  p.iter_planned = planned;
  p.objective = fc;
  p.regularization = terms.total;
  p.misfit = (fc - terms.total) * f->J0;
  p.have_truth = f->have_truth;
  metrics_of(f, f->cur, &p.metrics);
  p.nfev = f->nfev;
  p.step = iter > 0 ? step : 0.0;
  memcpy(model->vp, f->cur->vp, f->nxz * sizeof *model->vp);
  if (record) {
    sc[SC_OBJECTIVE] = fc;
    sc[SC_MISFIT] = p.misfit;
    sc[SC_REG] = terms.total;
    sc[SC_BAND] = (double)b;
    sc[SC_FHIGH] = o->bands[b].f_high;
    sc[SC_NFEV] = (double)f->nfev;
    sc[SC_STEP] = p.step;
    if (f->have_truth) {
      sc[SC_RMSE] = p.metrics.rmse;
      sc[SC_REL] = p.metrics.rel_l2;
      sc[SC_SSIM] = p.metrics.ssim;
    }
    if ((st = hist_push(f, f->cur, sc, err)) != PSFWI_OK) return st;
    if ((st = write_history(f, err)) != PSFWI_OK) return st;
  }
  if ((st = write_state(f, 0, err)) != PSFWI_OK) return st;
  p.iter_total = f->rows - 1;
  p.elapsed = psfwi_seconds() - t0;
  if (iter > 0) (*iters_here)++;
  p.eta = *iters_here ? p.elapsed / (double)*iters_here * (double)(planned - f->rows) : NAN;
  if (f->config_changed && o->progress) { /* a note of its own, once */
    psfwi_fwi_progress q = p;
    q.note =
        "the configuration differs from the one the state was written with: the "
        "result is that of the changed run";
    o->progress(o->progress_ctx, &q);
  }
  f->config_changed = 0;
  if (o->progress && record) o->progress(o->progress_ctx, &p);
  if (o->stop_after && iter > 0 && *iters_here >= o->stop_after)
    return psfwi_fail(err, PSFWI_EINTERRUPTED,
                      "fwi: stopped after %zu iterations as asked; resume from '%s'", *iters_here,
                      o->state_path ? o->state_path : "(no state file)");
  return PSFWI_OK;
}

/* The progress line of a band's end (why the solver stopped). */
static void band_end(const fwi *f, size_t b, size_t iter, double objective, size_t planned,
                     double t0, const char *reason) {
  const psfwi_fwi_opts *o = f->o;
  if (!o->progress) return;
  psfwi_fwi_progress p = {0};
  p.band = b;
  p.nband = o->nband;
  p.b = &o->bands[b];
  p.iter = iter;
  p.iter_total = f->rows ? f->rows - 1 : 0;
  p.iter_planned = planned;
  p.objective = objective;
  p.nfev = f->nfev;
  p.elapsed = psfwi_seconds() - t0;
  p.stop_reason = reason;
  o->progress(o->progress_ctx, &p);
}

/* Band b with the proximal solver (FISTA); the first f and gradient at x = 0
 * are the band start's (cached). Ends at the last accepted iterate. */
static int run_band_fista(fwi *f, size_t b, int cache, double cached_phi, size_t planned, double t0,
                          size_t *iters_here, double *sc, psfwi_error *err) {
  double *x_g = f->x_g;
  int st = PSFWI_OK;
  for (;;) {
    int task;
    if ((st = psfwi_reg_fista_iterate(f->fista, &task, err)) != PSFWI_OK) break;
    if (task == PSFWI_FISTA_EVAL_FG || task == PSFWI_FISTA_EVAL_F) {
      double phi;
      if (cache && task == PSFWI_FISTA_EVAL_FG) {
        phi = cached_phi; /* x = 0: the band-start evaluation */
        cache = 0;
      } else {
        map_x(f, psfwi_reg_fista_x(f->fista), f->trial);
        if (task == PSFWI_FISTA_EVAL_F) {
          if ((st = value_eval(f, &phi, err)) != PSFWI_OK) break;
        } else {
          double Jd;
          if ((st = data_eval(f, &Jd, 0, err)) != PSFWI_OK) break;
          if ((st = finish_eval(f, Jd, &phi, x_g, err)) != PSFWI_OK) break;
        }
      }
      if ((st = psfwi_reg_fista_tell(f->fista, phi, task == PSFWI_FISTA_EVAL_FG ? x_g : NULL,
                                     err)) != PSFWI_OK)
        break;
      continue;
    }
    psfwi_reg_fista_info info;
    psfwi_reg_fista_get_info(f->fista, &info);
    const double *xc;
    double fs;
    psfwi_reg_fista_current(f->fista, &xc, &fs);
    map_x(f, xc, f->cur);
    psfwi_reg_terms terms;
    if ((st = psfwi_reg_eval_terms(&f->reg, f->cur->vp, &terms, NULL, err)) != PSFWI_OK) break;
    const double fc = fs + (terms.total - terms.smooth); /* f + g */
    if (task == PSFWI_FISTA_NEW_X) {
      if ((st = new_iterate(f, b, info.iter, fc, info.step, planned, t0, iters_here, sc, err)) !=
          PSFWI_OK)
        break;
      continue;
    }
    memcpy(f->model->vp, f->cur->vp, f->nxz * sizeof *f->model->vp);
    if (task == PSFWI_FISTA_FAILED && info.reason == PSFWI_FISTA_NONFINITE) {
      st = psfwi_fail(err, PSFWI_ENONFINITE, "fwi: band %zu: non-finite objective or gradient",
                      b + 1);
      break;
    }
    band_end(f, b, info.iter, fc, planned, t0, psfwi_fista_reason_text(info.reason));
    break;
  }
  return st;
}

int psfwi_fwi_run(const psfwi_wave *w, psfwi_model *model, const psfwi_survey *s,
                  const float *wavelet, size_t nt, const float *d_obs, const psfwi_fwi_opts *o,
                  psfwi_error *err) {
  fwi F = {0}, *f = &F;
  int oom = 0;
  int st = fwi_init(f, w, model, s, wavelet, nt, d_obs, o, err);
  double *x_g = f->x_g;
  if (st != PSFWI_OK) goto done;
  size_t planned = 1;
  for (size_t b = 0; b < o->nband; b++) planned += o->bands[b].max_iter;
  {
    char detail[160];
    snprintf(detail, sizeof detail, "%zu iterations of a %zu x %zu model; fewer iterations",
             planned, f->nx, f->nz);
    st = psfwi_mem_check((double)planned * (double)f->nxz * sizeof(float) +
                             (double)planned * (double)f->nscalar * sizeof(double),
                         "the iteration history", detail, err);
    if (st != PSFWI_OK) goto done;
  }
  int done = 0, have_opt = 0;
  if (o->resume) {
    if (o->state_path == NULL) {
      st = psfwi_fail(err, PSFWI_EINVAL, "fwi: resume without a state file");
      goto done;
    }
    if ((st = read_state(f, &done, &have_opt, err)) != PSFWI_OK) goto done;
  }
  const double t0 = psfwi_seconds();
  size_t iters_here = 0;
  double cached_phi = 0.0;
  int cache = 0;
  double *sc = xcalloc(f->nscalar, sizeof *sc, &oom);
  if (sc == NULL) {
    st = psfwi_fail(err, PSFWI_ENOMEM, "fwi: out of memory");
    goto done;
  }
  for (size_t b = f->band; b < o->nband && !done; b++) {
    f->band = b;
    if (!have_opt) {
      if ((st = band_start(f, b, &cached_phi, x_g, err)) != PSFWI_OK) break;
      cache = 1;
    }
    have_opt = 0;
    if (o->proximal) {
      st = run_band_fista(f, b, cache, cached_phi, planned, t0, &iters_here, sc, err);
      cache = 0;
      if (st == PSFWI_OK && o->band_hook)
        st = o->band_hook(o->band_hook_ctx, b, 1, model, f->wav, err);
      if (st != PSFWI_OK) break;
      continue;
    }
    for (;;) {
      int task;
      if ((st = psfwi_optim_iterate(f->opt, &task, err)) != PSFWI_OK) break;
      if (task == PSFWI_OPTIM_EVAL) {
        double phi;
        if (cache) {
          phi = cached_phi; /* x = 0: the band-start evaluation */
          cache = 0;
        } else {
          double Jd;
          map_x(f, psfwi_optim_x(f->opt), f->trial);
          if ((st = data_eval(f, &Jd, 0, err)) != PSFWI_OK) break;
          if ((st = finish_eval(f, Jd, &phi, x_g, err)) != PSFWI_OK) break;
        }
        if ((st = psfwi_optim_tell(f->opt, phi, x_g, err)) != PSFWI_OK) break;
        continue;
      }
      psfwi_optim_info info;
      psfwi_optim_get_info(f->opt, &info);
      const double *xc;
      double fc;
      psfwi_optim_current(f->opt, &xc, NULL, &fc);
      map_x(f, xc, f->cur);
      if (task == PSFWI_OPTIM_NEW_X) {
        if ((st = new_iterate(f, b, info.iter, fc, info.step, planned, t0, &iters_here, sc, err)) !=
            PSFWI_OK)
          break;
        continue;
      }
      /* terminal: the band ends at its best point */
      memcpy(model->vp, f->cur->vp, f->nxz * sizeof *model->vp);
      if (task == PSFWI_OPTIM_FAILED && info.reason == PSFWI_OPTIM_NONFINITE) {
        st = psfwi_fail(err, PSFWI_ENONFINITE, "fwi: band %zu: non-finite objective or gradient",
                        b + 1);
        break;
      }
      band_end(f, b, info.iter, info.f, planned, t0, psfwi_optim_reason_text(info.reason));
      break;
    }
    if (st == PSFWI_OK && o->band_hook)
      st = o->band_hook(o->band_hook_ctx, b, 1, model, f->wav, err);
    if (st != PSFWI_OK) break;
  }
  if (st == PSFWI_OK) {
    f->band = o->nband - 1;
    st = write_state(f, 1, err);
    if (st == PSFWI_OK) st = write_history(f, err);
  }
  free(sc);
done:
  if (o->wavelet_out != NULL && f->wav != NULL) memcpy(o->wavelet_out, f->wav, nt * sizeof *f->wav);
  fwi_free(f);
  return st;
}
