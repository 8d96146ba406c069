/* Shared by the commands that run from a configuration (forward, and later
 * gradient and fwi): the common schema of survey, wavelet, time and
 * propagator keys, -c/--set parsing, and turning keys into library objects. */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_config.h"

psfwi_config *cli_config_from_args(const char *cmd, const char *usage,
                                   const psfwi_config_key *schema, size_t nkeys, int argc,
                                   char **argv, int *exit_code) {
  static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                       {"set", required_argument, NULL, 's'},
                                       {"help", no_argument, NULL, 'h'},
                                       {"check", no_argument, NULL, 'k'},
                                       {NULL, 0, NULL, 0}};
  psfwi_error err = {0};
  *exit_code = 0;
  psfwi_config *cfg = psfwi_config_create(schema, nkeys, &err);
  if (cfg == NULL) {
    *exit_code = cli_error(&err);
    return NULL;
  }
  const char *path = NULL;
  const char *sets[256];
  size_t nsets = 0;
  int check = 0;
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "hc:", opts, NULL)) != -1) {
    if (c == 'h') {
      fputs(usage, stdout);
      printf(
          "\n--check validates the configuration (every key known, no key twice, every "
          "value of its type and in its range) and exits without reading or running "
          "anything.\n");
      printf("\nConfiguration keys (INI; override any with --set section.key=value):\n\n");
      psfwi_config_dump(cfg, stdout, 1);
      psfwi_config_destroy(cfg);
      return NULL;
    } else if (c == 'c') {
      path = optarg;
    } else if (c == 's' && nsets < 256) {
      sets[nsets++] = optarg;
    } else if (c == 'k') {
      check = 1;
    } else {
      *exit_code = cli_usage_error(cmd, "unknown option or missing value '%s'", argv[optind - 1]);
      psfwi_config_destroy(cfg);
      return NULL;
    }
  }
  if (optind < argc) {
    *exit_code = cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
  } else if (path == NULL) {
    *exit_code = cli_usage_error(cmd, "missing -c CONFIG.ini");
  } else if (psfwi_config_load(cfg, path, &err) != PSFWI_OK) {
    *exit_code = cli_error(&err);
  } else {
    for (size_t i = 0; i < nsets && *exit_code == 0; i++)
      if (psfwi_config_set(cfg, sets[i], &err) != PSFWI_OK) *exit_code = cli_error(&err);
  }
  if (*exit_code != 0 || check) {
    if (check && *exit_code == 0)
      printf("%s: %s: configuration valid (keys, types and ranges; nothing read or run)\n", cmd,
             path);
    psfwi_config_destroy(cfg);
    return NULL;
  }
  return cfg;
}

int cli_check_run_files(const psfwi_config *cfg, const char *const *inputs,
                        const char *const *outputs, const psfwi_run_file *extra, size_t nextra,
                        psfwi_error *err) {
  enum { MAXF = 32 };
  psfwi_run_file files[MAXF];
  char names[MAXF][96];
  size_t n = 0;
  files[n++] = (psfwi_run_file){"-c", psfwi_config_path(cfg), 0};
  for (int out = 0; out < 2; out++)
    for (const char *const *k = out ? outputs : inputs; k && *k && n < MAXF; k++) {
      char section[64];
      const char *dot = strchr(*k, '.');
      const size_t ls = dot ? (size_t)(dot - *k) : 0;
      if (dot == NULL || ls >= sizeof section) continue;
      memcpy(section, *k, ls);
      section[ls] = '\0';
      snprintf(names[n], sizeof names[n], "[%s] %s", section, dot + 1);
      files[n] = (psfwi_run_file){names[n], psfwi_config_string(cfg, section, dot + 1), out};
      n++;
    }
  for (size_t i = 0; i < nextra && n < MAXF; i++) files[n++] = extra[i];
  return psfwi_check_run_files(files, n, err);
}

char *cli_config_text(const psfwi_config *cfg) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (f == NULL) return NULL;
  psfwi_config_dump(cfg, f, 0);
  fclose(f);
  return buf;
}

/* Every position of a line survey inside the model, checked before the survey
 * is allocated (a count of 1e8 shots is refused by its positions, not by
 * filling gigabytes first: positions are computed, not stored), then its
 * memory against the limit. Positions are checked in the order
 * psfwi_survey_check uses, so the first one outside is named. */
