/* The theory-guided recurrent network: the pseudo-spectral time step is the
 * cell (hidden state: the two latest wavefields and the PML memory; input:
 * the source term; output: the receiver samples), the velocity model (and
 * optionally the source wavelet) its weights, fitted by backpropagation
 * through time (the gradient engine of gradient.c: the same forward and
 * backward code as classical FWI) with deep-learning optimisers over
 * shuffled mini-batches of shots. Definitions in psfwi_invert.h ("Theory-
 * guided RNN"); method and files in docs/rnn.md. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invert_internal.h"

/* clang-format off */
enum {
  RS_LOSS, RS_MISFIT, RS_REG, RS_BAND, RS_FHIGH, RS_LR, RS_GNORM, RS_PROP, RS_WINDOW,
  RS_CLAMPED, RS_RMSE, RS_REL, RS_SSIM, RS_COUNT
};
static const char *const rnn_names[] = {
    "loss", "misfit", "regularization", "band", "band_f_high", "learning_rate",
    "gradient_norm", "propagations", "time_window", "clamped_cells", "rmse", "relative_error",
    "ssim"};
static const char *const rnn_units[] = {"1", "1", "1", "1", "Hz", "1", "1", "1", "s", "1",
                                        "m/s", "%", "1"};
/* clang-format on */

size_t psfwi_rnn_scalar_count(int have_truth) { return have_truth ? RS_COUNT : RS_RMSE; }
const char *const *psfwi_rnn_scalar_names(void) { return rnn_names; }
const char *const *psfwi_rnn_scalar_units(void) { return rnn_units; }

void psfwi_rnn_opts_defaults(psfwi_rnn_opts *o) {
  memset(o, 0, sizeof *o);
  psfwi_optim_sgd_options_init(&o->sgd, PSFWI_SGD_ADAM);
  o->sgd.lr = 10.0;
  o->param = PSFWI_RNN_VELOCITY;
  o->seed = 1;
  o->misfit = PSFWI_MISFIT_L2;
  o->filter_order = 4;
  psfwi_lr_schedule_options_init(&o->schedule, PSFWI_LR_CONSTANT, o->sgd.lr);
  psfwi_reg_prox_opts_init(&o->prox);
  psfwi_gradient_opts_defaults(&o->grad);
}

/* Counters in the state file (f64). */
enum {
  SC_BAND,
  SC_EPOCH,
  SC_ROWS,
  SC_J0,
  SC_DONE,
  SC_NPROP,
  SC_NX,
  SC_NZ,
  SC_NBAND,
  SC_NSCALAR,
  SC_LRX,
  SC_COUNT
};

typedef struct rnn {
  const psfwi_wave *w;
  const psfwi_survey *s;
  float *wavelet;  /* the caller's, trained in place when wavelet_lr > 0 (one wavelet) */
  float *wavs;     /* the wavelets the run uses: nw * nt (nw = 1: the caller's) */
  float *own_wavs; /* per-shot wavelets: owned (nshot * nt) */
  size_t nw;       /* wavelets: 1, or nshot (wavelet_per_shot) */
  size_t nt;
  const float *d_obs;
  const psfwi_rnn_opts *o;
  psfwi_model *model; /* the caller's: the current model */
  size_t nx, nz, nxz, nfree, nshot;
  size_t *free_idx;
  double *x;    /* nfree parameters */
  double *gx;   /* nfree: dLoss/dx */
  double *g_v;  /* nxz: dLoss/dv */
  double *gw;   /* nw * nt: dLoss/dwavelets */
  double *wx;   /* nt: the wavelet as double */
  size_t *perm; /* nshot */
  psfwi_model *trial;
  psfwi_filter *filter;
  psfwi_misfit *mf;
  psfwi_reg reg;
  double *plo, *phi_, *pu; /* proximal: bounds and argument of the prox (nxz) */
  int scaled;              /* auto_scale done (factors in reg_factors) */
  double reg_factors[PSFWI_REG_NSCALE];
  psfwi_gradient_ws *gws;
  psfwi_optim_sgd *opt;
  psfwi_optim_sgd **wopts;  /* nw optimisers of the wavelets (NULL: wavelets fixed) */
  double lr_x;              /* the learning rate in the parameter's units */
  double J0;                /* data misfit at the band's starting model (all shots) */
  psfwi_lr_schedule *sched; /* the band's learning rates (velocity units, m/s per step) */
  size_t band, epoch, rows, nprop;
  int have_truth;
  size_t nscalar;
  float *hist_vp;
  double *hist_sc;
  float *hist_wav; /* rows * nt, when the wavelet is trained */
  size_t hist_cap;
  int config_changed;
} rnn;

static void *xcalloc(size_t n, size_t size, int *oom) {
  void *p = calloc(n ? n : 1, size);
  if (p == NULL) *oom = 1;
  return p;
}

/* ---- Parameterisation: v(x) and dv/dx ------------------------------------------ */

static double sigmoid(double t) { return 1.0 / (1.0 + exp(-t)); }

static double v_of_x(const rnn *r, double x) {
  switch (r->o->param) {
    case PSFWI_RNN_SLOWNESS: return 1.0 / x;
    case PSFWI_RNN_SIGMOID: return r->o->vmin + (r->o->vmax - r->o->vmin) * sigmoid(x);
    default: return x;
  }
}

static double dv_dx(const rnn *r, double x) {
  switch (r->o->param) {
    case PSFWI_RNN_SLOWNESS: return -1.0 / (x * x);
    case PSFWI_RNN_SIGMOID: {
      const double sg = sigmoid(x);
      return (r->o->vmax - r->o->vmin) * sg * (1.0 - sg);
    }
    default: return 1.0;
  }
}

static double x_of_v(const rnn *r, double v) {
  switch (r->o->param) {
    case PSFWI_RNN_SLOWNESS: return 1.0 / v;
    case PSFWI_RNN_SIGMOID: {
      /* inside the open interval so that the logit is finite */
      const double span = r->o->vmax - r->o->vmin;
      double u = (v - r->o->vmin) / span;
      const double eps = 1e-6;
      u = u < eps ? eps : u > 1.0 - eps ? 1.0 - eps : u;
      return log(u / (1.0 - u));
    }
    default: return v;
  }
}

/* The model of the current parameters (frozen cells keep theirs). */
static void map_x(const rnn *r, psfwi_model *m) {
  for (size_t k = 0; k < r->nfree; k++) {
    const size_t i = r->free_idx[k];
    double v = v_of_x(r, r->x[k]);
    /* float rounding must not leave the bounds the propagator was set for */
    float fv = (float)v;
    if ((double)fv < r->o->vmin) fv = nextafterf(fv, INFINITY);
    if ((double)fv > r->o->vmax) fv = nextafterf(fv, -INFINITY);
    m->vp[i] = fv;
  }
}

