/* Turning an inversion configuration into a problem: see run_invert.h. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run_invert.h"

const char *const cli_invert_inputs[] = {"model.vp",    "model.true",   "data.observed",
                                         "survey.file", "wavelet.file", "regularization.prior",
                                         NULL};

static int ends_with(const char *s, const char *suffix) {
  const size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

/* "a,b,c" of finite numbers >= 0; *out malloc'ed. */
static int parse_list(const char *key, const char *text, double **out, size_t *n, size_t **iters,
                      psfwi_error *err) {
  size_t cap = 1;
  for (const char *c = text; *c; c++) cap += *c == ',';
  *out = calloc(cap, sizeof **out);
  if (iters) *iters = calloc(cap, sizeof **iters);
  if (*out == NULL || (iters && *iters == NULL))
    return psfwi_fail(err, PSFWI_ENOMEM, "out of memory");
  *n = 0;
  const char *c = text;
  while (*c) {
    char *end;
    const double v = strtod(c, &end);
    if (end == c || !isfinite(v) || v < 0)
      return psfwi_fail(err, PSFWI_EINVAL,
                        "%s = '%s': expected comma-separated numbers >= 0 (item %zu)", key, text,
                        *n + 1);
    (*out)[*n] = v;
    c = end;
    if (iters) {
      (*iters)[*n] = 0;
      if (*c == ':') {
        const long k = strtol(c + 1, &end, 10);
        if (end == c + 1 || k < 1)
          return psfwi_fail(err, PSFWI_EINVAL,
                            "%s = '%s': item %zu: expected f:iterations with "
                            "iterations >= 1",
                            key, text, *n + 1);
        (*iters)[*n] = (size_t)k;
        c = end;
      }
    }
    (*n)++;
    while (*c == ' ') c++;
    if (*c == ',')
      c++;
    else if (*c != '\0')
      return psfwi_fail(err, PSFWI_EINVAL, "%s = '%s': unexpected '%c' after item %zu", key, text,
                        *c, *n);
    while (*c == ' ') c++;
  }
  if (*n == 0) return psfwi_fail(err, PSFWI_EINVAL, "%s is empty", key);
  return PSFWI_OK;
}

static int wavelet_given(const psfwi_config *cfg) {
  return psfwi_config_given(cfg, "wavelet", "kind") ||
         psfwi_config_given(cfg, "wavelet", "frequency") ||
         psfwi_config_given(cfg, "wavelet", "delay") || psfwi_config_given(cfg, "wavelet", "file");
}

/* The configuration's survey and time keys, if given, must describe the
 * observed file's geometry. */
static int check_against_file(const psfwi_config *cfg, const psfwi_gather *g, const char *file,
                              psfwi_error *err) {
  if (psfwi_config_given(cfg, "time", "sample_interval") &&
      fabs(psfwi_config_double(cfg, "time", "sample_interval") - g->dt) > 1e-9 * g->dt)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "[time] sample_interval = %g s, but the observed file '%s' is sampled at "
                      "%g s (leave it out to use the file's)",
                      psfwi_config_double(cfg, "time", "sample_interval"), file, g->dt);
  if (psfwi_config_given(cfg, "time", "duration")) {
    double dt;
    size_t nt;
    int st = cli_time_from_config(cfg, &dt, &nt, err);
    if (st != PSFWI_OK) return st;
    if (nt != g->nt)
      return psfwi_fail(err, PSFWI_EINVAL,
                        "[time] duration gives %zu samples, but the observed file '%s' has %zu "
                        "(leave it out to use the file's)",
                        nt, file, g->nt);
  }
  if (psfwi_config_given(cfg, "survey", "source_x") || psfwi_config_given(cfg, "survey", "file")) {
    psfwi_survey *s = cli_survey_from_config(cfg, NULL, err);
    if (s == NULL) return err->status;
    const psfwi_survey *o = g->survey;
    int same = s->nshot == o->nshot && s->nrec == o->nrec;
    for (size_t i = 0; same && i < s->nshot; i++)
      same = fabs(s->sx[i] - o->sx[i]) < 1e-3 && fabs(s->sz[i] - o->sz[i]) < 1e-3;
    for (size_t i = 0; same && i < s->nshot * s->nrec; i++)
      same = fabs(s->rx[i] - o->rx[i]) < 1e-3 && fabs(s->rz[i] - o->rz[i]) < 1e-3;
    psfwi_survey_destroy(s);
    if (!same)
      return psfwi_fail(err, PSFWI_EINVAL,
                        "[survey] describes another geometry than the observed file '%s' (%zu "
                        "shots x %zu receivers); leave [survey] out to use the file's",
                        file, o->nshot, o->nrec);
  }
  return PSFWI_OK;
}

/* Marine: the model's top row is water (1400 to 1600 m/s everywhere). */
static int marine(const psfwi_model *m) {
  if (m == NULL) return 0;
  for (size_t ix = 0; ix < m->grid.nx; ix++) {
    const float v = m->vp[ix]; /* z = 0: vp[iz * nx + ix] */
    if (!(v >= 1400.0f && v <= 1600.0f)) return 0;
  }
  return 1;
}

/* Every source and receiver of a SEG-Y file inside the model, else an error
 * naming the file's trace (its headers scanned again to find it). */
