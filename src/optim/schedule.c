/* Learning-rate schedules: the closed forms of PyTorch's StepLR and
 * CosineAnnealingLR, a constant, and ReduceLROnPlateau (mode "min",
 * threshold_mode "rel") with a save/restore of its state. Formulas in
 * psfwi_optim.h. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_optim.h"

static const double PI = 3.14159265358979323846;

/* The state (doubles only: saved as they are; counters are small integers,
 * exact in a double). */
typedef struct lr_reals {
  double lr;       /* current learning rate */
  double best;     /* PLATEAU: best metric so far (+inf at first) */
  double nbad;     /* PLATEAU: bad epochs in a row */
  double cooldown; /* PLATEAU: cooldown epochs left */
  double steps;    /* psfwi_lr_schedule_step calls */
  double epoch;    /* epoch of the last step (-1 before any) */
} lr_reals;

struct psfwi_lr_schedule {
  psfwi_lr_schedule_options opt;
  lr_reals r;
};

static const char magic[8] = {'P', 'S', 'F', 'W', 'I', 'L', 'R', 'S'};
enum { LR_STATE_VERSION = 1, LR_HDR_WORDS = 3 };

void psfwi_lr_schedule_options_init(psfwi_lr_schedule_options *o, int kind, double lr0) {
  memset(o, 0, sizeof *o);
  o->kind = kind;
  o->lr0 = lr0;
  o->step_size = 30;
  o->gamma = 0.1;
  o->t_max = 100;
  o->lr_min = 0.0;
  o->factor = 0.1;
  o->patience = 10;
  o->threshold = 1e-4;
  o->cooldown = 0;
  o->eps = 1e-8;
}

static int check_options(const psfwi_lr_schedule_options *o, psfwi_error *err) {
  if (o->kind < PSFWI_LR_CONSTANT || o->kind > PSFWI_LR_PLATEAU)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "lr schedule: kind = %d; expected 0 (constant), 1 (step), 2 (cosine) or "
                      "3 (plateau), see enum psfwi_lr_kind",
                      o->kind);
  if (!(o->lr0 > 0.0) || !isfinite(o->lr0))
    return psfwi_fail(err, PSFWI_ERANGE, "lr schedule: lr0 = %g; expected finite and > 0", o->lr0);
  switch (o->kind) {
    case PSFWI_LR_STEP:
      if (o->step_size == 0)
        return psfwi_fail(err, PSFWI_ERANGE,
                          "lr schedule (step): step_size = 0; expected >= 1 epoch per decay");
      if (!(o->gamma > 0.0) || !isfinite(o->gamma))
        return psfwi_fail(err, PSFWI_ERANGE,
                          "lr schedule (step): gamma = %g; expected finite and > 0", o->gamma);
      break;
    case PSFWI_LR_COSINE:
      if (o->t_max == 0)
        return psfwi_fail(err, PSFWI_ERANGE,
                          "lr schedule (cosine): t_max = 0; expected >= 1 epoch (half period T)");
      if (!(o->lr_min >= 0.0 && o->lr_min <= o->lr0))
        return psfwi_fail(err, PSFWI_ERANGE,
                          "lr schedule (cosine): lr_min = %g; expected 0 <= lr_min <= lr0 = %g",
                          o->lr_min, o->lr0);
      break;
    case PSFWI_LR_PLATEAU:
      if (!(o->factor > 0.0 && o->factor < 1.0))
        return psfwi_fail(err, PSFWI_ERANGE,
                          "lr schedule (plateau): factor = %g; expected 0 < factor < 1", o->factor);
      if (!(o->threshold >= 0.0 && o->threshold < 1.0))
        return psfwi_fail(err, PSFWI_ERANGE,
                          "lr schedule (plateau): threshold = %g; expected 0 <= threshold < 1",
                          o->threshold);
      if (!(o->lr_min >= 0.0) || !isfinite(o->lr_min))
        return psfwi_fail(err, PSFWI_ERANGE,
                          "lr schedule (plateau): lr_min = %g; expected finite and >= 0",
                          o->lr_min);
      if (!(o->eps >= 0.0) || !isfinite(o->eps))
        return psfwi_fail(err, PSFWI_ERANGE,
                          "lr schedule (plateau): eps = %g; expected finite and >= 0", o->eps);
      break;
    default: break;
  }
  return PSFWI_OK;
}

psfwi_lr_schedule *psfwi_lr_schedule_create(const psfwi_lr_schedule_options *o, psfwi_error *err) {
  if (o == NULL) {
    psfwi_fail(err, PSFWI_EINVAL, "lr schedule: options are NULL");
    return NULL;
  }
  if (check_options(o, err)) return NULL;
  psfwi_lr_schedule *s = calloc(1, sizeof *s);
  if (s == NULL) {
    psfwi_fail(err, PSFWI_ENOMEM, "lr schedule: out of memory");
    return NULL;
  }
  s->opt = *o;
  s->r.lr = o->lr0;
  s->r.best = INFINITY;
  s->r.epoch = -1.0;
  return s;
}

void psfwi_lr_schedule_destroy(psfwi_lr_schedule *s) { free(s); }