/* ---- Learning rates ------------------------------------------------------------- */

/* Velocity learning rate (m/s per step) in the parameter's units. */
static double lr_in_x(const rnn *r, double lr) {
  switch (r->o->param) {
    case PSFWI_RNN_SLOWNESS: {
      double mean = 0.0;
      for (size_t k = 0; k < r->nfree; k++) mean += r->model->vp[r->free_idx[k]];
      mean /= (double)r->nfree;
      return lr / (mean * mean);
    }
    case PSFWI_RNN_SIGMOID: return 4.0 * lr / (r->o->vmax - r->o->vmin);
    default: return lr;
  }
}

/* The learning rates of band b (epochs counted from the band's start). */
static int make_schedule(rnn *r, size_t b, psfwi_error *err) {
  psfwi_lr_schedule_destroy(r->sched);
  psfwi_lr_schedule_options so = r->o->schedule;
  so.lr0 = r->o->sgd.lr > 0.0 ? r->o->sgd.lr : 1.0; /* 0: only the factor lr / lr0 is used */
  const size_t nep = r->o->bands[b].max_iter;
  if (so.kind == PSFWI_LR_COSINE) so.t_max = nep > 1 ? nep - 1 : 1;
  r->sched = psfwi_lr_schedule_create(&so, err);
  return r->sched ? PSFWI_OK : psfwi_error_prefix(err, "rnn: learning-rate schedule");
}

/* ---- Misfits per band ------------------------------------------------------------- */

static int band_setup(rnn *r, size_t b, psfwi_error *err) {
  psfwi_filter_destroy(r->filter);
  psfwi_misfit_destroy(r->mf);
  r->filter = NULL;
  r->mf = NULL;
  const psfwi_rnn_opts *o = r->o;
  return psfwi_band_misfit_(o->misfit, o->freqs, o->nfreq, o->huber_delta, &o->bands[b], b,
                            o->filter_order, r->nt, psfwi_wave_get_info(r->w)->dt_out, &r->filter,
                            &r->mf, err);
}

/* ---- History and state --------------------------------------------------------------- */

static int hist_push(rnn *r, const psfwi_model *m, const double *sc, psfwi_error *err) {
  if (r->rows == r->hist_cap) {
    const size_t cap = r->hist_cap ? 2 * r->hist_cap : 16;
    float *v = realloc(r->hist_vp, cap * r->nxz * sizeof *v);
    if (v) r->hist_vp = v;
    double *s = realloc(r->hist_sc, cap * r->nscalar * sizeof *s);
    if (s) r->hist_sc = s;
    float *wv = realloc(r->hist_wav, cap * r->nw * r->nt * sizeof *wv);
    if (wv) r->hist_wav = wv;
    if (v == NULL || s == NULL || wv == NULL)
      return psfwi_fail(err, PSFWI_ENOMEM, "rnn: cannot grow the history to %zu epochs", cap);
    r->hist_cap = cap;
  }
  memcpy(r->hist_vp + r->rows * r->nxz, m->vp, r->nxz * sizeof *m->vp);
  memcpy(r->hist_sc + r->rows * r->nscalar, sc, r->nscalar * sizeof *sc);
  memcpy(r->hist_wav + r->rows * r->nw * r->nt, r->wavs, r->nw * r->nt * sizeof *r->wavs);
  r->rows++;
  return PSFWI_OK;
}

static int write_history(const rnn *r, psfwi_error *err) {
  const psfwi_rnn_opts *o = r->o;
  if (!o->write_files || o->history_path == NULL) return PSFWI_OK;
  psfwi_history *h = psfwi_history_create(o->history_path, &r->model->grid, r->nscalar, rnn_names,
                                          rnn_units, o->meta, err);
  if (h == NULL) return err->status;
  int st = PSFWI_OK;
  if (o->wavelet_lr > 0.0)
    st = r->nw == 1 ? psfwi_history_add_vector(h, "wavelet", "time", r->nt,
                                               psfwi_wave_get_info(r->w)->dt_out, "1",
                                               "source wavelet after each epoch", err)
                    : psfwi_history_add_vector(h, "wavelets", "shot_time", r->nw * r->nt,
                                               psfwi_wave_get_info(r->w)->dt_out, "1",
                                               "source wavelet of each shot after each epoch "
                                               "(shot-major: shot is at is * nt + it)",
                                               err);
  psfwi_model row = {.grid = r->model->grid};
  for (size_t k = 0; k < r->rows && st == PSFWI_OK; k++) {
    row.vp = r->hist_vp + k * r->nxz;
    st = psfwi_history_append(h, &row, r->hist_sc + k * r->nscalar, err);
    if (st == PSFWI_OK && o->wavelet_lr > 0.0)
      st = psfwi_history_append_vector(h, 0, r->hist_wav + k * r->nw * r->nt, err);
  }
  if (st != PSFWI_OK) {
    psfwi_history_close(h, 0, NULL);
    return st;
  }
  return psfwi_history_close(h, 1, err);
}