static int segy_inside(const char *file, const psfwi_gather *g, const psfwi_grid *grid,
                       psfwi_error *err) {
  if (psfwi_survey_check(g->survey, grid, err) == PSFWI_OK) return PSFWI_OK;
  psfwi_segy_scan sc;
  psfwi_error e2 = {0};
  if (psfwi_segy_scan_file(file, &sc, &e2) != PSFWI_OK) return err->status;
  const double x1 = grid->x0 + (double)(grid->nx - 1) * grid->dx,
               z1 = grid->z0 + (double)(grid->nz - 1) * grid->dz;
  int st = err->status;
  for (size_t k = 0; k < sc.ntrace; k++) {
    const int src = !psfwi_grid_inside(grid, sc.sx[k], sc.sz[k]),
              rec = !psfwi_grid_inside(grid, sc.rx[k], sc.rz[k]);
    if (!src && !rec) continue;
    st = psfwi_fail(err, PSFWI_ERANGE,
                    "'%s': trace %zu (FIELD_RECORD %d): the %s at x = %g m, depth %g m is "
                    "outside the model (x in [%g, %g] m, depth in [%g, %g] m); expected the "
                    "model to cover the survey",
                    file, k, (int)sc.record[k], src ? "source" : "receiver",
                    src ? sc.sx[k] : sc.rx[k], src ? sc.sz[k] : sc.rz[k], grid->x0, x1, grid->z0,
                    z1);
    break;
  }
  psfwi_segy_scan_free(&sc);
  return st;
}

static int read_observed(cli_problem *p, psfwi_config *cfg, const char *file, psfwi_error *err) {
  const int segy = ends_with(file, ".segy") || ends_with(file, ".sgy");
  p->obs = segy ? psfwi_segy_read_gather(file, err) : psfwi_nc_read_gather(file, err);
  if (p->obs == NULL) return err->status;
  int st = segy ? segy_inside(file, p->obs, &p->model->grid, err) : PSFWI_OK;
  if (st == PSFWI_OK) st = cli_resample_gather(p->obs, cfg, p->comm.rank == 0, err);
  if (st != PSFWI_OK) return st;
  if (p->obs->live != NULL && p->comm.rank == 0) {
    const psfwi_survey *o = p->obs->survey;
    size_t lo = o->nrec, pad = 0;
    for (size_t is = 0; is < o->nshot; is++) {
      size_t c = 0;
      for (size_t ir = 0; ir < o->nrec; ir++) c += p->obs->live[is * o->nrec + ir];
      lo = c < lo ? c : lo;
      pad += o->nrec - c;
    }
    fprintf(stderr,
            "psfwi: observed '%s': %zu shots of %zu to %zu traces, padded to %zu with %zu "
            "zero-weight traces\n",
            file, o->nshot, lo, o->nrec, o->nrec, pad);
  }
  if (segy && !psfwi_config_given(cfg, "propagator", "free_surface") && marine(p->model)) {
    /* marine survey data: the sea surface reflects (the source and
     * receiver ghosts); a config's free_surface key still decides */
    char origin[4200];
    snprintf(origin, sizeof origin, "'%s' (marine data: water on top of the model)", file);
    st = psfwi_config_defaults_from_text(cfg, "[propagator]\nfree_surface = true\n", "propagator",
                                         origin, err);
    if (st != PSFWI_OK) return st;
    if (p->comm.rank == 0)
      fprintf(stderr,
              "psfwi: marine data (SEG-Y, water at the model's top): [propagator] free_surface = "
              "true by default (set it to false to change that)\n");
  }
  if (!segy) {
    psfwi_error e2 = {0};
    char *stored = psfwi_nc_read_text_attribute(file, "psfwi_config", &e2);
    if (stored != NULL) {
      char origin[4200];
      snprintf(origin, sizeof origin, "'%s' (psfwi_config attribute)", file);
      st = psfwi_config_defaults_from_text(cfg, stored, "propagator", origin, err);
      free(stored);
      if (st != PSFWI_OK) return st;
    }
  }
  return check_against_file(cfg, p->obs, file, err);
}

static int make_mask(cli_problem *p, const psfwi_config *cfg, psfwi_error *err) {
  const int water = psfwi_config_is_set(cfg, "inversion", "water_velocity");
  const int depth = psfwi_config_is_set(cfg, "inversion", "freeze_depth");
  if (!water && !depth) return PSFWI_OK;
  const psfwi_grid *g = &p->model->grid;
  if ((p->mask = calloc(g->nx * g->nz, 1)) == NULL)
    return psfwi_fail(err, PSFWI_ENOMEM, "out of memory for the mask");
  return psfwi_freeze_mask(p->model,
                           water ? psfwi_config_double(cfg, "inversion", "water_velocity") : NAN,
                           psfwi_config_double(cfg, "inversion", "water_tolerance"),
                           depth ? psfwi_config_double(cfg, "inversion", "freeze_depth") : NAN,
                           p->mask, &p->nfrozen, err);
}

static void minmax(const psfwi_model *m, double *lo, double *hi) {
  *lo = INFINITY;
  *hi = -INFINITY;
  for (size_t i = 0; i < m->grid.nx * m->grid.nz; i++) {
    *lo = m->vp[i] < *lo ? m->vp[i] : *lo;
    *hi = m->vp[i] > *hi ? m->vp[i] : *hi;
  }
}

