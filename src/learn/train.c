/* Mini-batch training of a network on feature images (psfwi_learn.h). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_learn.h"

void psfwi_train_defaults(psfwi_train_opts *o) {
  memset(o, 0, sizeof *o);
  o->batch = 32;
  o->epochs = 100;
  o->loss = PSFWI_NN_L1;
  o->huber_delta = 0.1;
  psfwi_optim_sgd_options_init(&o->sgd, PSFWI_SGD_ADAM);
  psfwi_lr_schedule_options_init(&o->schedule, PSFWI_LR_CONSTANT, o->sgd.lr);
  o->clip = 0;
  o->val_fraction = 0.1;
  o->patience = 0;
  o->seed = 1;
}

struct psfwi_trainer {
  psfwi_nn *nn;
  psfwi_train_data d;
  psfwi_train_opts o;
  size_t wp;           /* padded width */
  size_t in_size;      /* nchan * wp */
  size_t out_size;     /* nz * wp */
  size_t ntrain, nval; /* order[0..ntrain) train, order[ntrain..n) validation */
  size_t *order;       /* the fixed split */
  size_t *perm;        /* this epoch's order of the training samples */
  psfwi_nn_real *xb;   /* batch inputs, batch * in_size */
  psfwi_nn_real *tb;   /* batch targets, batch * out_size */
  psfwi_nn_real *dy;   /* batch * out_size */
  psfwi_nn_real *dx;   /* batch * in_size: J^T v for the geometric complexity */
  psfwi_optim_sgd *sgd;
  psfwi_lr_schedule *sch;
  psfwi_train_penalty_fn penalty;
  void *penalty_ctx;
  psfwi_nn_pen *pen;     /* the network penalties (psfwi_trainer_set_net_penalty) */
  double adv_w, adv_eps; /* adversarial training (psfwi_trainer_set_adversarial) */
  size_t adv_steps;
  psfwi_nn_real *xa, *gsave; /* batch * in_size; nparam */
  /* progress */
  size_t epoch; /* epochs done */
  double best_val;
  size_t bad_epochs;
  float *best; /* nparam + nbuffer */
};

/* Fisher-Yates with a splitmix64 stream. */
static void shuffle(size_t *v, size_t n, unsigned long long seed) {
  unsigned long long s = seed;
  for (size_t i = n; i > 1; i--) {
    const size_t j = (size_t)(psfwi_splitmix64(&s) % i);
    const size_t t = v[i - 1];
    v[i - 1] = v[j];
    v[j] = t;
  }
}

void psfwi_trainer_destroy(psfwi_trainer *tr) {
  if (tr == NULL) return;
  psfwi_nn_pen_destroy(tr->pen);
  free(tr->xa);
  free(tr->gsave);
  free(tr->order);
  free(tr->perm);
  free(tr->xb);
  free(tr->tb);
  free(tr->dy);
  free(tr->dx);
  free(tr->best);
  psfwi_optim_sgd_destroy(tr->sgd);
  psfwi_lr_schedule_destroy(tr->sch);
  free(tr);
}

