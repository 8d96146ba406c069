/* Training samples: sample i of a data set is a synthetic model drawn with
 * seed psfwi_mix64(seed + i), its survey modelled with the propagator
 * planned once for the families' velocity range, and its features. Every
 * sample can be made again alone, bit for bit (resume, checks). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "psfwi_learn.h"

/* What one thread needs to make a sample. */
typedef struct scratch {
  psfwi_features *feat;
  float *data; /* nshot * nrec * nt */
} scratch;

struct psfwi_sampler {
  psfwi_sample_opts o;
  psfwi_learn_acq acq;  /* as filled by the first features */
  psfwi_survey *survey; /* a copy */
  float *wavelet;       /* nt */
  size_t nt;
  double dt;
  psfwi_wave *wave; /* shared by the threads (read-only) */
  scratch *sc;      /* nsc of them; sc[0] serves psfwi_sampler_make */
  size_t nsc;
};

static void scratch_free(scratch *c) {
  psfwi_features_destroy(c->feat);
  free(c->data);
  c->feat = NULL;
  c->data = NULL;
}

/* Scratch for n threads (kept, grown when more are asked for). */
static int scratch_reserve(psfwi_sampler *sm, size_t n, psfwi_error *err) {
  if (n <= sm->nsc) return PSFWI_OK;
  scratch *grown = realloc(sm->sc, n * sizeof *grown);
  if (grown == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "samples: out of memory");
  sm->sc = grown;
  const psfwi_survey *s = sm->survey;
  for (size_t k = sm->nsc; k < n; k++) {
    scratch *c = &sm->sc[k];
    c->feat = NULL;
    c->data = malloc(s->nshot * s->nrec * sm->nt * sizeof *c->data);
    if (c->data == NULL)
      return psfwi_fail(err, PSFWI_ENOMEM, "samples: out of memory for %zu x %zu x %zu samples",
                        s->nshot, s->nrec, sm->nt);
    psfwi_learn_acq a = sm->acq;
    if ((c->feat = psfwi_features_create(&a, s, &sm->o.grid, sm->nt, sm->dt, err)) == NULL) {
      free(c->data);
      return err ? err->status : PSFWI_EINTERNAL;
    }
    sm->nsc = k + 1;
  }
  return PSFWI_OK;
}

/* The stream of draws of one sample (family, water depth): splitmix64 of
 * the model seed mixed with a constant, so that it is not the stream
 * psfwi_synth_create starts from the same seed. */
static double uniform01(unsigned long long *state) {
  return (double)(psfwi_splitmix64(state) >> 11) * 0x1.0p-53;
}