static int make_bands(cli_problem *p, const psfwi_config *cfg, psfwi_error *err) {
  double *f = NULL;
  size_t *it = NULL, n = 0;
  int st = parse_list("[inversion] bands", psfwi_config_string(cfg, "inversion", "bands"), &f, &n,
                      &it, err);
  if (st == PSFWI_OK && (p->bands = calloc(n, sizeof *p->bands)) == NULL)
    st = psfwi_fail(err, PSFWI_ENOMEM, "out of memory");
  const double low = psfwi_config_double(cfg, "inversion", "low_cut");
  /* a band without its own count takes [inversion] iterations (fwi) or
   * [training] epochs (rnn) */
  const size_t iters = p->band_count_key
                           ? (size_t)psfwi_config_int(cfg, "training", p->band_count_key)
                           : (size_t)psfwi_config_int(cfg, "inversion", "iterations");
  for (size_t b = 0; st == PSFWI_OK && b < n; b++) {
    if (f[b] == 0 && b + 1 < n)
      st = psfwi_fail(err, PSFWI_EINVAL,
                      "[inversion] bands: 0 (the full band) must be the last band");
    else if (b > 0 && f[b] != 0 && f[b] <= f[b - 1])
      st = psfwi_fail(err, PSFWI_EINVAL,
                      "[inversion] bands: corners must increase (band %zu: %g Hz after %g Hz)",
                      b + 1, f[b], f[b - 1]);
    else if (f[b] != 0 && f[b] <= low)
      st = psfwi_fail(err, PSFWI_EINVAL,
                      "[inversion] bands: band %zu low-pass corner %g Hz is not above low_cut = "
                      "%g Hz",
                      b + 1, f[b], low);
    else {
      p->bands[b].f_low = low;
      p->bands[b].f_high = f[b];
      p->bands[b].max_iter = it[b] ? it[b] : iters;
    }
  }
  p->nband = n;
  free(f);
  free(it);
  return st;
}

/* [model] vp, true and the prior (default: the starting model). */
static int read_models(cli_problem *p, const psfwi_config *cfg, psfwi_error *err) {
  const char *vp = psfwi_config_require(cfg, "model", "vp", err);
  if (vp == NULL) return err->status;
  if ((p->model = psfwi_nc_read_model(vp, NULL, err)) == NULL) return err->status;
  const psfwi_grid *g = &p->model->grid;
  const char *tpath = psfwi_config_string(cfg, "model", "true");
  if (tpath && (p->truth = psfwi_nc_read_model(tpath, NULL, err)) == NULL) return err->status;
  if (p->truth && (p->truth->grid.nx != g->nx || p->truth->grid.nz != g->nz))
    return psfwi_fail(err, PSFWI_EINVAL,
                      "[model] true '%s' is %zu x %zu; [model] vp '%s' is %zu x %zu", tpath,
                      p->truth->grid.nx, p->truth->grid.nz, vp, g->nx, g->nz);
  const char *ppath = psfwi_config_string(cfg, "regularization", "prior");
  if (ppath) {
    /* prior was the weight of the L2 term before it named the prior's file */
    const char *base = strrchr(ppath, '/') ? strrchr(ppath, '/') + 1 : ppath;
    char *end = NULL;
    (void)strtod(base, &end);
    if (end != base && *end == '\0' && access(ppath, F_OK) != 0)
      return psfwi_fail(err, PSFWI_EKEY,
                        "[regularization] prior = %s: prior is the prior model's file (NetCDF); "
                        "the weight of the L2 distance to it is [regularization] l2",
                        base);
    if ((p->prior = psfwi_nc_read_model(ppath, NULL, err)) == NULL) return err->status;
  }
  if (p->prior && (p->prior->grid.nx != g->nx || p->prior->grid.nz != g->nz))
    return psfwi_fail(err, PSFWI_EINVAL,
                      "[regularization] prior '%s' is %zu x %zu, the model %zu x %zu", ppath,
                      p->prior->grid.nx, p->prior->grid.nz, g->nx, g->nz);
  if (p->prior == NULL && (p->prior = psfwi_model_copy(p->model, err)) == NULL) return err->status;
  return PSFWI_OK;
}

/* The observed gathers (read, or allocated for synthesis from [model] true)
 * with their survey, time axis and wavelet; *fmax its highest frequency. */
static int read_data(cli_problem *p, psfwi_config *cfg, double *fmax, psfwi_error *err) {
  const char *obs = psfwi_config_string(cfg, "data", "observed");
  if (obs == NULL && p->truth == NULL)
    return psfwi_fail(err, PSFWI_EKEY,
                      "no data: give [data] observed (shot gathers) or [model] true (to "
                      "synthesise them)");
  int st;
  double dt;
  size_t nt;
  if (obs) {
    if ((st = read_observed(p, cfg, obs, err)) != PSFWI_OK) return st;
    dt = p->obs->dt;
    nt = p->obs->nt;
    int nonzero = 0;
    for (size_t i = 0; i < nt; i++) nonzero |= p->obs->wavelet[i] != 0.0f;
    if (!wavelet_given(cfg) && nonzero) {
      if ((st = psfwi_wave_fmax(p->obs->wavelet, nt, dt, fmax, err)) != PSFWI_OK)
        return psfwi_error_prefix(err, "wavelet of '%s'", obs);
      return psfwi_survey_check(p->obs->survey, &p->model->grid, err);
    }
    if (!nonzero && !wavelet_given(cfg) && p->comm.rank == 0)
      fprintf(stderr, "psfwi: note: '%s' stores no wavelet; using the [wavelet] keys (%s %g Hz)\n",
              obs, psfwi_config_string(cfg, "wavelet", "kind"),
              psfwi_config_double(cfg, "wavelet", "frequency"));
  } else {
    if ((st = cli_time_from_config(cfg, &dt, &nt, err)) != PSFWI_OK) return st;
    psfwi_survey *s = cli_survey_from_config(cfg, &p->model->grid, err);
    if (s == NULL) return err->status;
    st = cli_check_data_memory(s->nshot, s->nrec, nt, "the observed shot gathers", err);
    if (st == PSFWI_OK) p->obs = psfwi_gather_create(s, nt, dt, err);
    psfwi_survey_destroy(s);
    if (p->obs == NULL) return err->status;
  }
  float *wavelet = cli_wavelet_from_config(cfg, dt, nt, fmax, err);
  if (wavelet == NULL) return err->status;
  memcpy(p->obs->wavelet, wavelet, nt * sizeof *wavelet);
  free(wavelet);
  return psfwi_survey_check(p->obs->survey, &p->model->grid, err);
}