static int check_line(double s0, double ds, size_t ns, double sz, double r0, double dr, size_t nr,
                      double rz, int moving, const psfwi_grid *g, psfwi_error *err) {
  const double x1 = g->x0 + (double)(g->nx - 1) * g->dx, z1 = g->z0 + (double)(g->nz - 1) * g->dz;
  const double tol = 1e-9 * (g->dx + g->dz);
#define INSIDE(x, z) \
  ((x) >= g->x0 - tol && (x) <= x1 + tol && (z) >= g->z0 - tol && (z) <= z1 + tol)
  for (size_t is = 0; is < ns; is++) {
    const double x = s0 + (double)is * ds;
    if (!INSIDE(x, sz))
      return psfwi_fail(err, PSFWI_ERANGE,
                        "[survey] source_x: source %zu at (x = %g m, z = %g m) is outside the "
                        "model (x in [%g, %g] m, z in [%g, %g] m)",
                        is, x, sz, g->x0, x1, g->z0, z1);
  }
  /* The spread is the same for every shot, or moves monotonically with it:
   * its first and last shots bound all others. */
  const size_t shots[2] = {0, moving ? ns - 1 : 0};
  for (int k = 0; k < (moving && ns > 1 ? 2 : 1); k++)
    for (size_t ir = 0; ir < nr; ir++) {
      const double x = r0 + (double)ir * dr + (double)shots[k] * ds;
      if (!INSIDE(x, rz))
        return psfwi_fail(err, PSFWI_ERANGE,
                          "[survey] receiver_x: receiver %zu of shot %zu at (x = %g m, z = %g m) "
                          "is outside the model (x in [%g, %g] m, z in [%g, %g] m)",
                          ir, shots[k], x, rz, g->x0, x1, g->z0, z1);
    }
#undef INSIDE
  char detail[128];
  snprintf(detail, sizeof detail, "%zu shots x %zu receivers", ns, nr);
  return psfwi_mem_check(16.0 * (double)ns * ((double)nr + 1.0), "the survey geometry", detail,
                         err);
}

psfwi_survey *cli_survey_from_config(const psfwi_config *cfg, const psfwi_grid *g,
                                     psfwi_error *err) {
  const char *file = psfwi_config_string(cfg, "survey", "file");
  const int has_ranges = psfwi_config_is_set(cfg, "survey", "source_x") ||
                         psfwi_config_is_set(cfg, "survey", "receiver_x");
  if (file != NULL) {
    if (has_ranges) {
      psfwi_fail(err, PSFWI_EINVAL,
                 "[survey] give either file or source_x/receiver_x ranges, not both");
      return NULL;
    }
    return psfwi_csv_read_survey(file, err);
  }
  const char *sx = psfwi_config_require(cfg, "survey", "source_x", err);
  const char *rx = sx ? psfwi_config_require(cfg, "survey", "receiver_x", err) : NULL;
  if (rx == NULL) return NULL;
  double s0, ds, r0, dr;
  size_t ns, nr;
  if (psfwi_parse_range(sx, &s0, &ds, &ns, err) || psfwi_parse_range(rx, &r0, &dr, &nr, err))
    return NULL;
  const double sz = psfwi_config_double(cfg, "survey", "source_z");
  const double rz = psfwi_config_double(cfg, "survey", "receiver_z");
  const int moving = psfwi_config_bool(cfg, "survey", "moving");
  if (g != NULL && check_line(s0, ds, ns, sz, r0, dr, nr, rz, moving, g, err) != PSFWI_OK)
    return NULL;
  return psfwi_survey_create_line(s0, ds, ns, sz, r0, dr, nr, rz, moving, err);
}

int cli_check_data_memory(size_t nshot, size_t nrec, size_t nt, const char *what,
                          psfwi_error *err) {
  char detail[160];
  snprintf(detail, sizeof detail, "%zu shots x %zu receivers x %zu samples of 4 bytes", nshot, nrec,
           nt);
  return psfwi_mem_check(4.0 * (double)nshot * (double)nrec * (double)nt, what, detail, err);
}

int cli_time_from_config(const psfwi_config *cfg, double *dt, size_t *nt, psfwi_error *err) {
  *dt = psfwi_config_double(cfg, "time", "sample_interval");
  const double duration = psfwi_config_double(cfg, "time", "duration");
  const double steps = floor(duration / *dt + 1e-9);
  if (steps < 1.0 || steps > 1e8)
    return psfwi_fail(err, PSFWI_ERANGE,
                      "[time] duration = %g s with sample_interval = %g s gives %.0f samples; "
                      "expected 2 to 1e8",
                      duration, *dt, steps + 1.0);
  *nt = (size_t)steps + 1;
  return PSFWI_OK;
}