static int check_opts(const psfwi_sample_opts *o, psfwi_error *err) {
  if (psfwi_grid_check(&o->grid, "sample grid", err) != PSFWI_OK) return err ? err->status : 1;
  if (o->models == NULL && (o->nfamily < 1 || o->nfamily > PSFWI_FAMILY_COUNT))
    return psfwi_fail(err, PSFWI_ERANGE, "samples: %zu families; expected 1 to %d", o->nfamily,
                      (int)PSFWI_FAMILY_COUNT);
  for (size_t i = 0; i < o->nfamily; i++)
    if ((int)o->family[i] < 0 || o->family[i] >= PSFWI_FAMILY_COUNT)
      return psfwi_fail(err, PSFWI_EINVAL, "samples: family %zu is %d, not a psfwi family", i,
                        (int)o->family[i]);
  if (!(o->vmin > 0.0) || !(o->vmax > o->vmin) || !isfinite(o->vmax))
    return psfwi_fail(err, PSFWI_ERANGE,
                      "samples: velocity range vmin = %g, vmax = %g m/s; expected 0 < vmin < vmax",
                      o->vmin, o->vmax);
  if (o->models != NULL) {
    const size_t n = psfwi_grid_size(&o->grid);
    for (size_t i = 0; i < o->nmodels * n; i++)
      if (!(o->models[i] >= o->vmin && o->models[i] <= o->vmax))
        return psfwi_fail(err, PSFWI_ERANGE,
                          "samples: given model %zu has %g m/s at z index %zu, x index %zu, "
                          "outside [vmin, vmax] = [%g, %g] m/s",
                          i / n, (double)o->models[i], (i % n) / o->grid.nx, i % o->grid.nx,
                          o->vmin, o->vmax);
    return PSFWI_OK;
  }
  if (!(o->span_min >= 0 && o->span_max <= 1 && o->span_min <= o->span_max) ||
      (o->span_max > 0 && !(o->span_min > 0)))
    return psfwi_fail(err, PSFWI_ERANGE,
                      "samples: velocity span %g..%g; expected 0 < span_min <= span_max <= 1 "
                      "(or 0, 0 for the whole range)",
                      o->span_min, o->span_max);
  const double depth = (double)(o->grid.nz - 1) * o->grid.dz;
  if (!(o->water_min >= 0.0) || !(o->water_max >= o->water_min) || !isfinite(o->water_max) ||
      (o->water_max > 0.0 && !(o->water_max < depth)))
    return psfwi_fail(err, PSFWI_ERANGE,
                      "samples: water depth from %g to %g m; expected 0 <= water_min <= water_max "
                      "< the model's depth extent %g m",
                      o->water_min, o->water_max, depth);
  return PSFWI_OK;
}

psfwi_sampler *psfwi_sampler_create(const psfwi_sample_opts *o, psfwi_learn_acq *a,
                                    const psfwi_survey *s, const float *wavelet, size_t nt,
                                    double dt, const psfwi_wave_opts *wo, psfwi_error *err) {
  if (o == NULL || a == NULL || s == NULL || wavelet == NULL || wo == NULL) {
    psfwi_fail(err, PSFWI_EINVAL, "samples: NULL argument");
    return NULL;
  }
  if (check_opts(o, err) != PSFWI_OK) return NULL;
  if (psfwi_survey_check(s, &o->grid, err) != PSFWI_OK) return NULL;
  psfwi_sampler *sm = calloc(1, sizeof *sm);
  psfwi_model *m = NULL;
  if (sm == NULL) {
    psfwi_fail(err, PSFWI_ENOMEM, "samples: out of memory");
    return NULL;
  }
  sm->o = *o;
  sm->nt = nt;
  sm->survey = psfwi_survey_create(s->nshot, s->nrec, err);
  if (sm->survey == NULL) goto fail;
  memcpy(sm->survey->sx, s->sx, s->nshot * sizeof *s->sx);
  memcpy(sm->survey->sz, s->sz, s->nshot * sizeof *s->sz);
  memcpy(sm->survey->rx, s->rx, s->nshot * s->nrec * sizeof *s->rx);
  memcpy(sm->survey->rz, s->rz, s->nshot * s->nrec * sizeof *s->rz);
  sm->dt = dt;
  sm->wavelet = malloc(nt * sizeof *sm->wavelet);
  if (sm->wavelet == NULL) {
    psfwi_fail(err, PSFWI_ENOMEM, "samples: out of memory for a wavelet of %zu samples", nt);
    goto fail;
  }
  memcpy(sm->wavelet, wavelet, nt * sizeof *wavelet);
  /* the propagator is planned for the families' range, not for one model */
  psfwi_wave_opts wopts = *wo;
  wopts.vmin_bound = o->vmin;
  wopts.vmax_bound = o->vmax;
  if ((m = psfwi_model_create(&o->grid, err)) == NULL) goto fail;
  const size_t ncell = psfwi_grid_size(&o->grid);
  for (size_t i = 0; i < ncell; i++) m->vp[i] = (float)(0.5 * (o->vmin + o->vmax));
  if ((sm->wave = psfwi_wave_create(m, dt, &wopts, err)) == NULL) goto fail;
  psfwi_model_destroy(m);
  m = NULL;
  /* the first thread's features fill a; the others are planned alike */
  if ((sm->sc = calloc(1, sizeof *sm->sc)) == NULL) {
    psfwi_fail(err, PSFWI_ENOMEM, "samples: out of memory");
    goto fail;
  }
  if ((sm->sc[0].feat = psfwi_features_create(a, s, &o->grid, nt, dt, err)) == NULL) goto fail;
  sm->acq = *a;
  sm->nsc = 1;
  sm->sc[0].data = malloc(s->nshot * s->nrec * nt * sizeof *sm->sc[0].data);
  if (sm->sc[0].data == NULL) {
    psfwi_fail(err, PSFWI_ENOMEM, "samples: out of memory for %zu x %zu x %zu samples", s->nshot,
               s->nrec, nt);
    goto fail;
  }
  return sm;
fail:
  psfwi_model_destroy(m);
  psfwi_sampler_destroy(sm);
  return NULL;
}