static int write_state(rnn *r, int done, psfwi_error *err) {
  const psfwi_rnn_opts *o = r->o;
  if (!o->write_files || o->state_path == NULL) return PSFWI_OK;
  double c[SC_COUNT] = {0};
  c[SC_BAND] = (double)r->band;
  c[SC_EPOCH] = (double)r->epoch;
  c[SC_ROWS] = (double)r->rows;
  c[SC_J0] = r->J0;
  c[SC_DONE] = done;
  c[SC_NPROP] = (double)r->nprop;
  c[SC_NX] = (double)r->nx;
  c[SC_NZ] = (double)r->nz;
  c[SC_NBAND] = (double)o->nband;
  c[SC_NSCALAR] = (double)r->nscalar;
  c[SC_LRX] = r->lr_x;
  const size_t n1 = r->opt ? psfwi_optim_sgd_state_size(r->opt) : 0;
  const size_t n2w = r->wopts ? psfwi_optim_sgd_state_size(r->wopts[0]) : 0, n2 = r->nw * n2w;
  const size_t n3 = r->sched ? psfwi_lr_schedule_state_size(r->sched) : 0;
  unsigned char *b1 = malloc(n1 + 1), *b2 = malloc(n2 + 1), *b3 = malloc(n3 + 1);
  int st = PSFWI_OK;
  if (b1 == NULL || b2 == NULL || b3 == NULL)
    st = psfwi_fail(err, PSFWI_ENOMEM, "rnn: out of memory");
  if (st == PSFWI_OK && r->opt) st = psfwi_optim_sgd_state_save(r->opt, b1, n1, err);
  for (size_t k = 0; st == PSFWI_OK && r->wopts && k < r->nw; k++)
    st = psfwi_optim_sgd_state_save(r->wopts[k], b2 + k * n2w, n2w, err);
  if (st == PSFWI_OK && r->sched) st = psfwi_lr_schedule_state_save(r->sched, b3, n3, err);
  const char *cfg = o->meta && o->meta->config ? o->meta->config : "";
  if (st == PSFWI_OK) {
    const psfwi_state_item items[] = {
        {"counters", PSFWI_STATE_F64, SC_COUNT, c},
        {"model", PSFWI_STATE_F32, r->nxz, r->model->vp},
        {"x", PSFWI_STATE_F64, r->nfree, r->x},
        {"wavelet", PSFWI_STATE_F32, r->nw * r->nt, r->wavs},
        {"optim", PSFWI_STATE_U8, n1, b1},
        {"optim_wavelet", PSFWI_STATE_U8, n2, b2},
        {"schedule", PSFWI_STATE_U8, n3, b3},
        {"hist_vp", PSFWI_STATE_F32, r->rows * r->nxz, r->hist_vp},
        {"hist_scalars", PSFWI_STATE_F64, r->rows * r->nscalar, r->hist_sc},
        {"hist_wavelet", PSFWI_STATE_F32, r->rows * r->nw * r->nt, r->hist_wav},
        {"config", PSFWI_STATE_U8, strlen(cfg), (void *)cfg},
        {"reg_scale", PSFWI_STATE_F64, PSFWI_REG_NSCALE, r->reg_factors},
    };
    /* the weights' scale factors only when auto_scale made them */
    const size_t nitems = sizeof items / sizeof items[0] - (o->auto_scale ? 0 : 1);
    st = psfwi_state_write(o->state_path, "rnn", items, nitems, o->meta, err);
  }
  free(b1);
  free(b2);
  free(b3);
  return st;
}

static int read_state(rnn *r, int *done, psfwi_error *err) {
  const psfwi_rnn_opts *o = r->o;
  const char *path = o->state_path;
  psfwi_state_item *items = NULL;
  size_t n = 0;
  int st = psfwi_state_read(path, "rnn", &items, &n, err);
  if (st != PSFWI_OK) return st;
  st = PSFWI_EFORMAT;
  const psfwi_state_item *c =
      psfwi_state_find(items, n, "counters", PSFWI_STATE_F64, SC_COUNT, path, err);
  if (c == NULL) goto done;
  const double *cv = c->data;
  if ((size_t)cv[SC_NX] != r->nx || (size_t)cv[SC_NZ] != r->nz ||
      (size_t)cv[SC_NBAND] != o->nband || (size_t)cv[SC_NSCALAR] != r->nscalar) {
    psfwi_fail(err, PSFWI_EINVAL,
               "'%s': the state is of a %g x %g model, %g bands and %g history scalars; this "
               "run has %zu x %zu, %zu bands and %zu (resume with the same configuration)",
               path, cv[SC_NX], cv[SC_NZ], cv[SC_NBAND], cv[SC_NSCALAR], r->nx, r->nz, o->nband,
               r->nscalar);
    goto done;
  }
  const size_t rows = (size_t)cv[SC_ROWS];
  const psfwi_state_item *m =
      psfwi_state_find(items, n, "model", PSFWI_STATE_F32, r->nxz, path, err);
  const psfwi_state_item *x =
      m ? psfwi_state_find(items, n, "x", PSFWI_STATE_F64, r->nfree, path, err) : NULL;
  const psfwi_state_item *wv =
      x ? psfwi_state_find(items, n, "wavelet", PSFWI_STATE_F32, r->nw * r->nt, path, err) : NULL;
  const psfwi_state_item *o1 =
      wv ? psfwi_state_find(items, n, "optim", PSFWI_STATE_U8, (size_t)-1, path, err) : NULL;
  const psfwi_state_item *o2 =
      o1 ? psfwi_state_find(items, n, "optim_wavelet", PSFWI_STATE_U8, (size_t)-1, path, err)
         : NULL;
  const psfwi_state_item *hv =
      o2 ? psfwi_state_find(items, n, "hist_vp", PSFWI_STATE_F32, rows * r->nxz, path, err) : NULL;
  const psfwi_state_item *hs =
      hv ? psfwi_state_find(items, n, "hist_scalars", PSFWI_STATE_F64, rows * r->nscalar, path, err)
         : NULL;
  const psfwi_state_item *hw = hs ? psfwi_state_find(items, n, "hist_wavelet", PSFWI_STATE_F32,
                                                     rows * r->nw * r->nt, path, err)
                                  : NULL;
  const psfwi_state_item *sh =
      hw ? psfwi_state_find(items, n, "schedule", PSFWI_STATE_U8, (size_t)-1, path, err) : NULL;
  if (sh == NULL) goto done;
  if (o->auto_scale) {
    const psfwi_state_item *rs =
        psfwi_state_find(items, n, "reg_scale", PSFWI_STATE_F64, PSFWI_REG_NSCALE, path, err);
    if (rs == NULL) goto done;
    memcpy(r->reg_factors, rs->data, sizeof r->reg_factors);
    psfwi_reg_apply_scale(&r->reg, r->reg_factors);
    r->scaled = 1;
  }
  r->band = (size_t)cv[SC_BAND];
  r->epoch = (size_t)cv[SC_EPOCH];
  r->J0 = cv[SC_J0];
  *done = cv[SC_DONE] != 0;
  r->nprop = (size_t)cv[SC_NPROP];
  r->lr_x = cv[SC_LRX];
  if (r->band >= o->nband) {
    psfwi_fail(err, PSFWI_EFORMAT, "'%s': band %zu of %zu", path, r->band, o->nband);
    goto done;
  }
  r->config_changed = psfwi_state_config_differs(items, n, o->meta ? o->meta->config : NULL);
  memcpy(r->model->vp, m->data, r->nxz * sizeof(float));
  memcpy(r->x, x->data, r->nfree * sizeof(double));
  memcpy(r->wavs, wv->data, r->nw * r->nt * sizeof(float));
  if (r->opt && (st = psfwi_optim_sgd_state_restore(r->opt, o1->data, o1->n, err)) != PSFWI_OK)
    goto done;
  if (r->wopts) {
    const size_t n2w = o2->n / r->nw;
    for (size_t k = 0; k < r->nw; k++)
      if ((st = psfwi_optim_sgd_state_restore(
               r->wopts[k], (const unsigned char *)o2->data + k * n2w, n2w, err)) != PSFWI_OK)
        goto done;
  }
  if (sh->n > 0) { /* the schedule of the band the state is in */
    if ((st = make_schedule(r, r->band, err)) != PSFWI_OK) goto done;
    if ((st = psfwi_lr_schedule_state_restore(r->sched, sh->data, sh->n, err)) != PSFWI_OK)
      goto done;
  }
  r->rows = 0;
  for (size_t k = 0; k < rows; k++) {
    psfwi_model row = {.grid = r->model->grid, .vp = (float *)hv->data + k * r->nxz};
    memcpy(r->wavs, (const float *)hw->data + k * r->nw * r->nt, r->nw * r->nt * sizeof(float));
    if ((st = hist_push(r, &row, (const double *)hs->data + k * r->nscalar, err)) != PSFWI_OK)
      goto done;
  }
  memcpy(r->wavs, wv->data, r->nw * r->nt * sizeof(float));
  st = PSFWI_OK;
done:
  if (st != PSFWI_OK && err && err->status != PSFWI_OK) psfwi_error_prefix(err, "rnn --resume");
  psfwi_state_free(items, n);
  return st;
}