psfwi_trainer *psfwi_trainer_create(psfwi_nn *nn, const psfwi_train_data *d,
                                    const psfwi_train_opts *o, psfwi_error *err) {
  size_t c, h, w;
  psfwi_nn_shape(nn, -1, &c, &h, &w);
  if (d->n < 1 || d->x == NULL || d->t == NULL) {
    psfwi_fail(err, PSFWI_EINVAL, "training: no samples");
    return NULL;
  }
  if (c != d->nchan || h != 1 || w < d->width) {
    psfwi_fail(err, PSFWI_EINVAL,
               "training: the network takes (%zu, %zu, %zu) inputs, the features are %zu "
               "channels x %zu positions",
               c, h, w, d->nchan, d->width);
    return NULL;
  }
  size_t oc, oh, ow;
  psfwi_nn_shape(nn, (int)psfwi_nn_nlayer(nn) - 1, &oc, &oh, &ow);
  if (oc != d->nz || oh != 1 || ow != w) {
    psfwi_fail(err, PSFWI_EINVAL,
               "training: the network gives (%zu, %zu, %zu) outputs, the targets need (%zu, 1, "
               "%zu): the last layer must have nz = %zu channels and keep the width",
               oc, oh, ow, d->nz, w, d->nz);
    return NULL;
  }
  if (o->batch < 1 || o->epochs < 1 || !(o->val_fraction >= 0 && o->val_fraction <= 0.9)) {
    psfwi_fail(err, PSFWI_ERANGE,
               "training: batch = %zu, epochs = %zu, val_fraction = %g: expected >= 1, >= 1, "
               "[0, 0.9]",
               o->batch, o->epochs, o->val_fraction);
    return NULL;
  }
  psfwi_trainer *tr = calloc(1, sizeof *tr);
  if (tr == NULL) {
    psfwi_fail(err, PSFWI_ENOMEM, "training: out of memory");
    return NULL;
  }
  tr->nn = nn;
  tr->d = *d;
  tr->o = *o;
  tr->wp = w;
  tr->in_size = c * w;
  tr->out_size = oc * w;
  tr->nval = (size_t)floor(o->val_fraction * (double)d->n + 0.5);
  if (tr->nval >= d->n) tr->nval = d->n - 1;
  tr->ntrain = d->n - tr->nval;
  if (tr->o.batch > tr->ntrain) tr->o.batch = tr->ntrain;
  const size_t b = tr->o.batch;
  const double bytes =
      (double)b * (double)(2 * tr->in_size + 2 * tr->out_size) * sizeof(psfwi_nn_real);
  if (psfwi_mem_check(bytes, "training batch buffers", NULL, err) != PSFWI_OK) goto fail;
  tr->order = malloc(d->n * sizeof *tr->order);
  tr->perm = malloc(d->n * sizeof *tr->perm);
  tr->xb = calloc(b * tr->in_size, sizeof *tr->xb);
  tr->tb = calloc(b * tr->out_size, sizeof *tr->tb);
  tr->dy = calloc(b * tr->out_size, sizeof *tr->dy);
  tr->dx = calloc(b * tr->in_size, sizeof *tr->dx);
  tr->best = malloc((psfwi_nn_nparam(nn) + psfwi_nn_nbuffer(nn) + 1) * sizeof *tr->best);
  if (!tr->order || !tr->perm || !tr->xb || !tr->tb || !tr->dy || !tr->dx || !tr->best) {
    psfwi_fail(err, PSFWI_ENOMEM, "training: out of memory");
    goto fail;
  }
  for (size_t i = 0; i < d->n; i++) tr->order[i] = i;
  shuffle(tr->order, d->n, psfwi_mix64(o->seed ^ 0x5eed5011ULL));
  tr->sgd = psfwi_optim_sgd_create(psfwi_nn_nparam(nn), &o->sgd, err);
  if (tr->sgd == NULL) goto fail;
  psfwi_lr_schedule_options so = o->schedule;
  so.lr0 = o->sgd.lr;
  tr->sch = psfwi_lr_schedule_create(&so, err);
  if (tr->sch == NULL) goto fail;
  tr->best_val = INFINITY;
  memcpy(tr->best, psfwi_nn_params(nn), psfwi_nn_nparam(nn) * sizeof *tr->best);
  memcpy(tr->best + psfwi_nn_nparam(nn), psfwi_nn_buffers(nn),
         psfwi_nn_nbuffer(nn) * sizeof *tr->best);
  return tr;
fail:
  psfwi_trainer_destroy(tr);
  return NULL;
}