void psfwi_sampler_destroy(psfwi_sampler *sm) {
  if (sm == NULL) return;
  if (sm->sc != NULL) {
    scratch_free(&sm->sc[0]); /* also when create failed half-way */
    for (size_t k = 1; k < sm->nsc; k++) scratch_free(&sm->sc[k]);
  }
  free(sm->sc);
  psfwi_wave_destroy(sm->wave);
  psfwi_survey_destroy(sm->survey);
  free(sm->wavelet);
  free(sm);
}

size_t psfwi_sampler_feature_size(const psfwi_sampler *sm) {
  return psfwi_features_channels(sm->sc[0].feat) * psfwi_features_width(sm->sc[0].feat);
}

const psfwi_wave_info *psfwi_sampler_wave_info(const psfwi_sampler *sm) {
  return psfwi_wave_get_info(sm->wave);
}

/* Sample i with one thread's scratch. */
static int make_one(psfwi_sampler *sm, scratch *c, uint64_t i, float *features, float *vp,
                    int *family, uint64_t *model_seed, psfwi_error *err) {
  if (sm->o.models != NULL) {
    if (i >= sm->o.nmodels)
      return psfwi_fail(err, PSFWI_ERANGE, "sample %llu: only %zu models were given",
                        (unsigned long long)i, sm->o.nmodels);
    const size_t n = psfwi_grid_size(&sm->o.grid);
    const psfwi_model given = {.grid = sm->o.grid, .vp = (float *)(sm->o.models + i * n)};
    int st = psfwi_wave_model_shots(sm->wave, &given, sm->survey, sm->wavelet, sm->nt, c->data,
                                    NULL, err);
    if (st == PSFWI_OK) st = psfwi_features_compute(c->feat, c->data, features, err);
    if (st != PSFWI_OK)
      return psfwi_error_prefix(err, "sample %llu (given model)", (unsigned long long)i);
    memcpy(vp, given.vp, n * sizeof *vp);
    if (family != NULL) *family = -1;
    if (model_seed != NULL) *model_seed = i;
    return PSFWI_OK;
  }
  const uint64_t seed = (uint64_t)psfwi_mix64((unsigned long long)(sm->o.seed + i));
  unsigned long long state = (unsigned long long)seed ^ 0x6a09e667f3bcc909ULL;
  const size_t k = (size_t)(uniform01(&state) * (double)sm->o.nfamily);
  const double u = uniform01(&state);
  double vlo = sm->o.vmin, vhi = sm->o.vmax;
  if (sm->o.span_max > 0 && !(sm->o.span_min >= 1.0)) {
    const double frac = sm->o.span_min + uniform01(&state) * (sm->o.span_max - sm->o.span_min);
    const double range = sm->o.vmax - sm->o.vmin;
    vlo = sm->o.vmin + uniform01(&state) * (1.0 - frac) * range;
    vhi = fmin(vlo + frac * range, sm->o.vmax);
  }
  psfwi_synth_params p;
  psfwi_synth_defaults(&p);
  p.family = sm->o.family[k < sm->o.nfamily ? k : sm->o.nfamily - 1];
  p.seed = seed;
  p.vmin = vlo;
  p.vmax = vhi;
  p.water_depth = sm->o.water_min + u * (sm->o.water_max - sm->o.water_min);
  psfwi_model *m = psfwi_synth_create(&sm->o.grid, &p, err);
  if (m == NULL) {
    psfwi_error_prefix(err, "sample %llu", (unsigned long long)i);
    return err ? err->status : PSFWI_EINTERNAL;
  }
  int st = psfwi_wave_model_shots(sm->wave, m, sm->survey, sm->wavelet, sm->nt, c->data, NULL, err);
  if (st == PSFWI_OK) st = psfwi_features_compute(c->feat, c->data, features, err);
  if (st == PSFWI_OK) {
    memcpy(vp, m->vp, psfwi_grid_size(&m->grid) * sizeof *vp);
    if (family != NULL) *family = (int)p.family;
    if (model_seed != NULL) *model_seed = seed;
  } else {
    psfwi_error_prefix(err, "sample %llu (%s, seed %llu)", (unsigned long long)i,
                       psfwi_family_name(p.family), (unsigned long long)seed);
  }
  psfwi_model_destroy(m);
  return st;
}