/* Velocity bounds and the propagator (its discretisation must also model
 * the true model, when data are synthesised from it). */
static int make_wave(cli_problem *p, const psfwi_config *cfg, double fmax, psfwi_error *err) {
  double mlo, mhi;
  minmax(p->model, &mlo, &mhi);
  p->vmin = psfwi_config_is_set(cfg, "inversion", "vmin")
                ? psfwi_config_double(cfg, "inversion", "vmin")
            : psfwi_config_is_set(cfg, "propagator", "vmin")
                ? psfwi_config_double(cfg, "propagator", "vmin")
                : 0.9 * mlo;
  p->vmax = psfwi_config_is_set(cfg, "inversion", "vmax")
                ? psfwi_config_double(cfg, "inversion", "vmax")
            : psfwi_config_is_set(cfg, "propagator", "vmax")
                ? psfwi_config_double(cfg, "propagator", "vmax")
                : 1.2 * mhi;
  if (!(p->vmin < p->vmax))
    return psfwi_fail(err, PSFWI_ERANGE, "[inversion] vmin = %g m/s is not below vmax = %g m/s",
                      p->vmin, p->vmax);
  psfwi_wave_opts wo;
  cli_wave_opts_from_config(cfg, fmax, &wo);
  wo.vmin_bound = p->vmin;
  wo.vmax_bound = p->vmax;
  if (p->truth) {
    double tlo, thi;
    minmax(p->truth, &tlo, &thi);
    wo.vmin_bound = tlo < wo.vmin_bound ? tlo : wo.vmin_bound;
    wo.vmax_bound = thi > wo.vmax_bound ? thi : wo.vmax_bound;
  }
  p->w = psfwi_wave_create(p->model, p->obs->dt, &wo, err);
  return p->w ? PSFWI_OK : err->status;
}

/* This rank's block of shots; their data synthesised when not observed. */
static int split_shots(cli_problem *p, const psfwi_config *cfg, size_t *count, psfwi_error *err) {
  const psfwi_survey *all = p->obs->survey;
  if ((size_t)p->comm.size > all->nshot)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "%d MPI ranks for %zu shots: use at most one rank per shot", p->comm.size,
                      all->nshot);
  psfwi_comm_shot_range(&p->comm, all->nshot, &p->first_shot, count);
  if ((p->local = psfwi_survey_subset(all, p->first_shot, *count, err)) == NULL) return err->status;
  p->d_local = p->obs->data + p->first_shot * all->nrec * p->obs->nt;
  if (psfwi_config_string(cfg, "data", "observed") != NULL) return PSFWI_OK;
  if (p->comm.rank == 0)
    fprintf(stderr, "psfwi: modelling observed data in the true model '%s'\n",
            psfwi_config_string(cfg, "model", "true"));
  return psfwi_synthesize_data(p->w, p->truth, p->obs, p->first_shot, *count, p->local, &p->comm,
                               err);
}

/* Misfit, bands, bounds, preconditioning, regularization and gradient keys
 * into p->fwi. */