void psfwi_trainer_set_penalty(psfwi_trainer *tr, psfwi_train_penalty_fn fn, void *ctx) {
  tr->penalty = fn;
  tr->penalty_ctx = ctx;
}
int psfwi_trainer_set_net_penalty(psfwi_trainer *tr, const psfwi_nn_pen_opts *o, psfwi_error *err) {
  psfwi_nn_pen_destroy(tr->pen);
  tr->pen = NULL;
  if (o == NULL ||
      !(o->l1 > 0 || o->l2 > 0 || o->spectral > 0 || o->jacobian > 0 || o->nuclear > 0))
    return PSFWI_OK;
  const size_t wp = tr->wp, w = tr->d.width;
  unsigned char *in = malloc(tr->in_size), *out = malloc(tr->out_size);
  if (in == NULL || out == NULL) {
    free(in);
    free(out);
    return psfwi_fail(err, PSFWI_ENOMEM, "training: out of memory");
  }
  /* the padding beyond the data's width neither moves nor counts */
  for (size_t i = 0; i < tr->in_size; i++) in[i] = i % wp < w;
  for (size_t i = 0; i < tr->out_size; i++) out[i] = i % wp < w;
  tr->pen = psfwi_nn_pen_create(tr->nn, o, tr->o.batch, in, out, err);
  free(in);
  free(out);
  return tr->pen ? PSFWI_OK : err->status;
}

int psfwi_trainer_set_adversarial(psfwi_trainer *tr, double weight, double eps, size_t steps,
                                  psfwi_error *err) {
  if (!(weight >= 0) || !isfinite(weight) || !(eps >= 0) || !isfinite(eps) || steps < 1)
    return psfwi_fail(err, PSFWI_ERANGE,
                      "adversarial training: weight = %g, eps = %g (finite, >= 0), steps = %zu "
                      "(>= 1)",
                      weight, eps, steps);
  tr->adv_w = weight;
  tr->adv_eps = eps;
  tr->adv_steps = steps;
  if (weight > 0 && tr->xa == NULL) {
    tr->xa = malloc(tr->o.batch * tr->in_size * sizeof *tr->xa);
    tr->gsave = malloc((psfwi_nn_nparam(tr->nn) + 1) * sizeof *tr->gsave);
    if (tr->xa == NULL || tr->gsave == NULL)
      return psfwi_fail(err, PSFWI_ENOMEM, "adversarial training: out of memory");
  }
  return PSFWI_OK;
}

size_t psfwi_trainer_nval(const psfwi_trainer *tr) { return tr->nval; }
size_t psfwi_trainer_epochs_done(const psfwi_trainer *tr) { return tr->epoch; }

void psfwi_trainer_use_best(psfwi_trainer *tr) {
  if (!isfinite(tr->best_val) || tr->best == NULL) return;
  memcpy(psfwi_nn_params(tr->nn), tr->best, psfwi_nn_nparam(tr->nn) * sizeof *tr->best);
  memcpy(psfwi_nn_buffers(tr->nn), tr->best + psfwi_nn_nparam(tr->nn),
         psfwi_nn_nbuffer(tr->nn) * sizeof *tr->best);
}

/* Copy samples idx[0..nb) into the padded batch buffers. */
static void gather(psfwi_trainer *tr, const size_t *idx, size_t nb) {
  const psfwi_train_data *d = &tr->d;
  const size_t wp = tr->wp, w = d->width;
  memset(tr->xb, 0, nb * tr->in_size * sizeof *tr->xb);
  memset(tr->tb, 0, nb * tr->out_size * sizeof *tr->tb);
  for (size_t b = 0; b < nb; b++) {
    const float *xs = d->x + idx[b] * d->nchan * w;
    const float *ts = d->t + idx[b] * d->nz * w;
    for (size_t c = 0; c < d->nchan; c++)
      for (size_t j = 0; j < w; j++)
        tr->xb[(b * d->nchan + c) * wp + j] = (psfwi_nn_real)xs[c * w + j];
    for (size_t z = 0; z < d->nz; z++)
      for (size_t j = 0; j < w; j++)
        tr->tb[(b * d->nz + z) * wp + j] = (psfwi_nn_real)ts[z * w + j];
  }
}

/* Mean data loss over the valid columns of nb samples; dy (may be NULL)
 * gets its gradient (zero in the padding). */