float *cli_wavelet_from_config(const psfwi_config *cfg, double dt, size_t nt, double *fmax,
                               psfwi_error *err) {
  float *w = calloc(nt, sizeof *w);
  if (w == NULL) {
    psfwi_fail(err, PSFWI_ENOMEM, "cannot allocate a wavelet of %zu samples", nt);
    return NULL;
  }
  if (strcmp(psfwi_config_string(cfg, "wavelet", "kind"), "ricker") == 0) {
    if (psfwi_config_is_set(cfg, "wavelet", "file")) {
      psfwi_fail(err, PSFWI_EINVAL, "[wavelet] file is only used with kind = file");
      goto fail;
    }
    if (psfwi_config_double(cfg, "wavelet", "highcut") > 0) {
      psfwi_fail(err, PSFWI_EINVAL,
                 "[wavelet] highcut is only used with kind = file (a Ricker's band is set by "
                 "its frequency)");
      goto fail;
    }
    const double f = psfwi_config_double(cfg, "wavelet", "frequency");
    const double delay = psfwi_config_is_set(cfg, "wavelet", "delay")
                             ? psfwi_config_double(cfg, "wavelet", "delay")
                             : 1.5 / f;
    if (psfwi_ricker(f, delay, dt, nt, w, err) != PSFWI_OK) goto fail;
    *fmax = 2.5 * f;
    return w;
  }
  const char *file = psfwi_config_require(cfg, "wavelet", "file", err);
  if (file == NULL) goto fail;
  float *samples;
  size_t n;
  if (psfwi_text_read_series(file, &samples, &n, err) != PSFWI_OK) goto fail;
  memcpy(w, samples, (n < nt ? n : nt) * sizeof *w); /* zero-padded or truncated to nt */
  free(samples);
  const double hc = psfwi_config_double(cfg, "wavelet", "highcut");
  if (hc > 0) {
    psfwi_filter_opts fo;
    psfwi_filter_opts_defaults(&fo);
    fo.f_highcut = hc;
    psfwi_filter *f = psfwi_filter_create(&fo, dt, err);
    const int st = f ? psfwi_filter_apply(f, 1, nt, w, err) : err->status;
    psfwi_filter_destroy(f);
    if (st != PSFWI_OK) {
      psfwi_error_prefix(err, "[wavelet] highcut = %g Hz: ", hc);
      goto fail;
    }
  }
  if (psfwi_wave_fmax(w, nt, dt, fmax, err) != PSFWI_OK) {
    psfwi_error_prefix(err, "[wavelet] file '%s'", file);
    goto fail;
  }
  return w;
fail:
  free(w);
  return NULL;
}

void cli_wave_opts_from_config(const psfwi_config *cfg, double fmax, psfwi_wave_opts *o) {
  psfwi_wave_opts_defaults(o);
  o->scheme = strcmp(psfwi_config_string(cfg, "propagator", "scheme"), "kspace") == 0
                  ? PSFWI_WAVE_KSPACE
                  : PSFWI_WAVE_LEAPFROG;
  if (psfwi_config_is_set(cfg, "time", "cfl")) o->cfl = psfwi_config_double(cfg, "time", "cfl");
  if (psfwi_config_is_set(cfg, "propagator", "vmax"))
    o->vmax_bound = psfwi_config_double(cfg, "propagator", "vmax");
  if (psfwi_config_is_set(cfg, "propagator", "vmin"))
    o->vmin_bound = psfwi_config_double(cfg, "propagator", "vmin");
  o->fmax = fmax;
  o->boundary_cells = (size_t)psfwi_config_int(cfg, "propagator", "boundary_cells");
  o->absorber = strcmp(psfwi_config_string(cfg, "propagator", "absorber"), "sponge") == 0
                    ? PSFWI_WAVE_SPONGE
                    : PSFWI_WAVE_PML;
  o->free_surface = psfwi_config_bool(cfg, "propagator", "free_surface");
  o->nthreads_shots = (int)psfwi_config_int(cfg, "propagator", "threads");
  o->nthreads_fft = (int)psfwi_config_int(cfg, "propagator", "fft_threads");
  o->fftw_measure = psfwi_config_bool(cfg, "propagator", "fftw_measure");
  o->fftw_wisdom = psfwi_config_string(cfg, "propagator", "fftw_wisdom");
}