static int fill_options(cli_problem *p, const psfwi_config *cfg, psfwi_error *err) {
  int st;
  if ((st = make_bands(p, cfg, err)) != PSFWI_OK) return st;
  const char *mkind = psfwi_config_string(cfg, "inversion", "misfit");
  const char *ftext = psfwi_config_string(cfg, "inversion", "frequencies");
  if (strcmp(mkind, "spectral") == 0) {
    if (ftext == NULL)
      return psfwi_fail(err, PSFWI_EKEY,
                        "[inversion] misfit = spectral needs [inversion] frequencies");
    if ((st = parse_list("[inversion] frequencies", ftext, &p->freqs, &p->nfreq, NULL, err)) !=
        PSFWI_OK)
      return st;
  } else if (ftext != NULL) {
    return psfwi_fail(err, PSFWI_EINVAL,
                      "[inversion] frequencies is only used with misfit = spectral");
  }
  psfwi_fwi_opts *o = &p->fwi;
  psfwi_fwi_opts_defaults(o);
  const char *method = psfwi_config_string(cfg, "inversion", "method");
  psfwi_optim_options_init(&o->optim, strcmp(method, "lbfgs") == 0 ? PSFWI_OPTIM_LBFGS
                                      : strcmp(method, "cg") == 0  ? PSFWI_OPTIM_CG
                                                                   : PSFWI_OPTIM_STEEPEST);
  o->optim.memory = (size_t)psfwi_config_int(cfg, "inversion", "memory");
  o->optim.step0 = psfwi_config_double(cfg, "inversion", "step");
  o->optim.gtol_rel = psfwi_config_double(cfg, "inversion", "gtol");
  o->optim.ftol = psfwi_config_double(cfg, "inversion", "ftol");
  o->misfit = strcmp(mkind, "l2") == 0         ? PSFWI_MISFIT_L2
              : strcmp(mkind, "spectral") == 0 ? PSFWI_MISFIT_SPECTRAL
              : strcmp(mkind, "envelope") == 0 ? PSFWI_MISFIT_ENVELOPE
              : strcmp(mkind, "phase") == 0    ? PSFWI_MISFIT_PHASE
                                               : PSFWI_MISFIT_CORRELATION;
  o->freqs = p->freqs;
  o->nfreq = p->nfreq;
  o->bands = p->bands;
  o->nband = p->nband;
  o->filter_order = (int)psfwi_config_int(cfg, "inversion", "filter_order");
  o->vmin = p->vmin;
  o->vmax = p->vmax;
  o->illumination = psfwi_config_bool(cfg, "inversion", "illumination");
  o->illum_eps = psfwi_config_double(cfg, "inversion", "illumination_eps");
  o->smooth_sigma = psfwi_config_double(cfg, "inversion", "smooth");
  o->mask = p->mask;
  o->reg.tikhonov = psfwi_config_double(cfg, "regularization", "tikhonov");
  o->reg.tikhonov_x = psfwi_config_double(cfg, "regularization", "tikhonov_x");
  o->reg.tikhonov_z = psfwi_config_double(cfg, "regularization", "tikhonov_z");
  o->reg.tv = psfwi_config_double(cfg, "regularization", "tv");
  o->reg.tv_eps = psfwi_config_double(cfg, "regularization", "tv_eps");
  const int of_model = strcmp(psfwi_config_string(cfg, "regularization", "norm_of"), "model") == 0;
  if (of_model) { /* r = v: the L2 term's reference is zero */
    for (size_t i = 0; i < p->prior->grid.nx * p->prior->grid.nz; i++) p->prior->vp[i] = 0.0f;
  }
  o->reg.prior = psfwi_config_double(cfg, "regularization", "l2");
  o->reg.prior_model = p->prior->vp;
  o->reg.norm_ref = of_model ? NULL : p->prior->vp;
  o->reg.tv_kind = strcmp(psfwi_config_string(cfg, "regularization", "tv_kind"), "anisotropic") == 0
                       ? PSFWI_REG_TV_ANISOTROPIC
                       : PSFWI_REG_TV_ISOTROPIC;
  o->reg.l1 = psfwi_config_double(cfg, "regularization", "l1");
  o->reg.group = psfwi_config_double(cfg, "regularization", "group");
  o->reg.group_kind = strcmp(psfwi_config_string(cfg, "regularization", "group_kind"), "rows") == 0
                          ? PSFWI_REG_GROUP_ROWS
                          : PSFWI_REG_GROUP_COLUMNS;
  o->reg.nuclear = psfwi_config_double(cfg, "regularization", "nuclear");
  o->reg.ksupport = psfwi_config_double(cfg, "regularization", "ksupport");
  o->reg.ksupport_k = (size_t)psfwi_config_int(cfg, "regularization", "ksupport_k");
  o->reg.norm_eps = psfwi_config_double(cfg, "regularization", "norm_eps");
  o->proximal = strcmp(psfwi_config_string(cfg, "regularization", "solver"), "proximal") == 0;
  const int each_band =
      strcmp(psfwi_config_string(cfg, "regularization", "auto_scale_bands"), "each") == 0;
  o->auto_scale = !psfwi_config_bool(cfg, "regularization", "auto_scale") ? PSFWI_AUTO_SCALE_OFF
                  : each_band                                             ? PSFWI_AUTO_SCALE_EACH
                                                                          : PSFWI_AUTO_SCALE_FIRST;
  if (each_band && !o->auto_scale)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "[regularization] auto_scale_bands = each scales the weights at each band: "
                      "it needs auto_scale = true");
  const size_t rank = p->model->grid.nx < p->model->grid.nz ? p->model->grid.nx : p->model->grid.nz;
  if (o->reg.ksupport > 0.0 && o->reg.ksupport_k > rank)
    return psfwi_fail(err, PSFWI_ERANGE,
                      "[regularization] ksupport_k = %zu; expected at most min(nx, nz) = %zu",
                      o->reg.ksupport_k, rank);
  if (o->proximal && psfwi_config_double(cfg, "inversion", "smooth") > 0)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "[regularization] solver = proximal works on the model itself: "
                      "[inversion] smooth must be 0");
  o->grad.mem_budget_mb = psfwi_config_double(cfg, "inversion", "memory_mb");
  o->grad.tape_stride = (size_t)psfwi_config_int(cfg, "inversion", "tape_stride");
  if (p->comm.size > 1) {
    o->grad.reduce = psfwi_comm_allreduce_sum;
    o->grad.reduce_ctx = &p->comm;
  }
  o->truth = p->truth;
  o->write_files = p->comm.rank == 0;
  return PSFWI_OK;
}

int cli_convert_3d(psfwi_gather *g, const psfwi_config *cfg, int verbose, psfwi_error *err) {
  const char *mode = psfwi_config_string(cfg, "data", "convert_3d");
  if (strcmp(mode, "none") == 0) return PSFWI_OK;
  if (!psfwi_config_is_set(cfg, "data", "convert_velocity"))
    return psfwi_fail(err, PSFWI_EINVAL,
                      "[data] convert_3d = %s needs [data] convert_velocity (m/s)", mode);
  const psfwi_survey *all = g->survey;
  int st = psfwi_convert_3d_to_2d(
      all->nshot * all->nrec, g->nt, g->dt, psfwi_config_double(cfg, "data", "convert_velocity"),
      psfwi_config_double(cfg, "data", "convert_t0"),
      strcmp(mode, "full") == 0 ? PSFWI_3D2D_FULL : PSFWI_3D2D_AMPLITUDE, g->data, err);
  if (st != PSFWI_OK) return psfwi_error_prefix(err, "[data] convert_3d: ");
  if (verbose)
    fprintf(stderr, "psfwi: observed data converted from point- to line-source (%s, c = %g m/s)\n",
            mode, psfwi_config_double(cfg, "data", "convert_velocity"));
  return PSFWI_OK;
}