static double batch_loss(psfwi_trainer *tr, const psfwi_nn_real *y, size_t nb, psfwi_nn_real *dy) {
  const size_t wp = tr->wp, w = tr->d.width, rows = nb * tr->d.nz;
  double sum = 0;
  if (dy) memset(dy, 0, nb * tr->out_size * sizeof *dy);
  for (size_t r = 0; r < rows; r++) {
    /* the row's mean; the loss is the mean of the rows' means */
    const double m = psfwi_nn_loss_eval(tr->o.loss, tr->o.huber_delta, y + r * wp, tr->tb + r * wp,
                                        w, 1.0 / (double)rows, dy ? dy + r * wp : NULL);
    sum += m;
  }
  return sum / (double)rows;
}

double psfwi_trainer_val_loss(psfwi_trainer *tr, psfwi_error *err) {
  if (tr->nval == 0) return NAN;
  double sum = 0;
  for (size_t first = 0; first < tr->nval; first += tr->o.batch) {
    const size_t nb = first + tr->o.batch <= tr->nval ? tr->o.batch : tr->nval - first;
    gather(tr, tr->order + tr->ntrain + first, nb);
    const psfwi_nn_real *y = psfwi_nn_forward(tr->nn, tr->xb, nb, 0, err);
    if (y == NULL) return NAN;
    sum += batch_loss(tr, y, nb, NULL) * (double)nb;
  }
  return sum / (double)tr->nval;
}

int psfwi_trainer_geometric_complexity(psfwi_trainer *tr, size_t nsample, size_t nproj,
                                       uint64_t seed, double *gc, double *se, psfwi_error *err) {
  *gc = NAN;
  *se = NAN;
  const size_t *pool = tr->nval ? tr->order + tr->ntrain : tr->order;
  const size_t npool = tr->nval ? tr->nval : tr->ntrain;
  if (nsample > npool) nsample = npool;
  if (nsample == 0 || nproj == 0)
    return psfwi_fail(err, PSFWI_EINVAL, "geometric complexity: no samples or projections");
  const size_t wp = tr->wp, w = tr->d.width, nz = tr->d.nz, nc = tr->d.nchan;
  unsigned long long rs = psfwi_mix64((unsigned long long)seed ^ 0x6e6f726dULL);
  double sum = 0, sum2 = 0;
  size_t ndraw = 0;
  for (size_t first = 0; first < nsample; first += tr->o.batch) {
    const size_t nb = first + tr->o.batch <= nsample ? tr->o.batch : nsample - first;
    gather(tr, pool + first, nb);
    if (psfwi_nn_forward(tr->nn, tr->xb, nb, 0, err) == NULL) return err->status;
    for (size_t p = 0; p < nproj; p++) {
      memset(tr->dy, 0, nb * tr->out_size * sizeof *tr->dy);
      for (size_t b = 0; b < nb; b++)
        for (size_t z = 0; z < nz; z++)
          for (size_t j = 0; j < w; j++)
            tr->dy[(b * nz + z) * wp + j] = (psfwi_nn_real)psfwi_normal_draw(&rs);
      if (psfwi_nn_backward(tr->nn, tr->dy, tr->dx, err) != PSFWI_OK) return err->status;
      for (size_t b = 0; b < nb; b++) {
        double q = 0;
        for (size_t c = 0; c < nc; c++)
          for (size_t j = 0; j < w; j++) {
            const double g = (double)tr->dx[(b * nc + c) * wp + j];
            q += g * g;
          }
        sum += q;
        sum2 += q * q;
        ndraw++;
      }
    }
  }
  psfwi_nn_zero_grad(tr->nn);
  const double mean = sum / (double)ndraw;
  *gc = mean;
  if (ndraw > 1) {
    const double var = (sum2 - (double)ndraw * mean * mean) / (double)(ndraw - 1);
    *se = sqrt(fmax(var, 0.0) / (double)ndraw);
  }
  return isfinite(mean) ? PSFWI_OK
                        : psfwi_fail(err, PSFWI_ENONFINITE, "geometric complexity: not finite");
}