double psfwi_lr_at(const psfwi_lr_schedule *s, size_t epoch) {
  const psfwi_lr_schedule_options *o = &s->opt;
  switch (o->kind) {
    case PSFWI_LR_STEP: return o->lr0 * pow(o->gamma, (double)(epoch / o->step_size));
    case PSFWI_LR_COSINE:
      return o->lr_min +
             (o->lr0 - o->lr_min) * (1.0 + cos(PI * (double)epoch / (double)o->t_max)) / 2.0;
    case PSFWI_LR_PLATEAU: return s->r.lr;
    default: return o->lr0;
  }
}

int psfwi_lr_schedule_step(psfwi_lr_schedule *s, size_t epoch, double metric, double *lr,
                           psfwi_error *err) {
  const psfwi_lr_schedule_options *o = &s->opt;
  if (o->kind == PSFWI_LR_PLATEAU) {
    if (!isfinite(metric))
      return psfwi_fail(err, PSFWI_ENONFINITE,
                        "lr schedule (plateau): metric = %g at epoch %zu; expected finite", metric,
                        epoch);
    lr_reals *r = &s->r;
    if (metric < r->best * (1.0 - o->threshold)) {
      r->best = metric;
      r->nbad = 0.0;
    } else {
      r->nbad += 1.0;
    }
    if (r->cooldown > 0.0) {
      r->cooldown -= 1.0;
      r->nbad = 0.0;
    }
    if (r->nbad > (double)o->patience) {
      const double lr_new = fmax(r->lr * o->factor, o->lr_min);
      if (r->lr - lr_new > o->eps) r->lr = lr_new;
      r->cooldown = (double)o->cooldown;
      r->nbad = 0.0;
    }
  } else {
    s->r.lr = psfwi_lr_at(s, epoch + 1);
  }
  s->r.steps += 1.0;
  s->r.epoch = (double)epoch;
  if (lr) *lr = s->r.lr;
  return PSFWI_OK;
}

double psfwi_lr_schedule_lr(const psfwi_lr_schedule *s) { return s->r.lr; }

/* ---- State: magic | u64 version, kind, sizeof(lr_reals) | reals | u64 FNV-1a. */
size_t psfwi_lr_schedule_state_size(const psfwi_lr_schedule *s) {
  (void)s;
  return sizeof magic + LR_HDR_WORDS * sizeof(uint64_t) + sizeof(lr_reals) + sizeof(uint64_t);
}

int psfwi_lr_schedule_state_save(const psfwi_lr_schedule *s, void *buf, size_t size,
                                 psfwi_error *err) {
  const size_t need = psfwi_lr_schedule_state_size(s);
  if (buf == NULL || size < need)
    return psfwi_fail(err, PSFWI_ERANGE, "lr schedule: state buffer of %zu bytes; %zu needed", size,
                      need);
  unsigned char *p = buf;
  const uint64_t hdr[LR_HDR_WORDS] = {LR_STATE_VERSION, (uint64_t)s->opt.kind, sizeof(lr_reals)};
  memcpy(p, magic, sizeof magic);
  p += sizeof magic;
  memcpy(p, hdr, sizeof hdr);
  p += sizeof hdr;
  memcpy(p, &s->r, sizeof s->r);
  p += sizeof s->r;
  const uint64_t h = (uint64_t)psfwi_fnv1a(buf, need - sizeof h);
  memcpy(p, &h, sizeof h);
  return PSFWI_OK;
}

int psfwi_lr_schedule_state_restore(psfwi_lr_schedule *s, const void *buf, size_t size,
                                    psfwi_error *err) {
  const unsigned char *p = buf;
  uint64_t hdr[LR_HDR_WORDS];
  if (buf == NULL || size < sizeof magic + sizeof hdr || memcmp(p, magic, sizeof magic) != 0)
    return psfwi_fail(err, PSFWI_EFORMAT,
                      "lr schedule: state buffer (%zu bytes) does not start with a schedule "
                      "state header",
                      size);
  memcpy(hdr, p + sizeof magic, sizeof hdr);
  if (hdr[0] != LR_STATE_VERSION || hdr[2] != sizeof(lr_reals))
    return psfwi_fail(err, PSFWI_EFORMAT,
                      "lr schedule: state version %llu; this build reads version %d",
                      (unsigned long long)hdr[0], LR_STATE_VERSION);
  if (hdr[1] != (uint64_t)s->opt.kind)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "lr schedule: saved state is of kind %llu; this schedule is of kind %d",
                      (unsigned long long)hdr[1], s->opt.kind);
  const size_t need = psfwi_lr_schedule_state_size(s);
  if (size != need)
    return psfwi_fail(err, PSFWI_EFORMAT, "lr schedule: state buffer of %zu bytes; expected %zu",
                      size, need);
  uint64_t h;
  memcpy(&h, p + need - sizeof h, sizeof h);
  if (h != (uint64_t)psfwi_fnv1a(buf, need - sizeof h))
    return psfwi_fail(err, PSFWI_EFORMAT, "lr schedule: state buffer checksum mismatch (corrupt)");
  memcpy(&s->r, p + sizeof magic + sizeof hdr, sizeof s->r);
  return PSFWI_OK;
}