int cli_resample_gather(psfwi_gather *g, const psfwi_config *cfg, int verbose, psfwi_error *err) {
  const double dt = psfwi_config_double(cfg, "data", "resample");
  if (dt == 0.0 || fabs(dt - g->dt) <= 1e-9 * g->dt) return PSFWI_OK;
  const psfwi_survey *s = g->survey;
  const size_t ntr = s->nshot * s->nrec, nt = psfwi_resample_count(g->nt, g->dt, dt);
  if (nt < 2)
    return psfwi_fail(err, PSFWI_ERANGE,
                      "[data] resample = %g s leaves %zu sample(s) of a %g s record; expected a "
                      "smaller interval",
                      dt, nt, (double)(g->nt - 1) * g->dt);
  if (psfwi_mem_check((double)ntr * (double)nt * sizeof(float), "the resampled data",
                      "a larger [data] resample", err) != PSFWI_OK)
    return err->status;
  float *d = malloc(ntr * nt * sizeof *d), *w = malloc(nt * sizeof *w);
  int st =
      d && w ? PSFWI_OK : psfwi_fail(err, PSFWI_ENOMEM, "out of memory for the resampled data");
  if (st == PSFWI_OK) st = psfwi_resample(ntr, g->nt, g->dt, g->data, dt, d, err);
  if (st == PSFWI_OK) st = psfwi_resample(1, g->nt, g->dt, g->wavelet, dt, w, err);
  if (st != PSFWI_OK) {
    free(d);
    free(w);
    return psfwi_error_prefix(err, "[data] resample: ");
  }
  if (verbose)
    fprintf(stderr, "psfwi: observed data resampled from %g s (%zu samples) to %g s (%zu)\n", g->dt,
            g->nt, dt, nt);
  free(g->data);
  free(g->wavelet);
  g->data = d;
  g->wavelet = w;
  g->nt = nt;
  g->dt = dt;
  return PSFWI_OK;
}

/* [data] convert_3d: the observed (field) data made line-source data. */
static int convert_data(cli_problem *p, const psfwi_config *cfg, psfwi_error *err) {
  const char *mode = psfwi_config_string(cfg, "data", "convert_3d");
  if (psfwi_config_double(cfg, "data", "resample") > 0 &&
      !psfwi_config_is_set(cfg, "data", "observed"))
    return psfwi_fail(err, PSFWI_EINVAL,
                      "[data] resample resamples observed data: [data] observed is not given "
                      "(for synthesised data set [time] sample_interval)");
  if (strcmp(mode, "none") == 0) return PSFWI_OK;
  if (!psfwi_config_is_set(cfg, "data", "observed"))
    return psfwi_fail(err, PSFWI_EINVAL,
                      "[data] convert_3d = %s converts observed field data: [data] observed is "
                      "not given (data synthesised by psfwi are 2-D already)",
                      mode);
  return cli_convert_3d(p->obs, cfg, p->comm.rank == 0, err);
}

/* [data] mute & co: the data weights of every shot (obs->data's layout; the
 * RNN reads all shots, FWI this rank's: fwi.grad.data_weights points at
 * them), counted once. */
void cli_weight_opts_from_config(const psfwi_config *cfg, psfwi_weight_opts *wo) {
  psfwi_weight_opts_defaults(wo);
  wo->mute_velocity = psfwi_config_double(cfg, "data", "mute_velocity");
  wo->mute_time = psfwi_config_double(cfg, "data", "mute_time");
  wo->taper = psfwi_config_double(cfg, "data", "taper");
  wo->offset_min = psfwi_config_double(cfg, "data", "offset_min");
  wo->offset_max = psfwi_config_double(cfg, "data", "offset_max");
  wo->time_min = psfwi_config_double(cfg, "data", "time_min");
  wo->time_max = psfwi_config_double(cfg, "data", "time_max");
  wo->drop_dead = strcmp(psfwi_config_string(cfg, "data", "dead_traces"), "drop") == 0;
  wo->reject_rms = psfwi_config_double(cfg, "data", "reject_rms");
  wo->pick_window = psfwi_config_double(cfg, "data", "pick_window");
  wo->pick_margin = psfwi_config_double(cfg, "data", "pick_margin");
}

static int make_weights(cli_problem *p, const psfwi_config *cfg, psfwi_error *err) {
  psfwi_weight_opts wo;
  cli_weight_opts_from_config(cfg, &wo);
  wo.live = p->obs->live;
  if (!psfwi_weight_opts_active(&wo)) return PSFWI_OK;
  const psfwi_survey *all = p->obs->survey;
  const size_t nt = p->obs->nt, ntr = all->nshot * all->nrec;
  if (psfwi_mem_check((double)ntr * (double)nt * sizeof(float), "the data weights", "fewer shots",
                      err) != PSFWI_OK)
    return err->status;
  p->weights = malloc((ntr * nt + 1) * sizeof *p->weights);
  if (p->weights == NULL)
    return psfwi_fail(err, PSFWI_ENOMEM, "out of memory for the data weights");
  psfwi_weight_report rep;
  int st = psfwi_data_weights(all, nt, p->obs->dt, p->obs->data, &wo, p->weights, &rep, err);
  if (st != PSFWI_OK) return psfwi_error_prefix(err, "[data]: ");
  char pad[96] = "";
  if (rep.padding > 0)
    snprintf(pad, sizeof pad, "; %zu padding traces (irregular spreads) left out", rep.padding);
  if (p->comm.rank == 0)
    fprintf(
        stderr,
        "psfwi: data weights ([data]): %zu traces in the misfit, %zu dead, %zu noisy and "
        "%zu outside the offsets left out%s; %zu first breaks picked%s\n",
        rep.live, rep.dead, rep.noisy, rep.offset,
        wo.mute_velocity > 0 || wo.time_min > 0 || wo.time_max > 0 ? "; mute/time window on" : "",
        rep.picked, pad);
  if (rep.live == 0)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "[data]: every trace is left out by the offset window or as dead/noisy");
  p->fwi.grad.data_weights = p->weights + p->first_shot * all->nrec * nt;
  return PSFWI_OK;
}