/* ---- Set-up --------------------------------------------------------------------------- */

static int check_opts(const psfwi_wave *w, const psfwi_model *model, const psfwi_survey *s,
                      const psfwi_rnn_opts *o, psfwi_error *err) {
  const psfwi_wave_info *wi = psfwi_wave_get_info(w);
  if (o->nband == 0 || o->bands == NULL)
    return psfwi_fail(err, PSFWI_EINVAL, "rnn: at least one frequency band is needed");
  for (size_t b = 0; b < o->nband; b++)
    if (o->bands[b].max_iter == 0)
      return psfwi_fail(err, PSFWI_ERANGE, "rnn: band %zu has 0 epochs; expected >= 1", b + 1);
  if (!(o->vmin > 0) || !(o->vmax > o->vmin) || !isfinite(o->vmax))
    return psfwi_fail(err, PSFWI_ERANGE,
                      "rnn: bounds vmin = %g, vmax = %g m/s; expected 0 < vmin < vmax", o->vmin,
                      o->vmax);
  if (o->vmin < wi->vmin_bound || o->vmax > wi->vmax_bound)
    return psfwi_fail(err, PSFWI_ERANGE,
                      "rnn: bounds [%g, %g] m/s exceed the propagator's [%g, %g] m/s", o->vmin,
                      o->vmax, wi->vmin_bound, wi->vmax_bound);
  if (o->batch_shots > s->nshot)
    return psfwi_fail(err, PSFWI_ERANGE,
                      "rnn: batch_shots = %zu for a survey of %zu shots; expected 1 to %zu (0: "
                      "all)",
                      o->batch_shots, s->nshot, s->nshot);
  if (!(o->sgd.lr >= 0.0) || !isfinite(o->sgd.lr) || (o->sgd.lr == 0.0 && !(o->wavelet_lr > 0.0)))
    return psfwi_fail(err, PSFWI_ERANGE,
                      "rnn: learning rate %g m/s per step with a wavelet learning rate of %g; "
                      "expected >= 0, and one of them > 0 (0 keeps that weight fixed)",
                      o->sgd.lr, o->wavelet_lr);
  if (!(o->wavelet_lr >= 0.0) || !isfinite(o->wavelet_lr))
    return psfwi_fail(err, PSFWI_ERANGE, "rnn: wavelet learning rate %g; expected >= 0",
                      o->wavelet_lr);
  if (!(o->clip >= 0.0) || !isfinite(o->clip))
    return psfwi_fail(err, PSFWI_ERANGE, "rnn: clip = %g; expected >= 0 (0: no clipping)", o->clip);
  if (!(o->time_window >= 0.0) || !(o->time_window_growth >= 0.0))
    return psfwi_fail(err, PSFWI_ERANGE,
                      "rnn: time window %g s growing %g s per epoch; "
                      "expected >= 0",
                      o->time_window, o->time_window_growth);
  if (model->grid.nx != wi->nx || model->grid.nz != wi->nz)
    return psfwi_fail(err, PSFWI_EINVAL, "rnn: model of %zu x %zu for a propagator of %zu x %zu",
                      model->grid.nx, model->grid.nz, wi->nx, wi->nz);
  if (o->truth && (o->truth->grid.nx != wi->nx || o->truth->grid.nz != wi->nz))
    return psfwi_fail(err, PSFWI_EINVAL, "rnn: true model of %zu x %zu for a model of %zu x %zu",
                      o->truth->grid.nx, o->truth->grid.nz, wi->nx, wi->nz);
  return PSFWI_OK;
}

static void rnn_free(rnn *r) {
  free(r->free_idx);
  free(r->x);
  free(r->gx);
  free(r->g_v);
  free(r->gw);
  free(r->wx);
  free(r->perm);
  free(r->hist_vp);
  free(r->hist_sc);
  free(r->hist_wav);
  psfwi_model_destroy(r->trial);
  psfwi_filter_destroy(r->filter);
  psfwi_misfit_destroy(r->mf);
  psfwi_reg_ws_destroy(r->reg.ws);
  free(r->plo);
  free(r->phi_);
  free(r->pu);
  psfwi_gradient_ws_destroy(r->gws);
  psfwi_optim_sgd_destroy(r->opt);
  for (size_t k = 0; r->wopts && k < r->nw; k++) psfwi_optim_sgd_destroy(r->wopts[k]);
  free(r->wopts);
  free(r->own_wavs);
  psfwi_lr_schedule_destroy(r->sched);
}