/* Adversarial training on the batch in tr->xb (tr->dx: the data loss's
 * input gradient): x_a by `adv_steps` signed-gradient steps in the l_inf
 * ball of radius adv_eps (valid inputs only; FGSM for one step, else PGD
 * with steps of 2.5 eps / steps), then adv_w times the loss at x_a and its
 * parameter gradient are added. Training mode, as the data step. */
static int adversarial(psfwi_trainer *tr, size_t nb, double *value, psfwi_error *err) {
  psfwi_nn *nn = tr->nn;
  const size_t n = nb * tr->in_size, wp = tr->wp, w = tr->d.width, np = psfwi_nn_nparam(nn);
  const double eps = tr->adv_eps;
  const double alpha = tr->adv_steps == 1 ? eps : 2.5 * eps / (double)tr->adv_steps;
  memcpy(tr->xa, tr->xb, n * sizeof *tr->xa);
  if (tr->adv_steps > 1) memcpy(tr->gsave, psfwi_nn_grads(nn), np * sizeof *tr->gsave);
  for (size_t k = 0; k < tr->adv_steps; k++) {
    if (k > 0) { /* the input gradient at the current x_a */
      const psfwi_nn_real *y = psfwi_nn_forward(nn, tr->xa, nb, 1, err);
      if (y == NULL) return err->status;
      (void)batch_loss(tr, y, nb, tr->dy);
      if (psfwi_nn_backward(nn, tr->dy, tr->dx, err) != PSFWI_OK) return err->status;
    }
    for (size_t i = 0; i < n; i++) {
      if (i % wp >= w) continue; /* padding */
      const double g = (double)tr->dx[i];
      double v = (double)tr->xa[i] + (g > 0 ? alpha : g < 0 ? -alpha : 0.0);
      const double x0 = (double)tr->xb[i];
      v = v > x0 + eps ? x0 + eps : v < x0 - eps ? x0 - eps : v;
      tr->xa[i] = (psfwi_nn_real)v;
    }
  }
  if (tr->adv_steps > 1) memcpy(psfwi_nn_grads(nn), tr->gsave, np * sizeof *tr->gsave);
  const psfwi_nn_real *y = psfwi_nn_forward(nn, tr->xa, nb, 1, err);
  if (y == NULL) return err->status;
  const double la = batch_loss(tr, y, nb, tr->dy);
  for (size_t i = 0; i < nb * tr->out_size; i++)
    tr->dy[i] = (psfwi_nn_real)(tr->adv_w * (double)tr->dy[i]);
  if (psfwi_nn_backward(nn, tr->dy, NULL, err) != PSFWI_OK) return err->status;
  *value = tr->adv_w * la;
  return isfinite(la)
             ? PSFWI_OK
             : psfwi_fail(err, PSFWI_ENONFINITE, "adversarial training: the loss is %g", la);
}

