/* psfwi dataset generate -c CONFIG.ini [--set section.key=value ...]:
 * training data for the data-driven DNN: synthetic models, their modelled
 * surveys as pseudo-spectral features, in NetCDF shards that are written as
 * they complete and skipped when a run is repeated (the resume).
 * psfwi dataset info FILE...: the summary of psfwi info. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <omp.h>

#include "psfwi_learn.h"
#include "run_config.h"

static const char usage_text[] =
    "usage: psfwi dataset generate -c CONFIG.ini [--set section.key=value ...]\n"
    "       psfwi dataset info FILE...\n"
    "generate: draw [dataset] samples synthetic models of the [dataset] families on\n"
    "the [grid], model the [survey] in each with the pseudo-spectral propagator and\n"
    "store the pseudo-spectral [features] of the data with the velocities, in NetCDF\n"
    "shards <[output] prefix>_00000.nc, _00001.nc, ... of shard_size samples each.\n"
    "Sample i uses the model seed psfwi_mix64(seed + i): any shard can be made again\n"
    "alone. Shards are written as they complete; running the same command again\n"
    "skips the shards that exist and are complete, so an interrupted run resumes.\n"
    "Existing shards made with another acquisition or configuration are refused.\n"
    "info: the summary of 'psfwi info' (dimensions, ranges, attributes).\n"
    "Features, shards and keys: docs/learn.md.\n";

/* clang-format off */
static const psfwi_config_key keys[] = {
    CLI_KEYS_SURVEY_WAVE,
    {"grid", "nx", PSFWI_CFG_INT, NULL, 2, 1e6, NULL, "model cells along x"},
    {"grid", "nz", PSFWI_CFG_INT, NULL, 2, 1e6, NULL, "model cells along z"},
    {"grid", "dx", PSFWI_CFG_DOUBLE, NULL, 1e-3, 1e5, NULL, "cell size along x (m)"},
    {"grid", "dz", PSFWI_CFG_DOUBLE, NULL, 1e-3, 1e5, NULL, "cell size along z (m); default dx"},
    {"dataset", "families", PSFWI_CFG_STRING, "layered", 0, 0, NULL,
     "comma list of model families drawn uniformly (layered, folded, faulted, salt, anomaly, blocky; "
     "a family named twice is drawn twice as often)"},
    {"dataset", "samples", PSFWI_CFG_INT, NULL, 1, 1e9, NULL, "number of samples (models)"},
    {"dataset", "models", PSFWI_CFG_PATH, NULL, 0, 0, NULL,
     "given models instead of drawn ones (a test set): a NumPy .npy/.npz stack of shape "
     "(N, nz, nx) or (N, 1, nz, nx) on [grid], m/s; sample i is model i"},
    {"dataset", "models_key", PSFWI_CFG_STRING, NULL, 0, 0, NULL,
     "the .npz member holding the models (e.g. vmodel11)"},
    {"dataset", "shard_size", PSFWI_CFG_INT, "256", 1, 1e6, NULL, "samples per shard file"},
    {"dataset", "seed", PSFWI_CFG_INT, "1", 0, 9e15, NULL,
     "seed of the data set: sample i has model seed psfwi_mix64(seed + i)"},
    {"dataset", "vmin", PSFWI_CFG_DOUBLE, "1500", 1, 1e5, NULL,
     "lowest velocity of the models (m/s); also the propagator's bound"},
    {"dataset", "vmax", PSFWI_CFG_DOUBLE, "4500", 1, 1e5, NULL,
     "highest velocity of the models (m/s); fixes the propagator's time step"},
    {"dataset", "water_min", PSFWI_CFG_DOUBLE, "0", 0, 1e6, NULL,
     "shallowest water layer drawn (m; 0 and water_max 0: no water)"},
    {"dataset", "water_max", PSFWI_CFG_DOUBLE, "0", 0, 1e6, NULL, "deepest water layer drawn (m)"},
    {"dataset", "span", PSFWI_CFG_STRING, "1:1", 0, 0, NULL,
     "each model's velocity range as a fraction of [vmin, vmax], drawn in LO:HI (0 < LO <= HI "
     "<= 1) and placed at random inside it; 1:1: every model spans [vmin, vmax]"},
    {"features", "mode", PSFWI_CFG_CHOICE, "whole", 0, 0, "whole|profile",
     "whole: one position per receiver, channels per shot; profile: positions = model "
     "columns (midpoint bins), channels per offset bin"},
    {"features", "parts", PSFWI_CFG_CHOICE, "reim", 0, 0, "reim|ampphase",
     "real and imaginary parts, or log-amplitude and phase"},
    {"features", "frequencies", PSFWI_CFG_STRING, NULL, 0, 0, NULL,
     "comma list of frequencies (Hz); the nearest FFT bin of each is used"},
    {"features", "offset_min", PSFWI_CFG_DOUBLE, NULL, -1e7, 1e7, NULL,
     "profile mode: offset (receiver x - source x, m) at the centre of offset bin 0"},
    {"features", "offset_step", PSFWI_CFG_DOUBLE, NULL, 1e-3, 1e7, NULL,
     "profile mode: width of an offset bin (m)"},
    {"features", "offset_count", PSFWI_CFG_INT, NULL, 1, 4096, NULL,
     "profile mode: number of offset bins"},
    {"output", "prefix", PSFWI_CFG_PATH, NULL, 0, 0, NULL,
     "shards are <prefix>_00000.nc, <prefix>_00001.nc, ... (folders are created)"},
};
/* clang-format on */