int psfwi_sampler_make(psfwi_sampler *sm, uint64_t i, float *features, float *vp, int *family,
                       uint64_t *model_seed, psfwi_error *err) {
  if (sm == NULL || features == NULL || vp == NULL)
    return psfwi_fail(err, PSFWI_EINVAL, "samples: NULL argument");
  return make_one(sm, &sm->sc[0], i, features, vp, family, model_seed, err);
}

int psfwi_sampler_make_many(psfwi_sampler *sm, uint64_t first, size_t count, int nthreads,
                            float *features, float *vp, int *family, uint64_t *model_seed,
                            psfwi_sampler_progress_fn progress, void *ctx, psfwi_error *err) {
  if (sm == NULL || features == NULL || vp == NULL)
    return psfwi_fail(err, PSFWI_EINVAL, "samples: NULL argument");
  if (count == 0) return PSFWI_OK;
  int nthr = nthreads > 0 ? nthreads : omp_get_max_threads();
  if ((size_t)nthr > count) nthr = (int)count;
  if (nthr < 1) nthr = 1;
  int st = scratch_reserve(sm, (size_t)nthr, err);
  if (st != PSFWI_OK) return st;
  const size_t fsize = psfwi_sampler_feature_size(sm), vsize = psfwi_grid_size(&sm->o.grid);
  size_t done = 0;
  psfwi_first_error fe;
  psfwi_first_error_init(&fe);
#pragma omp parallel for schedule(dynamic, 1) num_threads(nthr)
  for (size_t k = 0; k < count; k++) {
    if (psfwi_first_error_failed(&fe)) continue;
    psfwi_error e = {PSFWI_OK, ""};
    int fam = 0;
    uint64_t seed = 0;
    const int rc = make_one(sm, &sm->sc[omp_get_thread_num()], first + k, features + k * fsize,
                            vp + k * vsize, &fam, &seed, &e);
    if (rc != PSFWI_OK) {
      psfwi_first_error_record(&fe, &e);
      continue;
    }
    if (family != NULL) family[k] = fam;
    if (model_seed != NULL) model_seed[k] = seed;
#pragma omp critical(psfwi_sampler_progress)
    {
      done++;
      if (progress != NULL) progress(ctx, done, count);
    }
  }
  if (fe.err.status != PSFWI_OK) {
    if (err != NULL) *err = fe.err;
    return fe.err.status;
  }
  return PSFWI_OK;
}