int psfwi_trainer_epoch(psfwi_trainer *tr, psfwi_train_epoch *info, psfwi_error *err) {
  const double t0 = psfwi_seconds();
  const size_t e = tr->epoch;
  memset(info, 0, sizeof *info);
  info->epoch = e;
  info->lr = psfwi_lr_schedule_lr(tr->sch);
  memcpy(tr->perm, tr->order, tr->ntrain * sizeof *tr->perm);
  shuffle(tr->perm, tr->ntrain, psfwi_mix64(tr->o.seed + 0x9e37ULL * (e + 1)));
  const size_t np = psfwi_nn_nparam(tr->nn);
  double loss_sum = 0, pen_sum = 0, gn_sum = 0;
  size_t nbatch = 0;
  for (size_t first = 0; first < tr->ntrain; first += tr->o.batch) {
    const size_t nb = first + tr->o.batch <= tr->ntrain ? tr->o.batch : tr->ntrain - first;
    gather(tr, tr->perm + first, nb);
    const psfwi_nn_real *y = psfwi_nn_forward(tr->nn, tr->xb, nb, 1, err);
    if (y == NULL) return err->status;
    const double loss = batch_loss(tr, y, nb, tr->dy);
    if (!isfinite(loss))
      return psfwi_fail(err, PSFWI_ENONFINITE, "training: the loss of epoch %zu, batch %zu is %g",
                        e + 1, nbatch + 1, loss);
    psfwi_nn_zero_grad(tr->nn);
    if (psfwi_nn_backward(tr->nn, tr->dy, tr->adv_w > 0 ? tr->dx : NULL, err) != PSFWI_OK)
      return err->status;
    double pen = 0;
    if (tr->adv_w > 0) {
      double v = 0;
      if (adversarial(tr, nb, &v, err) != PSFWI_OK)
        return psfwi_error_prefix(err, "training epoch %zu, batch %zu: ", e + 1, nbatch + 1);
      pen += v;
    }
    if (tr->pen) {
      psfwi_nn_pen_terms pt;
      if (psfwi_nn_pen_eval(tr->pen, tr->xb, nb, 1, &pt, err) != PSFWI_OK)
        return psfwi_error_prefix(err, "training epoch %zu, batch %zu: ", e + 1, nbatch + 1);
      pen += pt.total;
    }
    double hook = 0;
    if (tr->penalty && tr->penalty(tr->penalty_ctx, tr->nn, tr->xb, nb, &hook, err) != PSFWI_OK)
      return psfwi_error_prefix(err, "training epoch %zu, batch %zu: ", e + 1, nbatch + 1);
    pen += hook;
    float *g = psfwi_nn_grads(tr->nn);
    const double gn = psfwi_optim_clip_normf(np, g, tr->o.clip);
    if (!isfinite(gn))
      return psfwi_fail(err, PSFWI_ENONFINITE,
                        "training: the gradient of epoch %zu, batch %zu is not finite", e + 1,
                        nbatch + 1);
    if (psfwi_optim_sgd_stepf(tr->sgd, psfwi_nn_params(tr->nn), g, err) != PSFWI_OK)
      return err->status;
    loss_sum += loss * (double)nb;
    pen_sum += pen;
    gn_sum += gn;
    nbatch++;
  }
  info->train_loss = loss_sum / (double)tr->ntrain;
  info->penalty = pen_sum / (double)nbatch;
  info->grad_norm = gn_sum / (double)nbatch;
  info->val_loss = psfwi_trainer_val_loss(tr, err);
  if (tr->nval && !isfinite(info->val_loss))
    return err->status
               ? err->status
               : psfwi_fail(err, PSFWI_ENONFINITE,
                            "training: the validation loss of epoch %zu is not finite", e + 1);
  const double metric = tr->nval ? info->val_loss : info->train_loss;
  if (metric < tr->best_val * (1 - 1e-4) || !isfinite(tr->best_val)) {
    tr->best_val = metric;
    tr->bad_epochs = 0;
    info->improved = 1;
    memcpy(tr->best, psfwi_nn_params(tr->nn), np * sizeof *tr->best);
    memcpy(tr->best + np, psfwi_nn_buffers(tr->nn), psfwi_nn_nbuffer(tr->nn) * sizeof *tr->best);
  } else {
    tr->bad_epochs++;
  }
  double lr;
  if (psfwi_lr_schedule_step(tr->sch, e, metric, &lr, err) != PSFWI_OK) return err->status;
  /* a schedule may reach 0 (cosine to lr_min = 0 at its end): the optimiser
   * wants a positive rate, and the smallest normal double moves nothing */
  if (psfwi_optim_sgd_set_lr(tr->sgd, lr > 0 ? lr : DBL_MIN, err) != PSFWI_OK) return err->status;
  tr->epoch++;
  info->stop = tr->epoch >= tr->o.epochs || (tr->o.patience && tr->bad_epochs >= tr->o.patience);
  info->seconds = psfwi_seconds() - t0;
  return PSFWI_OK;
}

/* ---- State ------------------------------------------------------------------------ */
#define STATE_MAGIC 0x70736e6e74726e31ULL /* "psnntrn1" */