/* Keys that may change between runs that fill the same shards: where the
 * shards go, how many threads make them, and how many samples there are in
 * all (a larger count adds shards; a last shard of another size is made
 * again). */
static const char *const run_only_keys[] = {"[output] prefix", "[propagator] threads",
                                            "[propagator] fft_threads", "[dataset] samples"};

/* The configuration dump as lines "[section] key = value", run-only keys
 * left out; *n lines (malloc'ed array of malloc'ed strings). */
static char **config_lines(const char *text, size_t *n) {
  char **lines = NULL;
  size_t cap = 0;
  *n = 0;
  char *copy = strdup(text ? text : "");
  if (copy == NULL) return NULL;
  const char *section = "";
  for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line != NULL;
       line = strtok_r(NULL, "\n", &save)) {
    if (line[0] == '[') {
      char *close = strchr(line, ']');
      if (close) *close = '\0';
      section = line + 1;
      continue;
    }
    char *eq = strstr(line, " = ");
    if (eq == NULL) continue;
    *eq = '\0';
    const size_t need = strlen(section) + strlen(line) + strlen(eq + 3) + 8;
    char *entry = malloc(need);
    if (entry == NULL) break;
    snprintf(entry, need, "[%s] %s", section, line);
    int skip = 0;
    for (size_t k = 0; k < sizeof run_only_keys / sizeof run_only_keys[0]; k++)
      skip |= strcmp(entry, run_only_keys[k]) == 0;
    if (skip) {
      free(entry);
      continue;
    }
    snprintf(entry + strlen(entry), need - strlen(entry), " = %s", eq + 3);
    if (*n == cap) {
      cap = cap ? 2 * cap : 32;
      char **grown = realloc(lines, cap * sizeof *lines);
      if (grown == NULL) {
        free(entry);
        break;
      }
      lines = grown;
    }
    lines[(*n)++] = entry;
  }
  free(copy);
  return lines;
}

static void free_lines(char **lines, size_t n) {
  for (size_t i = 0; i < n; i++) free(lines[i]);
  free(lines);
}

/* "[s] k = v" -> length of "[s] k" */
static size_t key_len(const char *line) {
  const char *eq = strstr(line, " = ");
  return eq ? (size_t)(eq - line) : strlen(line);
}