static int rnn_init(rnn *r, const psfwi_wave *w, psfwi_model *model, const psfwi_survey *s,
                    float *wavelet, size_t nt, const float *d_obs, const psfwi_rnn_opts *o,
                    psfwi_error *err) {
  int st = check_opts(w, model, s, o, err);
  if (st != PSFWI_OK) return st;
  int oom = 0;
  r->w = w;
  r->s = s;
  r->wavelet = wavelet;
  r->nw = o->wavelet_per_shot ? s->nshot : 1;
  r->nt = nt;
  r->d_obs = d_obs;
  r->o = o;
  r->model = model;
  r->nx = model->grid.nx;
  r->nz = model->grid.nz;
  r->nxz = r->nx * r->nz;
  r->nshot = s->nshot;
  r->have_truth = o->truth != NULL;
  r->nscalar = psfwi_rnn_scalar_count(r->have_truth);
  r->free_idx = xcalloc(r->nxz, sizeof *r->free_idx, &oom);
  r->g_v = xcalloc(r->nxz, sizeof *r->g_v, &oom);
  r->gw = xcalloc(r->nw * nt, sizeof *r->gw, &oom);
  if (r->nw > 1) {
    r->own_wavs = xcalloc(r->nw * nt, sizeof *r->own_wavs, &oom);
    for (size_t k = 0; r->own_wavs && k < r->nw; k++)
      memcpy(r->own_wavs + k * nt, wavelet, nt * sizeof *wavelet);
  }
  r->wavs = r->nw > 1 ? r->own_wavs : wavelet;
  r->wx = xcalloc(nt, sizeof *r->wx, &oom);
  r->perm = xcalloc(s->nshot, sizeof *r->perm, &oom);
  if (oom)
    return psfwi_fail(err, PSFWI_ENOMEM, "rnn: out of memory for a %zu x %zu model", r->nx, r->nz);
  for (size_t i = 0; i < r->nxz; i++)
    if (o->mask == NULL || !o->mask[i]) r->free_idx[r->nfree++] = i;
  if (r->nfree == 0) return psfwi_fail(err, PSFWI_EINVAL, "rnn: every cell is frozen by the mask");
  r->x = xcalloc(r->nfree, sizeof *r->x, &oom);
  r->gx = xcalloc(r->nfree, sizeof *r->gx, &oom);
  if (oom) return psfwi_fail(err, PSFWI_ENOMEM, "rnn: out of memory");
  if ((r->trial = psfwi_model_copy(model, err)) == NULL) return err->status;
  /* the start: into the bounds, then its parameters */
  const float lo = (float)o->vmin, hi = (float)o->vmax;
  for (size_t k = 0; k < r->nfree; k++) {
    float *v = &model->vp[r->free_idx[k]];
    *v = *v < lo ? lo : *v > hi ? hi : *v;
    r->x[k] = x_of_v(r, (double)*v);
  }
  map_x(r, model);
  unsigned want = PSFWI_GRADIENT_WANT_GRAD;
  if (o->wavelet_lr > 0.0) want |= PSFWI_GRADIENT_WANT_WAVELET;
  if (r->nw > 1) want |= PSFWI_GRADIENT_PER_SHOT_WAVELETS;
  r->gws = psfwi_gradient_ws_create(w, s, nt, want, &o->grad, err);
  if (r->gws == NULL) return err->status;
  r->lr_x = lr_in_x(r, o->sgd.lr);
  psfwi_optim_sgd_options so = o->sgd;
  so.lr = r->lr_x;
  /* a learning rate of 0 keeps the velocity fixed (the wavelet alone learns) */
  if (o->sgd.lr > 0.0 && (r->opt = psfwi_optim_sgd_create(r->nfree, &so, err)) == NULL)
    return err->status;
  if (r->opt && o->param != PSFWI_RNN_SIGMOID) {
    const double b1 = x_of_v(r, o->vmin), b2 = x_of_v(r, o->vmax);
    if ((st = psfwi_optim_sgd_set_bounds(r->opt, NULL, NULL, fmin(b1, b2), fmax(b1, b2), err)))
      return st;
  }
  if (o->wavelet_lr > 0.0) {
    so = o->sgd;
    so.lr = o->wavelet_lr;
    so.weight_decay = 0.0;
    if ((r->wopts = calloc(r->nw, sizeof *r->wopts)) == NULL)
      return psfwi_fail(err, PSFWI_ENOMEM, "rnn: out of memory");
    for (size_t k = 0; k < r->nw; k++)
      if ((r->wopts[k] = psfwi_optim_sgd_create(nt, &so, err)) == NULL) return err->status;
  }
  r->reg = o->reg;
  r->reg.nx = r->nx;
  r->reg.nz = r->nz;
  r->reg.dx = model->grid.dx;
  r->reg.dz = model->grid.dz;
  r->reg.mask = o->mask;
  r->reg.proximal = o->proximal != 0;
  r->reg.ws = NULL;
  for (int k = 0; k < PSFWI_REG_NSCALE; k++) r->reg_factors[k] = 1.0;
  if ((r->reg.nuclear > 0.0 || r->reg.ksupport > 0.0 || (o->proximal && r->reg.tv > 0.0)) &&
      (r->reg.ws = psfwi_reg_ws_create(r->nx, r->nz, err)) == NULL)
    return err->status;
  if (o->proximal) {
    r->plo = xcalloc(r->nxz, sizeof *r->plo, &oom);
    r->phi_ = xcalloc(r->nxz, sizeof *r->phi_, &oom);
    r->pu = xcalloc(r->nxz, sizeof *r->pu, &oom);
    if (oom) return psfwi_fail(err, PSFWI_ENOMEM, "rnn: out of memory for the prox");
  }
  return psfwi_reg_check(&r->reg, err);
}

/* ---- One mini-batch ------------------------------------------------------------------ */

/* The shots of epoch e of band b in a shuffled order that depends only on
 * (seed, band, epoch): a resumed run draws the same batches. */
static void shuffle(rnn *r, size_t b, size_t e) {
  unsigned long long st = psfwi_mix64(r->o->seed ^ psfwi_mix64(((unsigned long long)b << 32) ^ e));
  for (size_t i = 0; i < r->nshot; i++) r->perm[i] = i;
  for (size_t i = r->nshot; i > 1; i--) {
    const size_t j = (size_t)(psfwi_splitmix64(&st) % (unsigned long long)i);
    const size_t t = r->perm[i - 1];
    r->perm[i - 1] = r->perm[j];
    r->perm[j] = t;
  }
}

/* The batch's scaled data misfit (nshot / nbatch) J_b / J0, its gradient
 * with respect to the velocity (into g_v) and the wavelet (gw). */
static int batch_eval(rnn *r, const size_t *shots, size_t nb, size_t nt_window, double *Jraw,
                      double *phi_data, psfwi_error *err) {
  const psfwi_rnn_opts *o = r->o;
  psfwi_gradient_batch b = {
      .shots = shots, .nshots = nb, .nt_window = nt_window, .rank = o->rank, .nrank = o->nrank};
  if (r->nw > 1) {
    b.wavelets = r->wavs;
    b.grad_wavelets = r->wopts ? r->gw : NULL;
  }
  int st = psfwi_gradient_ws_eval(r->gws, r->trial, r->wavs, r->d_obs, r->mf, &b, Jraw, r->g_v,
                                  NULL, r->wopts && r->nw == 1 ? r->gw : NULL, NULL, err);
  if (st != PSFWI_OK) return st;
  r->nprop += 2 * nb;
  const double scale = (double)r->nshot / ((double)nb * r->J0);
  for (size_t i = 0; i < r->nxz; i++) r->g_v[i] *= scale;
  if (r->wopts)
    for (size_t i = 0; i < r->nw * r->nt; i++) r->gw[i] *= scale; /* (other shots' are 0) */
  *phi_data = *Jraw * scale;
  return PSFWI_OK;
}

/* The data misfit of every shot at the current model (forward only): the
 * band's normalisation J0. */
