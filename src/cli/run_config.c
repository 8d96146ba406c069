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
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "hc:", opts, NULL)) != -1) {
    if (c == 'h') {
      fputs(usage, stdout);
      printf("\nConfiguration keys (INI; override any with --set section.key=value):\n\n");
      psfwi_config_dump(cfg, stdout, 1);
      psfwi_config_destroy(cfg);
      return NULL;
    } else if (c == 'c') {
      path = optarg;
    } else if (c == 's' && nsets < 256) {
      sets[nsets++] = optarg;
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
  if (*exit_code != 0) {
    psfwi_config_destroy(cfg);
    return NULL;
  }
  return cfg;
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

psfwi_survey *cli_survey_from_config(const psfwi_config *cfg, psfwi_error *err) {
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
  return psfwi_survey_create_line(s0, ds, ns, psfwi_config_double(cfg, "survey", "source_z"),
                                  r0, dr, nr, psfwi_config_double(cfg, "survey", "receiver_z"),
                                  psfwi_config_bool(cfg, "survey", "moving"), err);
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
}