int cli_problem_setup(cli_problem *p, psfwi_config *cfg, psfwi_error *err) {
  int st;
  double fmax;
  size_t count;
  if ((st = read_models(p, cfg, err)) != PSFWI_OK) return st;
  if ((st = read_data(p, cfg, &fmax, err)) != PSFWI_OK) return st;
  if ((st = convert_data(p, cfg, err)) != PSFWI_OK) return st;
  if ((st = make_wave(p, cfg, fmax, err)) != PSFWI_OK) return st;
  if ((st = split_shots(p, cfg, &count, err)) != PSFWI_OK) return st;
  if ((st = make_mask(p, cfg, err)) != PSFWI_OK) return st;
  if ((st = fill_options(p, cfg, err)) != PSFWI_OK) return st;
  if ((st = make_weights(p, cfg, err)) != PSFWI_OK) return st;
  p->cfg_text = cli_config_text(cfg);
  if (p->comm.rank == 0) {
    const psfwi_wave_info *wi = psfwi_wave_get_info(p->w);
    const psfwi_survey *all = p->obs->survey;
    fprintf(stderr,
            "psfwi: %zu shots x %zu receivers, %zu samples at %g s; model %zu x %zu at %g m "
            "(padded %zu x %zu), %zu steps per sample, %.1f points per wavelength; bounds "
            "[%g, %g] m/s; %zu frozen cells; %d MPI rank(s), %zu shots here\n",
            all->nshot, all->nrec, p->obs->nt, p->obs->dt, wi->nx, wi->nz, wi->dx, wi->npx, wi->npz,
            wi->nsub, wi->ppw, p->vmin, p->vmax, p->nfrozen, p->comm.size, count);
  }
  return PSFWI_OK;
}

void cli_problem_free(cli_problem *p) {
  free(p->cfg_text);
  psfwi_model_destroy(p->model);
  psfwi_model_destroy(p->truth);
  psfwi_model_destroy(p->prior);
  psfwi_gather_destroy(p->obs);
  psfwi_survey_destroy(p->local);
  psfwi_wave_destroy(p->w);
  free(p->mask);
  free(p->weights);
  free(p->bands);
  free(p->freqs);
}

/* ---- The frame of psfwi fwi and psfwi rnn -------------------------------------- */

void cli_fmt_time(double s, char *buf, size_t n) {
  if (!isfinite(s) || s < 0) {
    snprintf(buf, n, "?");
    return;
  }
  /* rounded first, so that 359.7 s reads 6m00s, not 5m60s */
  const double r = floor(s + 0.5), m = floor(s / 60 + 0.5);
  if (r < 100)
    snprintf(buf, n, "%.0f s", r);
  else if (r < 6000)
    snprintf(buf, n, "%.0fm%02.0fs", floor(r / 60), fmod(r, 60));
  else
    snprintf(buf, n, "%.0fh%02.0fm", floor(m / 60), fmod(m, 60));
}

char *cli_default_state_path(const char *model) {
  const size_t n = strlen(model);
  char *s = malloc(n + 16);
  if (s == NULL) return NULL;
  memcpy(s, model, n + 1);
  if (n > 3 && strcmp(s + n - 3, ".nc") == 0) s[n - 3] = '\0';
  strcat(s, ".state.nc");
  return s;
}