static int full_misfit(rnn *r, size_t nt_window, double *J, psfwi_error *err) {
  psfwi_gradient_batch b = {.nt_window = nt_window, .rank = r->o->rank, .nrank = r->o->nrank};
  if (r->nw > 1) b.wavelets = r->wavs;
  int st = psfwi_gradient_ws_eval(r->gws, r->trial, r->wavs, r->d_obs, r->mf, &b, J, NULL, NULL,
                                  NULL, NULL, err);
  if (st == PSFWI_OK) r->nprop += r->nshot;
  return st;
}

static size_t window_samples(const rnn *r, size_t e) {
  const psfwi_rnn_opts *o = r->o;
  if (!(o->time_window > 0.0)) return 0;
  const double t = o->time_window + o->time_window_growth * (double)e;
  const double dt = psfwi_wave_get_info(r->w)->dt_out;
  const double n = floor(t / dt + 1e-9) + 1.0;
  return n >= (double)r->nt ? 0 : (size_t)n;
}

static void metrics_of(const rnn *r, const psfwi_model *m, psfwi_metrics *mt) {
  psfwi_error e;
  if (!r->have_truth || psfwi_compare(r->o->truth, m, mt, &e) != PSFWI_OK)
    mt->rmse = mt->rel_l2 = mt->ssim = mt->mae = mt->psnr = NAN;
}

int psfwi_rnn_gradient_(const psfwi_wave *w, psfwi_model *model, const psfwi_survey *s,
                        float *wavelet, size_t nt, const float *d_obs, const psfwi_rnn_opts *o,
                        double *J, double *grad, double *grad_wavelet, psfwi_error *err) {
  rnn R = {0}, *r = &R;
  int st = rnn_init(r, w, model, s, wavelet, nt, d_obs, o, err);
  if (st == PSFWI_OK) st = band_setup(r, 0, err);
  if (st == PSFWI_OK) {
    r->J0 = 1.0; /* scale nshot / (nshot J0) = 1: the raw misfit of the batch of all shots */
    memcpy(r->trial->vp, model->vp, r->nxz * sizeof(float));
    double phi;
    st = batch_eval(r, NULL, r->nshot, 0, J, &phi, err);
    if (st == PSFWI_OK) memcpy(grad, r->g_v, r->nxz * sizeof *grad);
    if (st == PSFWI_OK && grad_wavelet && r->wopts)
      memcpy(grad_wavelet, r->gw, r->nw * nt * sizeof *grad_wavelet);
  }
  rnn_free(r);
  return st;
}

/* r->gx from r->g_v by the chain rule over the free cells, clipped by the L2
 * norm ([training] clip); returns the norm before clipping. */
static double gradient_in_x(rnn *r) {
  for (size_t k = 0; k < r->nfree; k++) r->gx[k] = r->g_v[r->free_idx[k]] * dv_dx(r, r->x[k]);
  return psfwi_optim_clip_norm(r->nfree, r->gx, r->o->clip);
}

/* The velocity step auto_scale sizes the weights by (m/s). Adam's and AdamW's
 * first step moves every cell by the learning rate, the m/s of its
 * definition, so it is the rate. The other optimisers' rate is not a step in
 * m/s (sgd: per unit of gradient; rmsprop and adadelta: scaled by their own
 * averages), so their first move on this data gradient is measured: one step
 * of a fresh optimiser of the same options (weight decay off, bounds not
 * applied) on a copy of the weights, clipped as the real step is; the step is
 * its largest velocity change over the free cells. */
static int first_step(rnn *r, double *step, psfwi_error *err) {
  const psfwi_rnn_opts *o = r->o;
  if (o->sgd.method == PSFWI_SGD_ADAM || o->sgd.method == PSFWI_SGD_ADAMW) {
    *step = o->sgd.lr;
    return PSFWI_OK;
  }
  psfwi_optim_sgd_options so = o->sgd;
  so.lr = r->lr_x;
  so.weight_decay = 0.0;
  psfwi_optim_sgd *opt = psfwi_optim_sgd_create(r->nfree, &so, err);
  if (opt == NULL) return err->status;
  double *x = malloc(r->nfree * sizeof *x);
  int st = x ? PSFWI_OK : psfwi_fail(err, PSFWI_ENOMEM, "rnn: out of memory");
  if (st == PSFWI_OK) {
    memcpy(x, r->x, r->nfree * sizeof *x);
    (void)gradient_in_x(r); /* r->gx is the batch step's scratch, refilled after */
    st = psfwi_optim_sgd_step(opt, x, r->gx, err);
  }
  double m = 0.0;
  for (size_t k = 0; st == PSFWI_OK && k < r->nfree; k++) {
    const double d = fabs(v_of_x(r, x[k]) - v_of_x(r, r->x[k]));
    m = d > m ? d : m;
  }
  if (st == PSFWI_OK && !(m > 0.0 && isfinite(m)))
    st = psfwi_fail(err, PSFWI_ERANGE,
                    "rnn: auto_scale: the optimiser's first step moves no cell (%g m/s); "
                    "expected a non-zero data gradient and learning rate",
                    m);
  *step = m;
  free(x);
  psfwi_optim_sgd_destroy(opt);
  return st;
}

/* auto_scale from the data gradient of a band's first batch (r->g_v,
 * normalised), with first_step's step; a note with the factors. */
static int auto_scale(rnn *r, size_t b, psfwi_error *err) {
  const psfwi_rnn_opts *o = r->o;
  double step = 0.0;
  int st = first_step(r, &step, err);
  if (st == PSFWI_OK) st = psfwi_reg_auto_scale(&r->reg, r->g_v, step, r->reg_factors, err);
  if (st != PSFWI_OK) return psfwi_error_prefix(err, "rnn");
  r->scaled = 1;
  /* the history's first row, the start, was made before the factors: its
   * regularization and loss again, with the scaled weights */
  if (r->rows == 1) {
    psfwi_reg_terms terms;
    if ((st = psfwi_reg_eval_terms(&r->reg, r->hist_vp, &terms, NULL, err)) != PSFWI_OK)
      return psfwi_error_prefix(err, "rnn");
    r->hist_sc[RS_REG] = terms.total;
    r->hist_sc[RS_LOSS] = 1.0 + terms.total;
  }
  if (o->progress) {
    char text[448], note[512];
    psfwi_reg_scale_text(r->reg_factors, text, sizeof text);
    snprintf(note, sizeof note, "band %zu: %s", b + 1, text);
    psfwi_rnn_progress q = {0};
    q.band = b;
    q.nband = o->nband;
    q.b = &o->bands[b];
    q.note = note;
    o->progress(o->progress_ctx, &q);
  }
  return PSFWI_OK;
}