typedef struct state_head {
  unsigned long long magic;
  unsigned long long nparam, nbuffer, sgd_size, sch_size;
  unsigned long long epoch, bad_epochs;
  unsigned long long dropout; /* the network's dropout stream */
  double best_val;
  unsigned long long checksum; /* FNV-1a of everything after the head */
} state_head;

size_t psfwi_trainer_state_size(const psfwi_trainer *tr) {
  const size_t nv = psfwi_nn_nparam(tr->nn) + psfwi_nn_nbuffer(tr->nn);
  return sizeof(state_head) + 2 * nv * sizeof(float) + psfwi_optim_sgd_state_size(tr->sgd) +
         psfwi_lr_schedule_state_size(tr->sch);
}

int psfwi_trainer_state_save(const psfwi_trainer *tr, void *buf, size_t size, psfwi_error *err) {
  if (size != psfwi_trainer_state_size(tr))
    return psfwi_fail(err, PSFWI_ERANGE, "training state: buffer of %zu bytes, expected %zu", size,
                      psfwi_trainer_state_size(tr));
  psfwi_nn *nn = tr->nn;
  const size_t np = psfwi_nn_nparam(nn), nb = psfwi_nn_nbuffer(nn);
  state_head h = {STATE_MAGIC,
                  np,
                  nb,
                  psfwi_optim_sgd_state_size(tr->sgd),
                  psfwi_lr_schedule_state_size(tr->sch),
                  tr->epoch,
                  tr->bad_epochs,
                  psfwi_nn_dropout_state(nn),
                  tr->best_val,
                  0};
  char *p = (char *)buf + sizeof h;
  memcpy(p, psfwi_nn_params(nn), np * sizeof(float));
  p += np * sizeof(float);
  memcpy(p, psfwi_nn_buffers(nn), nb * sizeof(float));
  p += nb * sizeof(float);
  memcpy(p, tr->best, (np + nb) * sizeof(float));
  p += (np + nb) * sizeof(float);
  if (psfwi_optim_sgd_state_save(tr->sgd, p, h.sgd_size, err) != PSFWI_OK) return err->status;
  p += h.sgd_size;
  if (psfwi_lr_schedule_state_save(tr->sch, p, h.sch_size, err) != PSFWI_OK) return err->status;
  h.checksum = psfwi_fnv1a((char *)buf + sizeof h, size - sizeof h);
  memcpy(buf, &h, sizeof h);
  return PSFWI_OK;
}

int psfwi_trainer_state_restore(psfwi_trainer *tr, const void *buf, size_t size, psfwi_error *err) {
  state_head h;
  if (size < sizeof h)
    return psfwi_fail(err, PSFWI_EFORMAT, "training state: %zu bytes is too short", size);
  memcpy(&h, buf, sizeof h);
  psfwi_nn *nn = tr->nn;
  const size_t np = psfwi_nn_nparam(nn), nb = psfwi_nn_nbuffer(nn);
  if (h.magic != STATE_MAGIC)
    return psfwi_fail(err, PSFWI_EFORMAT, "training state: not a psfwi training state");
  if (h.nparam != np || h.nbuffer != nb)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "training state: saved for a network of %llu parameters and %llu buffers, "
                      "this one has %zu and %zu",
                      h.nparam, h.nbuffer, np, nb);
  if (size != psfwi_trainer_state_size(tr) || h.sgd_size != psfwi_optim_sgd_state_size(tr->sgd) ||
      h.sch_size != psfwi_lr_schedule_state_size(tr->sch))
    return psfwi_fail(err, PSFWI_EINVAL,
                      "training state: saved with another optimiser or schedule (sizes differ)");
  if (h.checksum != psfwi_fnv1a((const char *)buf + sizeof h, size - sizeof h))
    return psfwi_fail(err, PSFWI_EFORMAT, "training state: checksum mismatch (corrupt state)");
  const char *p = (const char *)buf + sizeof h + 2 * (np + nb) * sizeof(float);
  if (psfwi_optim_sgd_state_restore(tr->sgd, p, h.sgd_size, err) != PSFWI_OK) return err->status;
  if (psfwi_lr_schedule_state_restore(tr->sch, p + h.sgd_size, h.sch_size, err) != PSFWI_OK)
    return err->status;
  p = (const char *)buf + sizeof h;
  memcpy(psfwi_nn_params(nn), p, np * sizeof(float));
  memcpy(psfwi_nn_buffers(nn), p + np * sizeof(float), nb * sizeof(float));
  memcpy(tr->best, p + (np + nb) * sizeof(float), (np + nb) * sizeof(float));
  tr->epoch = (size_t)h.epoch;
  tr->bad_epochs = (size_t)h.bad_epochs;
  psfwi_nn_set_dropout_state(nn, h.dropout);
  tr->best_val = h.best_val;
  return PSFWI_OK;
}