int cli_run_start(cli_run *r, const char *cmd, const char *usage, const psfwi_config_key *keys,
                  size_t nkeys, const char *band_count_key, const char *history_title, int argc,
                  char **argv, int *exit_code) {
  memset(r, 0, sizeof *r);
  r->cmd = cmd;
  r->P.band_count_key = band_count_key;
  *exit_code = 0;
  psfwi_error *err = &r->err;
  /* take out the options cli_config_from_args does not know */
  int n = 0;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--resume") == 0) {
      r->resume = 1;
    } else if (strcmp(argv[i], "--stop-after") == 0) {
      if (i + 1 >= argc) return *exit_code = cli_usage_error(cmd, "--stop-after needs a number");
      if (cli_size("--stop-after", argv[++i], 1, 1000000000, &r->stop_after, err) != PSFWI_OK)
        return *exit_code = cli_error(err);
    } else {
      argv[n++] = argv[i];
    }
  }
  argc = n;
  if (psfwi_comm_init(&argc, &argv, &r->P.comm, err) != PSFWI_OK)
    return *exit_code = cli_error(err);
  r->cfg = cli_config_from_args(cmd, usage, keys, nkeys, argc, argv, exit_code);
  if (r->cfg == NULL) {
    psfwi_comm_finalize(&r->P.comm);
    if (*exit_code == 0) *exit_code = -1; /* -h: done */
    return PSFWI_EINVAL;
  }
  int st = PSFWI_OK;
  r->out = psfwi_config_require(r->cfg, "output", "model", err);
  if (r->out == NULL) st = err->status;
  r->history = psfwi_config_string(r->cfg, "output", "history");
  if (st == PSFWI_OK) {
    const char *sp = psfwi_config_string(r->cfg, "output", "state");
    r->state_path = sp ? strdup(sp) : cli_default_state_path(r->out);
    if (r->state_path == NULL) st = psfwi_fail(err, PSFWI_ENOMEM, "out of memory");
  }
  if (st == PSFWI_OK) {
    static const char *const outputs[] = {"output.model", "output.history", "output.observed",
                                          NULL};
    const psfwi_run_file state[] = {{"[output] state", r->state_path, 1}};
    st = cli_check_run_files(r->cfg, cli_invert_inputs, outputs, state, 1, err);
  }
  if (st == PSFWI_OK) st = cli_problem_setup(&r->P, r->cfg, err);
  st = psfwi_comm_agree(&r->P.comm, st);
  r->meta = cli_meta(history_title);
  r->meta.config = r->P.cfg_text;
  const char *obs_out = psfwi_config_string(r->cfg, "output", "observed");
  if (st == PSFWI_OK && obs_out && r->P.comm.rank == 0) {
    char title[96];
    snprintf(title, sizeof title, "psfwi observed shot gathers (synthesised by psfwi %s)", cmd);
    psfwi_meta om = cli_meta(title);
    om.config = r->P.cfg_text;
    st = psfwi_nc_write_gather(obs_out, r->P.obs, &om, err);
    if (st == PSFWI_OK) printf("wrote %s\n", obs_out);
  }
  st = psfwi_comm_agree(&r->P.comm, st);
  if (st == PSFWI_OK && r->P.comm.rank == 0 && r->resume)
    fprintf(stderr, "%s: resuming from '%s'\n", cmd, r->state_path);
  return st;
}

int cli_run_finish(cli_run *r, int st, const char *model_title) {
  const int rank0 = r->P.comm.rank == 0;
  if (st == PSFWI_OK && rank0) {
    psfwi_meta mm = cli_meta(model_title);
    mm.config = r->P.cfg_text;
    st = psfwi_nc_write_model(r->out, r->P.model, &mm, &r->err);
    if (st == PSFWI_OK) {
      printf("wrote %s\n", r->out);
      if (r->history) printf("wrote %s\n", r->history);
    }
  }
  if (st != PSFWI_OK && rank0) cli_error(&r->err);
  free(r->state_path);
  cli_problem_free(&r->P);
  psfwi_config_destroy(r->cfg);
  psfwi_comm_finalize(&r->P.comm);
  return st == PSFWI_OK ? 0 : st == PSFWI_EINTERRUPTED ? 3 : 1;
}

int cli_sgd_options(const psfwi_config *cfg, double lr, psfwi_optim_sgd_options *sgd,
                    psfwi_lr_schedule_options *schedule, double *clip, psfwi_error *err) {
  const char *opt = psfwi_config_string(cfg, "training", "optimizer");
  const double mom = psfwi_config_double(cfg, "training", "momentum");
  const int method = strcmp(opt, "adam") == 0                         ? PSFWI_SGD_ADAM
                     : strcmp(opt, "adamw") == 0                      ? PSFWI_SGD_ADAMW
                     : strcmp(opt, "rmsprop") == 0                    ? PSFWI_SGD_RMSPROP
                     : strcmp(opt, "adadelta") == 0                   ? PSFWI_SGD_ADADELTA
                     : psfwi_config_bool(cfg, "training", "nesterov") ? PSFWI_SGD_NESTEROV
                     : mom > 0.0                                      ? PSFWI_SGD_MOMENTUM
                                                                      : PSFWI_SGD_PLAIN;
  if (psfwi_config_bool(cfg, "training", "nesterov") && !(mom > 0.0 && strcmp(opt, "sgd") == 0))
    return psfwi_fail(err, PSFWI_EINVAL,
                      "[training] nesterov = true needs optimizer = sgd and momentum > 0");
  psfwi_optim_sgd_options_init(sgd, method);
  sgd->lr = lr;
  sgd->momentum = mom > 0.0 ? mom : sgd->momentum;
  sgd->beta1 = psfwi_config_double(cfg, "training", "beta1");
  sgd->beta2 = psfwi_config_double(cfg, "training", "beta2");
  if (psfwi_config_is_set(cfg, "training", "rho"))
    sgd->rho = psfwi_config_double(cfg, "training", "rho");
  sgd->weight_decay = psfwi_config_double(cfg, "training", "weight_decay");
  const char *sch = psfwi_config_string(cfg, "training", "schedule");
  psfwi_lr_schedule_options_init(schedule,
                                 strcmp(sch, "step") == 0      ? PSFWI_LR_STEP
                                 : strcmp(sch, "cosine") == 0  ? PSFWI_LR_COSINE
                                 : strcmp(sch, "plateau") == 0 ? PSFWI_LR_PLATEAU
                                                               : PSFWI_LR_CONSTANT,
                                 lr);
  schedule->step_size = (size_t)psfwi_config_int(cfg, "training", "step_size");
  schedule->gamma = psfwi_config_double(cfg, "training", "gamma");
  schedule->lr_min = psfwi_config_double(cfg, "training", "lr_min");
  schedule->factor = psfwi_config_double(cfg, "training", "plateau_factor");
  schedule->patience = (size_t)psfwi_config_int(cfg, "training", "plateau_patience");
  schedule->threshold = psfwi_config_double(cfg, "training", "plateau_threshold");
  schedule->cooldown = (size_t)psfwi_config_int(cfg, "training", "plateau_cooldown");
  *clip = psfwi_config_double(cfg, "training", "clip");
  return PSFWI_OK;
}