/* The proximal step after the optimiser's: with dv the change the step made
 * (model - r->trial on free cells) and g the gradient it followed (r->g_v),
 * a = |dv| / |g| is the step of the gradient step of the same length; the
 * model becomes the prox of a (non-smooth terms) within the bounds (frozen
 * cells held), and x follows it. */
static int prox_step(rnn *r, psfwi_model *model, psfwi_error *err) {
  if (psfwi_reg_prox_count(&r->reg) == 0) return PSFWI_OK;
  double d2 = 0.0, g2 = 0.0;
  for (size_t k = 0; k < r->nfree; k++) {
    const size_t i = r->free_idx[k];
    const double d = (double)model->vp[i] - (double)r->trial->vp[i];
    d2 += d * d;
    g2 += r->g_v[i] * r->g_v[i];
  }
  if (!(g2 > 0.0) || !(d2 > 0.0)) return PSFWI_OK;
  const double a = sqrt(d2 / g2);
  for (size_t i = 0; i < r->nxz; i++) {
    r->pu[i] = (double)model->vp[i];
    r->plo[i] = r->phi_[i] = r->pu[i]; /* frozen */
  }
  for (size_t k = 0; k < r->nfree; k++) {
    const size_t i = r->free_idx[k];
    r->plo[i] = r->o->vmin;
    r->phi_[i] = r->o->vmax;
  }
  const int st = psfwi_reg_prox(&r->reg, a, r->plo, r->phi_, &r->o->prox, r->pu, NULL, err);
  if (st != PSFWI_OK) return psfwi_error_prefix(err, "rnn: proximal step");
  for (size_t k = 0; k < r->nfree; k++) r->x[k] = x_of_v(r, r->pu[r->free_idx[k]]);
  map_x(r, model);
  return PSFWI_OK;
}