/* ---- Normalisation and prediction ------------------------------------------------ */

void psfwi_learn_channel_stats(const float *x, size_t n, size_t nchan, size_t width, float *mean,
                               float *std) {
  double smax = 0;
  for (size_t c = 0; c < nchan; c++) {
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < width; j++) s += x[(i * nchan + c) * width + j];
    const double m = s / ((double)n * (double)width);
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < width; j++) {
        const double r = x[(i * nchan + c) * width + j] - m;
        s2 += r * r;
      }
    const double sd = sqrt(s2 / ((double)n * (double)width));
    mean[c] = (float)m;
    std[c] = (float)sd;
    if (sd > smax) smax = sd;
  }
  const double floor_sd = smax > 0 ? 1e-12 * smax : 1;
  for (size_t c = 0; c < nchan; c++)
    if (!(std[c] > floor_sd)) std[c] = (float)(std[c] > 0 ? floor_sd : 1);
}

void psfwi_learn_standardise(float *x, size_t n, size_t nchan, size_t width, const float *mean,
                             const float *std) {
  for (size_t i = 0; i < n; i++)
    for (size_t c = 0; c < nchan; c++) {
      float *r = x + (i * nchan + c) * width;
      for (size_t j = 0; j < width; j++) r[j] = (r[j] - mean[c]) / std[c];
    }
}

void psfwi_learn_scale_velocity(float *v, size_t n, double vmin, double vmax) {
  const double s = 2.0 / (vmax - vmin);
  for (size_t i = 0; i < n; i++) v[i] = (float)(s * ((double)v[i] - vmin) - 1.0);
}

void psfwi_learn_unscale_velocity(float *t, size_t n, double vmin, double vmax) {
  const double s = 0.5 * (vmax - vmin);
  for (size_t i = 0; i < n; i++) t[i] = (float)(vmin + s * ((double)t[i] + 1.0));
}

int psfwi_learn_predict(psfwi_nn *nn, const psfwi_arch *a, const float *x, size_t nchan,
                        size_t width, size_t nz, float *t, psfwi_error *err) {
  const size_t wp = psfwi_arch_padded_width(a, width);
  size_t c, h, w, oc, oh, ow;
  psfwi_nn_shape(nn, -1, &c, &h, &w);
  psfwi_nn_shape(nn, (int)psfwi_nn_nlayer(nn) - 1, &oc, &oh, &ow);
  if (c != nchan || w != wp || oc != nz || ow != wp)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "predict: the network maps (%zu, 1, %zu) to (%zu, 1, %zu); the features "
                      "are (%zu, %zu) padded to %zu and the model has %zu depth samples",
                      c, w, oc, ow, nchan, width, wp, nz);
  psfwi_nn_real *xb = calloc(nchan * wp, sizeof *xb);
  if (xb == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "predict: out of memory");
  for (size_t ch = 0; ch < nchan; ch++)
    for (size_t j = 0; j < width; j++) xb[ch * wp + j] = (psfwi_nn_real)x[ch * width + j];
  const psfwi_nn_real *y = psfwi_nn_forward(nn, xb, 1, 0, err);
  if (y != NULL)
    for (size_t z = 0; z < nz; z++)
      for (size_t j = 0; j < width; j++) t[z * width + j] = (float)y[z * wp + j];
  free(xb);
  return y ? PSFWI_OK : err->status;
}