static const char *find_key_line(char **lines, size_t n, const char *line) {
  const size_t kl = key_len(line);
  for (size_t i = 0; i < n; i++)
    if (key_len(lines[i]) == kl && strncmp(lines[i], line, kl) == 0) return lines[i];
  return NULL;
}

/* PSFWI_EINVAL naming the first key whose value differs between this run's
 * configuration and the one stored in shard `path`. */
static int compare_configs(const char *here, const char *there, const char *path,
                           psfwi_error *err) {
  size_t na, nb;
  char **a = config_lines(here, &na), **b = config_lines(there, &nb);
  int st = PSFWI_OK;
  for (size_t i = 0; i < na && st == PSFWI_OK; i++) {
    const char *other = find_key_line(b, nb, a[i]);
    if (other == NULL)
      st = psfwi_fail(err, PSFWI_EINVAL,
                      "'%s' was made with another configuration: %s here, not set there", path,
                      a[i]);
    else if (strcmp(other, a[i]) != 0)
      st = psfwi_fail(err, PSFWI_EINVAL,
                      "'%s' was made with another configuration: %s here, %s there", path, a[i],
                      other + key_len(other) + 3);
  }
  for (size_t i = 0; i < nb && st == PSFWI_OK; i++)
    if (find_key_line(a, na, b[i]) == NULL)
      st = psfwi_fail(err, PSFWI_EINVAL,
                      "'%s' was made with another configuration: %s there, not set here", path,
                      b[i]);
  free_lines(a, na);
  free_lines(b, nb);
  if (st != PSFWI_OK && err != NULL) {
    const size_t used = strlen(err->msg);
    snprintf(err->msg + used, sizeof err->msg - used,
             "; shards of one data set must come from one configuration (delete the old shards "
             "or choose another [output] prefix)");
  }
  return st;
}

/* Comma list of family names into o. */
static int parse_families(const char *text, psfwi_sample_opts *o, psfwi_error *err) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", text);
  o->nfamily = 0;
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    while (*tok == ' ' || *tok == '\t') tok++;
    size_t n = strlen(tok);
    while (n > 0 && (tok[n - 1] == ' ' || tok[n - 1] == '\t')) tok[--n] = '\0';
    if (o->nfamily == PSFWI_FAMILY_COUNT)
      return psfwi_fail(err, PSFWI_ERANGE, "[dataset] families = '%s': at most %d names", text,
                        (int)PSFWI_FAMILY_COUNT);
    if (psfwi_family_parse(tok, &o->family[o->nfamily], err) != PSFWI_OK)
      return psfwi_error_prefix(err, "[dataset] families = '%s'", text);
    o->nfamily++;
  }
  if (o->nfamily == 0)
    return psfwi_fail(err, PSFWI_EINVAL, "[dataset] families is empty; name at least one family");
  return PSFWI_OK;
}

/* Comma list of frequencies (Hz) into a. */
static int parse_frequencies(const char *text, psfwi_learn_acq *a, psfwi_error *err) {
  char buf[2048];
  snprintf(buf, sizeof buf, "%s", text);
  a->nfreq = 0;
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    char *end;
    errno = 0;
    const double f = strtod(tok, &end);
    while (*end == ' ' || *end == '\t') end++;
    if (errno != 0 || end == tok || *end != '\0' || !isfinite(f) || f <= 0.0)
      return psfwi_fail(err, PSFWI_EINVAL,
                        "[features] frequencies = '%s': '%s' is not a frequency > 0 (Hz)", text,
                        tok);
    if (a->nfreq == PSFWI_LEARN_MAX_FREQ)
      return psfwi_fail(err, PSFWI_ERANGE, "[features] frequencies: at most %d",
                        PSFWI_LEARN_MAX_FREQ);
    a->freq[a->nfreq++] = f;
  }
  if (a->nfreq == 0)
    return psfwi_fail(err, PSFWI_EINVAL, "[features] frequencies is empty; give at least one");
  return PSFWI_OK;
}