int psfwi_rnn_run(const psfwi_wave *w, psfwi_model *model, const psfwi_survey *s, float *wavelet,
                  size_t nt, const float *d_obs, const psfwi_rnn_opts *o, psfwi_error *err) {
  rnn R = {0}, *r = &R;
  int st = rnn_init(r, w, model, s, wavelet, nt, d_obs, o, err);
  double *sc = NULL;
  if (st != PSFWI_OK) goto done;
  size_t planned = 1;
  for (size_t b = 0; b < o->nband; b++) planned += o->bands[b].max_iter;
  {
    char detail[160];
    snprintf(detail, sizeof detail, "%zu epochs of a %zu x %zu model; fewer epochs", planned, r->nx,
             r->nz);
    st = psfwi_mem_check(
        (double)planned * ((double)r->nxz * sizeof(float) + (double)r->nscalar * sizeof(double) +
                           (double)nt * sizeof(float)),
        "the training history", detail, err);
    if (st != PSFWI_OK) goto done;
  }
  int done = 0;
  if (o->resume) {
    if (o->state_path == NULL) {
      st = psfwi_fail(err, PSFWI_EINVAL, "rnn: resume without a state file");
      goto done;
    }
    if ((st = read_state(r, &done, err)) != PSFWI_OK) goto done;
  }
  if ((sc = calloc(r->nscalar, sizeof *sc)) == NULL) {
    st = psfwi_fail(err, PSFWI_ENOMEM, "rnn: out of memory");
    goto done;
  }
  const size_t nb_full = o->batch_shots ? o->batch_shots : r->nshot;
  const double t0 = psfwi_seconds();
  size_t epochs_here = 0;
  if (r->config_changed && o->progress) {
    psfwi_rnn_progress q = {0};
    q.note =
        "the configuration differs from the one the state was written with: the result "
        "is that of the changed run";
    o->progress(o->progress_ctx, &q);
  }
  for (size_t b = r->band; b < o->nband && !done; b++) {
    if ((st = band_setup(r, b, err)) != PSFWI_OK) break;
    const size_t nep = o->bands[b].max_iter;
    if (b != r->band || r->epoch == 0) { /* a band's start (not a resumed middle) */
      r->band = b;
      r->epoch = 0;
      /* auto_scale at this band's first batch: every band's (EACH) or the
       * first's; a state of the first band's start (a run killed in its
       * first epoch) holds no factors yet */
      if (o->auto_scale && (b == 0 || o->auto_scale == PSFWI_AUTO_SCALE_EACH)) {
        psfwi_reg_copy_weights(&r->reg, &o->reg);
        for (int k = 0; k < PSFWI_REG_NSCALE; k++) r->reg_factors[k] = 1.0;
        r->scaled = 0;
      }
      if ((st = make_schedule(r, b, err)) != PSFWI_OK) break;
      memcpy(r->trial->vp, model->vp, r->nxz * sizeof(float));
      double J;
      st = full_misfit(r, window_samples(r, 0), &J, err);
      if (st == PSFWI_ENONFINITE)
        psfwi_error_prefix(err,
                           "rnn: start of band %zu: the loss is not finite; stopped, the last "
                           "good model is kept (check the wavelet and the data)",
                           b + 1);
      if (st != PSFWI_OK) break;
      r->J0 = J > 0 && isfinite(J) ? J : 1.0;
      if (r->rows == 0) { /* row 0: the starting model */
        psfwi_reg_terms terms;
        if ((st = psfwi_reg_eval_terms(&r->reg, model->vp, &terms, NULL, err)) != PSFWI_OK) break;
        memset(sc, 0, r->nscalar * sizeof *sc);
        sc[RS_LOSS] = 1.0 + terms.total;
        sc[RS_MISFIT] = J;
        sc[RS_REG] = terms.total;
        sc[RS_FHIGH] = o->bands[b].f_high;
        sc[RS_LR] = psfwi_lr_at(r->sched, 0);
        sc[RS_PROP] = (double)r->nprop;
        sc[RS_WINDOW] = (double)window_samples(r, 0) * psfwi_wave_get_info(w)->dt_out;
        if (r->have_truth) {
          psfwi_metrics mt;
          metrics_of(r, model, &mt);
          sc[RS_RMSE] = mt.rmse;
          sc[RS_REL] = mt.rel_l2;
          sc[RS_SSIM] = mt.ssim;
        }
        if ((st = hist_push(r, model, sc, err)) != PSFWI_OK) break;
        if ((st = write_history(r, err)) != PSFWI_OK) break;
      }
      if ((st = write_state(r, 0, err)) != PSFWI_OK) break;
    }
    for (size_t e = r->epoch; e < nep; e++) {
      const size_t ntw = window_samples(r, e);
      const double lr = psfwi_lr_at(r->sched, e);
      /* the schedule's factor applies to the velocity's and the wavelet's rates */
      const double factor = lr / (o->sgd.lr > 0.0 ? o->sgd.lr : 1.0);
      /* a rate of 0 (a cosine's last epoch with lr_min = 0): no update */
      const int update = factor > 0.0;
      if (update && r->opt &&
          (st = psfwi_optim_sgd_set_lr(r->opt, r->lr_x * factor, err)) != PSFWI_OK)
        break;
      for (size_t k = 0; update && r->wopts && k < r->nw && st == PSFWI_OK; k++)
        st = psfwi_optim_sgd_set_lr(r->wopts[k], o->wavelet_lr * factor, err);
      if (st != PSFWI_OK) break;
      shuffle(r, b, e);
      double misfit_sum = 0.0, phi_sum = 0.0, gnorm_max = 0.0;
      size_t nbatches = 0;
      for (size_t first = 0; first < r->nshot && st == PSFWI_OK; first += nb_full) {
        const size_t nb = first + nb_full <= r->nshot ? nb_full : r->nshot - first;
        memcpy(r->trial->vp, model->vp, r->nxz * sizeof(float));
        double Jraw, phi;
        st = batch_eval(r, r->perm + first, nb, ntw, &Jraw, &phi, err);
        if (st == PSFWI_OK && !isfinite(Jraw))
          st = psfwi_fail(err, PSFWI_ENONFINITE, "the loss is %g", Jraw);
        if (st == PSFWI_ENONFINITE)
          psfwi_error_prefix(err,
                             "rnn: band %zu epoch %zu: the loss is not finite; stopped, the last "
                             "good model is kept (lower [training] learning_rate, "
                             "wavelet_learning_rate or set clip)",
                             b + 1, e + 1);
        if (st != PSFWI_OK) break;
        if (o->auto_scale && !r->scaled && (st = auto_scale(r, b, err)) != PSFWI_OK) break;
        psfwi_reg_terms terms;
        if ((st = psfwi_reg_eval_terms(&r->reg, model->vp, &terms, r->g_v, err)) != PSFWI_OK) break;
        const double gn = gradient_in_x(r);
        gnorm_max = gn > gnorm_max ? gn : gnorm_max;
        if (update && r->opt && (st = psfwi_optim_sgd_step(r->opt, r->x, r->gx, err)) != PSFWI_OK)
          break;
        map_x(r, model);
        if (update && r->opt && o->proximal && (st = prox_step(r, model, err)) != PSFWI_OK) break;
        /* the wavelets of the batch (the one wavelet, or each batch shot's) */
        for (size_t k = 0; update && r->wopts && k < (r->nw > 1 ? nb : 1); k++) {
          const size_t iw = r->nw > 1 ? r->perm[first + k] : 0;
          float *wv = r->wavs + iw * r->nt;
          double *gk = r->gw + iw * r->nt;
          (void)psfwi_optim_clip_norm(r->nt, gk, o->clip);
          for (size_t i = 0; i < r->nt; i++) r->wx[i] = (double)wv[i];
          if ((st = psfwi_optim_sgd_step(r->wopts[iw], r->wx, gk, err)) != PSFWI_OK) break;
          for (size_t i = 0; i < r->nt; i++) wv[i] = (float)r->wx[i];
        }
        if (st != PSFWI_OK) break;
        misfit_sum += Jraw;
        phi_sum += phi + terms.total;
        nbatches++;
      }
      if (st != PSFWI_OK) break;
      /* cells the step pushed onto a bound (projected there) */
      size_t clamped = 0;
      for (size_t k = 0; k < r->nfree; k++) {
        const float v = model->vp[r->free_idx[k]];
        clamped += (double)v <= o->vmin * (1.0 + 1e-6) || (double)v >= o->vmax * (1.0 - 1e-6);
      }
      psfwi_reg_terms terms;
      if ((st = psfwi_reg_eval_terms(&r->reg, model->vp, &terms, NULL, err)) != PSFWI_OK) break;
      const double loss = phi_sum / (double)nbatches;
      if ((st = psfwi_lr_schedule_step(r->sched, e, loss, NULL, err)) != PSFWI_OK) break;
      r->epoch = e + 1;
      epochs_here++;
      psfwi_rnn_progress p = {0};
      p.band = b;
      p.nband = o->nband;
      p.b = &o->bands[b];
      p.epoch = e + 1;
      p.epochs = nep;
      p.row = r->rows;
      p.rows_planned = planned;
      p.loss = loss;
      p.misfit = misfit_sum;
      p.regularization = terms.total;
      p.lr = lr;
      p.gradient_norm = gnorm_max;
      p.clamped = clamped;
      p.propagations = r->nprop;
      p.time_window = (double)ntw * psfwi_wave_get_info(w)->dt_out;
      p.have_truth = r->have_truth;
      metrics_of(r, model, &p.metrics);
      memset(sc, 0, r->nscalar * sizeof *sc);
      sc[RS_LOSS] = loss;
      sc[RS_MISFIT] = misfit_sum;
      sc[RS_REG] = terms.total;
      sc[RS_BAND] = (double)b;
      sc[RS_FHIGH] = o->bands[b].f_high;
      sc[RS_LR] = lr;
      sc[RS_GNORM] = gnorm_max;
      sc[RS_PROP] = (double)r->nprop;
      sc[RS_WINDOW] = p.time_window;
      sc[RS_CLAMPED] = (double)clamped;
      if (r->have_truth) {
        sc[RS_RMSE] = p.metrics.rmse;
        sc[RS_REL] = p.metrics.rel_l2;
        sc[RS_SSIM] = p.metrics.ssim;
      }
      if ((st = hist_push(r, model, sc, err)) != PSFWI_OK) break;
      if ((st = write_history(r, err)) != PSFWI_OK) break;
      if ((st = write_state(r, 0, err)) != PSFWI_OK) break;
      p.elapsed = psfwi_seconds() - t0;
      p.eta = p.elapsed / (double)epochs_here * (double)(planned - r->rows);
      if (o->progress) o->progress(o->progress_ctx, &p);
      if (o->stop_after && epochs_here >= o->stop_after) {
        st = psfwi_fail(err, PSFWI_EINTERRUPTED,
                        "rnn: stopped after %zu epochs as asked; resume from '%s'", epochs_here,
                        o->state_path ? o->state_path : "(no state file)");
        break;
      }
    }
    if (st != PSFWI_OK) break;
    r->epoch = 0;
    r->band = b + 1;
  }
  if (st == PSFWI_OK) {
    r->band = o->nband - 1;
    r->epoch = o->bands[o->nband - 1].max_iter;
    st = write_state(r, 1, err);
    if (st == PSFWI_OK) st = write_history(r, err);
  }
done:
  free(sc);
  rnn_free(r);
  return st;
}