/* What to do with shard k. */
enum shard_state { SHARD_MAKE = 0, SHARD_DONE = 1 };

/* Check an existing shard: complete and made by this configuration? */
static int check_existing(const char *path, size_t expect_n, size_t nchan, size_t width,
                          const psfwi_grid *g, const char *acq_text, const psfwi_learn_acq *acq,
                          const char *cfg_text, enum shard_state *state, psfwi_error *err) {
  char *their_acq = NULL;
  psfwi_error rerr = {0};
  *state = SHARD_MAKE;
  /* a readable NetCDF file without the acquisition is someone else's */
  char *probe = psfwi_nc_read_text_attribute(path, "psfwi_acquisition", &rerr);
  const int not_a_shard = probe == NULL && rerr.status == PSFWI_EKEY;
  free(probe);
  if (not_a_shard)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "'%s' exists and is not a psfwi training-data shard; not overwritten "
                      "(choose another [output] prefix)",
                      path);
  psfwi_shard *sh = psfwi_nc_read_shard(path, &their_acq, &rerr);
  if (sh == NULL) {
    fprintf(stderr, "psfwi dataset: %s; it is made again\n", rerr.msg);
    return PSFWI_OK;
  }
  int st = PSFWI_OK;
  if (strcmp(their_acq, acq_text) != 0) {
    psfwi_learn_acq theirs;
    char name[4200];
    snprintf(name, sizeof name, "'%s'", path);
    st = psfwi_learn_acq_parse(their_acq, name, &theirs, err);
    if (st == PSFWI_OK) st = psfwi_learn_acq_diff(acq, &theirs, "this run", name, err);
    if (st == PSFWI_OK) /* equal within tolerance, different text */
      st = psfwi_fail(err, PSFWI_EINVAL, "%s holds another acquisition text than this run's", name);
    const size_t used = strlen(err->msg);
    snprintf(err->msg + used, sizeof err->msg - used,
             "; shards of one data set must share one acquisition (delete the old shards or "
             "choose another [output] prefix)");
  }
  if (st == PSFWI_OK) {
    char *their_cfg = psfwi_nc_read_text_attribute(path, "psfwi_config", err);
    if (their_cfg == NULL)
      st = psfwi_error_prefix(err, "cannot check the configuration of an existing shard");
    else
      st = compare_configs(cfg_text, their_cfg, path, err);
    free(their_cfg);
  }
  if (st == PSFWI_OK) {
    const int same_shape =
        sh->nchan == nchan && sh->width == width && sh->grid.nx == g->nx && sh->grid.nz == g->nz;
    if (!same_shape)
      st = psfwi_fail(err, PSFWI_EINVAL,
                      "'%s' holds %zu x %zu features and %zu x %zu models; this run makes %zu x "
                      "%zu and %zu x %zu",
                      path, sh->nchan, sh->width, sh->grid.nz, sh->grid.nx, nchan, width, g->nz,
                      g->nx);
    else if (sh->nsample == expect_n)
      *state = SHARD_DONE;
    else
      fprintf(stderr, "psfwi dataset: '%s' holds %zu samples where this run puts %zu; made again\n",
              path, sh->nsample, expect_n);
  }
  psfwi_shard_destroy(sh);
  free(their_acq);
  return st;
}

struct progress_ctx {
  cli_progress *p;
  size_t before; /* samples made in earlier shards */
};

static void on_progress(void *ctx, size_t done, size_t count) {
  (void)count;
  struct progress_ctx *pc = ctx;
  cli_progress_update(pc->p, pc->before + done);
}

static int generate(int argc, char **argv) {
  int code;
  psfwi_config *cfg = cli_config_from_args("dataset generate", usage_text, keys,
                                           sizeof keys / sizeof keys[0], argc, argv, &code);
  if (cfg == NULL) return code;
  psfwi_error err = {0};
  psfwi_survey *s = NULL;
  psfwi_sampler *sm = NULL;
  psfwi_shard *sh = NULL;
  float *wavelet = NULL, *given = NULL;
  uint64_t *seeds = NULL;
  char *cfg_text = NULL, *acq_text = NULL, **paths = NULL;
  enum shard_state *state = NULL;
  size_t nshard = 0;
  int st = PSFWI_EINVAL;
  double dt, fmax;
  size_t nt;

  if (psfwi_config_is_set(cfg, "propagator", "vmin") ||
      psfwi_config_is_set(cfg, "propagator", "vmax")) {
    psfwi_fail(&err, PSFWI_EINVAL,
               "[propagator] vmin and vmax are not used by psfwi dataset: the propagator's "
               "bounds are [dataset] vmin and vmax, the range of the drawn models");
    goto done;
  }
  const char *nxs = psfwi_config_require(cfg, "grid", "nx", &err);
  const char *nzs = nxs ? psfwi_config_require(cfg, "grid", "nz", &err) : NULL;
  const char *dxs = nzs ? psfwi_config_require(cfg, "grid", "dx", &err) : NULL;
  const char *ns = dxs ? psfwi_config_require(cfg, "dataset", "samples", &err) : NULL;
  const char *fs = ns ? psfwi_config_require(cfg, "features", "frequencies", &err) : NULL;
  const char *prefix = fs ? psfwi_config_require(cfg, "output", "prefix", &err) : NULL;
  if (prefix == NULL) goto done;
  psfwi_sample_opts so;
  memset(&so, 0, sizeof so);
  so.grid.nx = (size_t)psfwi_config_int(cfg, "grid", "nx");
  so.grid.nz = (size_t)psfwi_config_int(cfg, "grid", "nz");
  so.grid.dx = psfwi_config_double(cfg, "grid", "dx");
  so.grid.dz =
      psfwi_config_is_set(cfg, "grid", "dz") ? psfwi_config_double(cfg, "grid", "dz") : so.grid.dx;
  so.seed = (uint64_t)psfwi_config_int(cfg, "dataset", "seed");
  so.vmin = psfwi_config_double(cfg, "dataset", "vmin");
  so.vmax = psfwi_config_double(cfg, "dataset", "vmax");
  so.water_min = psfwi_config_double(cfg, "dataset", "water_min");
  so.water_max = psfwi_config_double(cfg, "dataset", "water_max");
  {
    const char *sp = psfwi_config_string(cfg, "dataset", "span");
    char tail;
    if (sscanf(sp, "%lf:%lf%c", &so.span_min, &so.span_max, &tail) != 2 ||
        !(so.span_min > 0 && so.span_min <= so.span_max && so.span_max <= 1)) {
      st = psfwi_fail(&err, PSFWI_ERANGE,
                      "[dataset] span = '%s': expected LO:HI with 0 < LO <= HI <= 1", sp);
      goto done;
    }
  }
  if ((st = parse_families(psfwi_config_string(cfg, "dataset", "families"), &so, &err)) != PSFWI_OK)
    goto done;
  if (psfwi_config_is_set(cfg, "dataset", "models")) {
    const char *mp = psfwi_config_string(cfg, "dataset", "models");
    so.nmodels = (size_t)psfwi_config_int(cfg, "dataset", "samples");
    const size_t n = psfwi_grid_size(&so.grid);
    if ((st = psfwi_mem_check((double)so.nmodels * (double)n * sizeof(float), "the given models",
                              NULL, &err)) != PSFWI_OK)
      goto done;
    if ((given = malloc(so.nmodels * n * sizeof *given)) == NULL) {
      st = psfwi_fail(&err, PSFWI_ENOMEM, "out of memory for %zu models", so.nmodels);
      goto done;
    }
    for (size_t i = 0; i < so.nmodels; i++) {
      psfwi_npy_opts no = {.dx = so.grid.dx,
                           .dz = so.grid.dz,
                           .order = PSFWI_ORDER_ZX,
                           .key = psfwi_config_string(cfg, "dataset", "models_key"),
                           .index = i,
                           .has_index = 1};
      psfwi_model *m = psfwi_npy_read_model(mp, &no, &err);
      if (m == NULL) {
        st = psfwi_error_prefix(&err, "[dataset] models, model %zu of %zu: ", i, so.nmodels);
        goto done;
      }
      if (m->grid.nx != so.grid.nx || m->grid.nz != so.grid.nz) {
        st = psfwi_fail(&err, PSFWI_EINVAL,
                        "[dataset] models '%s': model %zu is %zu x %zu (nz x nx), [grid] says %zu "
                        "x %zu",
                        mp, i, m->grid.nz, m->grid.nx, so.grid.nz, so.grid.nx);
        psfwi_model_destroy(m);
        goto done;
      }
      memcpy(given + i * n, m->vp, n * sizeof *given);
      psfwi_model_destroy(m);
    }
    so.models = given;
  }
  st = PSFWI_ERANGE;
  if (!(so.vmax > so.vmin)) {
    psfwi_fail(&err, PSFWI_ERANGE, "[dataset] vmin = %g m/s must be below vmax = %g m/s", so.vmin,
               so.vmax);
    goto done;
  }
  if (so.water_max < so.water_min) {
    psfwi_fail(&err, PSFWI_ERANGE, "[dataset] water_min = %g m must not exceed water_max = %g m",
               so.water_min, so.water_max);
    goto done;
  }
  psfwi_learn_acq acq;
  memset(&acq, 0, sizeof acq);
  acq.mode = strcmp(psfwi_config_string(cfg, "features", "mode"), "profile") == 0
                 ? PSFWI_LEARN_PROFILE
                 : PSFWI_LEARN_WHOLE;
  acq.parts = strcmp(psfwi_config_string(cfg, "features", "parts"), "ampphase") == 0
                  ? PSFWI_LEARN_AMPPHASE
                  : PSFWI_LEARN_REIM;
  if ((st = parse_frequencies(fs, &acq, &err)) != PSFWI_OK) goto done;
  st = PSFWI_EINVAL;
  if (acq.mode == PSFWI_LEARN_PROFILE) {
    const char *k = psfwi_config_require(cfg, "features", "offset_min", &err);
    k = k ? psfwi_config_require(cfg, "features", "offset_step", &err) : NULL;
    k = k ? psfwi_config_require(cfg, "features", "offset_count", &err) : NULL;
    if (k == NULL) {
      psfwi_error_prefix(&err, "profile mode");
      goto done;
    }
    acq.offset_min = psfwi_config_double(cfg, "features", "offset_min");
    acq.offset_step = psfwi_config_double(cfg, "features", "offset_step");
    acq.noffset = (size_t)psfwi_config_int(cfg, "features", "offset_count");
  } else if (psfwi_config_is_set(cfg, "features", "offset_min") ||
             psfwi_config_is_set(cfg, "features", "offset_step") ||
             psfwi_config_is_set(cfg, "features", "offset_count")) {
    psfwi_fail(&err, PSFWI_EINVAL,
               "[features] offset_min, offset_step and offset_count are for mode = profile");
    goto done;
  }
  const int ricker = strcmp(psfwi_config_string(cfg, "wavelet", "kind"), "ricker") == 0;
  acq.f_peak = ricker ? psfwi_config_double(cfg, "wavelet", "frequency") : 0.0;

  const size_t nsample = (size_t)psfwi_config_int(cfg, "dataset", "samples");
  const size_t shard_size = (size_t)psfwi_config_int(cfg, "dataset", "shard_size");
  nshard = (nsample + shard_size - 1) / shard_size;
  paths = calloc(nshard, sizeof *paths);
  state = calloc(nshard, sizeof *state);
  seeds = calloc(shard_size, sizeof *seeds);
  if (paths == NULL || state == NULL || seeds == NULL) {
    st = psfwi_fail(&err, PSFWI_ENOMEM, "out of memory for %zu shards", nshard);
    goto done;
  }
  for (size_t k = 0; k < nshard; k++) {
    const size_t len = strlen(prefix) + 32;
    if ((paths[k] = malloc(len)) == NULL) {
      st = psfwi_fail(&err, PSFWI_ENOMEM, "out of memory for %zu shards", nshard);
      goto done;
    }
    snprintf(paths[k], len, "%s_%05zu.nc", prefix, k);
  }
  static const char *const inputs[] = {"survey.file", "wavelet.file", "dataset.models", NULL};
  const psfwi_run_file first = {"[output] prefix (its first shard)", paths[0], 1};
  if ((st = cli_check_run_files(cfg, inputs, NULL, &first, 1, &err)) != PSFWI_OK) goto done;

  if ((st = psfwi_grid_check(&so.grid, "[grid]", &err)) != PSFWI_OK) goto done;
  st = PSFWI_EINVAL;
  if ((s = cli_survey_from_config(cfg, &so.grid, &err)) == NULL) goto done;
  if ((st = psfwi_survey_check(s, &so.grid, &err)) != PSFWI_OK) goto done;
  if ((st = cli_time_from_config(cfg, &dt, &nt, &err)) != PSFWI_OK) goto done;
  if ((st = cli_check_data_memory(s->nshot, s->nrec, nt, "the modelled data of one sample",
                                  &err)) != PSFWI_OK)
    goto done;
  st = PSFWI_EINVAL;
  if ((wavelet = cli_wavelet_from_config(cfg, dt, nt, &fmax, &err)) == NULL) goto done;
  psfwi_wave_opts wo;
  cli_wave_opts_from_config(cfg, fmax, &wo);
  /* Threads over samples when a sample has few shots for the threads
   * (OpenFWI: 5 shots on 2 cores, 1.6-1.8x faster), else over the shots of
   * one sample at a time (the marine line: 39 shots; 6-11 % faster, less
   * memory): docs/BENCHMARKS.md, "Data-set generation". A make_many on 1
   * thread leaves the propagator's own threads over shots active. */
  const int nthr = wo.nthreads_shots > 0 ? wo.nthreads_shots : omp_get_max_threads();
  const int nthreads = s->nshot >= 4 * (size_t)nthr ? 1 : nthr;
  if ((sm = psfwi_sampler_create(&so, &acq, s, wavelet, nt, dt, &wo, &err)) == NULL) {
    st = err.status;
    goto done;
  }
  if ((acq_text = psfwi_learn_acq_text(&acq)) == NULL ||
      (cfg_text = cli_config_text(cfg)) == NULL) {
    st = psfwi_fail(&err, PSFWI_ENOMEM, "out of memory");
    goto done;
  }
  const size_t nchan = psfwi_learn_channels(&acq);
  const size_t width = psfwi_sampler_feature_size(sm) / nchan;
  const psfwi_wave_info *info = psfwi_sampler_wave_info(sm);
  fprintf(stderr,
          "psfwi dataset: %zu samples in %zu shard(s) of %zu; models %zu x %zu at %g x %g m "
          "(padded %zu x %zu); %zu shots x %zu receivers, %zu samples at %g s (%zu steps "
          "each); features %zu channels x %zu positions (%s, %s, %zu frequencies)\n",
          nsample, nshard, shard_size, so.grid.nx, so.grid.nz, so.grid.dx, so.grid.dz, info->npx,
          info->npz, s->nshot, s->nrec, nt, dt, info->nsub, nchan, width,
          psfwi_learn_mode_name(acq.mode), psfwi_learn_parts_name(acq.parts), acq.nfreq);

  /* the resume: every existing shard is checked before any work */
  size_t todo = 0, skipped = 0;
  for (size_t k = 0; k < nshard; k++) {
    const size_t n = k + 1 < nshard ? shard_size : nsample - k * shard_size;
    if (access(paths[k], F_OK) == 0) {
      st = check_existing(paths[k], n, nchan, width, &so.grid, acq_text, &acq, cfg_text, &state[k],
                          &err);
      if (st != PSFWI_OK) goto done;
    }
    if (state[k] == SHARD_DONE)
      skipped++;
    else
      todo += n;
  }
  if (skipped > 0)
    fprintf(stderr, "psfwi dataset: %zu of %zu shard(s) already complete; skipped\n", skipped,
            nshard);
  if ((st = psfwi_make_parent_folders(paths[0], &err)) != PSFWI_OK) goto done;

  psfwi_meta meta = cli_meta("psfwi training data (pseudo-spectral features and velocities)");
  meta.config = cfg_text;
  cli_progress prog;
  cli_progress_start(&prog, "dataset", todo);
  const double t0 = psfwi_seconds();
  size_t made = 0, written = 0;
  for (size_t k = 0; k < nshard; k++) {
    if (state[k] == SHARD_DONE) continue;
    const size_t n = k + 1 < nshard ? shard_size : nsample - k * shard_size;
    if ((sh = psfwi_shard_create(n, nchan, width, &so.grid, &err)) == NULL) {
      st = err.status;
      goto done;
    }
    struct progress_ctx pc = {&prog, made};
    st = psfwi_sampler_make_many(sm, (uint64_t)(k * shard_size), n, nthreads, sh->features, sh->vp,
                                 sh->family, seeds, on_progress, &pc, &err);
    if (st != PSFWI_OK) goto done;
    for (size_t i = 0; i < n; i++) sh->model_seed[i] = (long long)seeds[i];
    made += n;
    if ((st = psfwi_nc_write_shard(paths[k], sh, acq_text, &meta, &err)) != PSFWI_OK) goto done;
    psfwi_shard_destroy(sh);
    sh = NULL;
    written++;
    printf("wrote %s\n", paths[k]);
    fflush(stdout);
  }
  cli_progress_end(&prog);
  const double el = psfwi_seconds() - t0;
  fprintf(stderr,
          "psfwi dataset: %zu sample(s) made in %.1f s (%.3g models/s); %zu shard(s) written, "
          "%zu skipped\n",
          made, el, el > 0.0 && made > 0 ? (double)made / el : 0.0, written, skipped);
  st = PSFWI_OK;
done:
  psfwi_shard_destroy(sh);
  if (paths != NULL)
    for (size_t k = 0; k < nshard; k++) free(paths[k]);
  free(paths);
  free(state);
  free(seeds);
  free(cfg_text);
  free(acq_text);
  free(wavelet);
  free(given);
  psfwi_sampler_destroy(sm);
  psfwi_survey_destroy(s);
  psfwi_config_destroy(cfg);
  if (st != PSFWI_OK) {
    if (err.status == PSFWI_OK) psfwi_fail(&err, st, "%s", psfwi_strerror(st));
    return cli_error(&err);
  }
  return 0;
}

int cmd_dataset(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
    if (argc < 2) {
      fputs(usage_text, stderr);
      return 2;
    }
    /* the keys of generate */
    char *hargv[] = {"generate", "-h", NULL};
    return generate(2, hargv);
  }
  if (strcmp(argv[1], "generate") == 0) return generate(argc - 1, argv + 1);
  if (strcmp(argv[1], "info") == 0) return cmd_info(argc - 1, argv + 1);
  return cli_usage_error("dataset", "unknown subcommand '%s'; expected generate or info", argv[1]);
}
