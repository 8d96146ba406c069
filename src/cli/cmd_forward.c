/* psfwi forward -c CONFIG.ini [--set section.key=value ...]: model shot
 * gathers with the pseudo-spectral propagator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_config.h"

static const char usage_text[] =
    "usage: psfwi forward -c CONFIG.ini [--set section.key=value ...]\n"
    "Model 2D acoustic shot gathers (pseudo-spectral, k-space corrected) and write\n"
    "them as NetCDF pressure(shot, receiver, time) [output] data, and as SEG-Y\n"
    "with standard trace headers when [output] segy is set. [output] snapshots\n"
    "writes wavefield snapshots of shot 0 every snapshot_every samples.\n";

static const psfwi_config_key keys[] = {
    CLI_KEYS_MODEL_SURVEY,
    CLI_KEYS_FORWARD_OUTPUT,
};

struct snap_ctx {
  psfwi_history *h;
  psfwi_grid grid;
  double dt;
  psfwi_error err;
  int failed;
};

static void on_snapshot(void *ctx, size_t it, const float *p) {
  struct snap_ctx *s = ctx;
  if (s->failed) return;
  psfwi_model frame = {.grid = s->grid, .vp = (float *)p};
  const double t = (double)it * s->dt;
  if (psfwi_history_append(s->h, &frame, &t, &s->err) != PSFWI_OK) s->failed = 1;
}

static void on_progress(void *ctx, size_t done, size_t total, size_t shots_done, size_t nshot) {
  (void)shots_done;
  (void)nshot;
  cli_progress *p = ctx;
  p->total = total;
  cli_progress_update(p, done);
}

int cmd_forward(int argc, char **argv) {
  int code;
  psfwi_config *cfg = cli_config_from_args("forward", usage_text, keys,
                                           sizeof keys / sizeof keys[0], argc, argv, &code);
  if (cfg == NULL) return code;
  psfwi_error err = {0};
  psfwi_model *m = NULL;
  psfwi_survey *s = NULL;
  psfwi_gather *g = NULL;
  psfwi_wave *w = NULL;
  float *wavelet = NULL;
  char *cfg_text = NULL;
  struct snap_ctx snap = {0};
  int st = PSFWI_EINVAL;
  double dt, fmax;
  size_t nt;

  const char *vp_path = psfwi_config_require(cfg, "model", "vp", &err);
  const char *out = vp_path ? psfwi_config_require(cfg, "output", "data", &err) : NULL;
  if (out == NULL) goto done;
  static const char *const inputs[] = {"model.vp", "survey.file", "wavelet.file", NULL};
  static const char *const outputs[] = {"output.data", "output.segy", "output.snapshots", NULL};
  if ((st = cli_check_run_files(cfg, inputs, outputs, NULL, 0, &err)) != PSFWI_OK) goto done;
  st = PSFWI_EINVAL;
  const char *segy = psfwi_config_string(cfg, "output", "segy");
  const char *snaps = psfwi_config_string(cfg, "output", "snapshots");
  if ((m = psfwi_nc_read_model(vp_path, NULL, &err)) == NULL) goto done;
  if ((s = cli_survey_from_config(cfg, &m->grid, &err)) == NULL) goto done;
  if ((st = psfwi_survey_check(s, &m->grid, &err)) != PSFWI_OK) goto done;
  if ((st = cli_time_from_config(cfg, &dt, &nt, &err)) != PSFWI_OK) goto done;
  if ((st = cli_check_data_memory(s->nshot, s->nrec, nt, "the shot gathers", &err)) != PSFWI_OK)
    goto done;
  st = PSFWI_EINVAL;
  if ((wavelet = cli_wavelet_from_config(cfg, dt, nt, &fmax, &err)) == NULL) goto done;
  psfwi_wave_opts o;
  cli_wave_opts_from_config(cfg, fmax, &o);
  if ((w = psfwi_wave_create(m, dt, &o, &err)) == NULL) goto done;
  if ((g = psfwi_gather_create(s, nt, dt, &err)) == NULL) goto done;
  memcpy(g->wavelet, wavelet, nt * sizeof *wavelet);

  const psfwi_wave_info *info = psfwi_wave_get_info(w);
  fprintf(stderr,
          "psfwi forward: %zu shots x %zu receivers, %zu samples at %g s; grid %zu x %zu "
          "(padded %zu x %zu), dt = %.4g s (%zu steps per sample), %.1f points per "
          "shortest wavelength\n",
          s->nshot, s->nrec, nt, dt, info->nx, info->nz, info->npx, info->npz, info->dt, info->nsub,
          info->ppw);

  cfg_text = cli_config_text(cfg);
  psfwi_meta meta = cli_meta("psfwi modelled shot gathers");
  meta.config = cfg_text;
  psfwi_wave_callbacks cb = {0};
  cli_progress prog;
  cli_progress_start(&prog, "forward", 1);
  cb.progress = on_progress;
  cb.progress_ctx = &prog;
  if (snaps != NULL) {
    /* the snapshot file is built in memory (compressed) until it is written */
    const size_t every = (size_t)psfwi_config_int(cfg, "output", "snapshot_every");
    const double frames = (double)((nt - 1) / every + 1);
    char detail[160];
    snprintf(detail, sizeof detail,
             "%.0f frames of %zu x %zu cells, before compression; a larger "
             "[output] snapshot_every",
             frames, m->grid.nx, m->grid.nz);
    if ((st = psfwi_mem_check(frames * (double)psfwi_grid_size(&m->grid) * sizeof(float),
                              "the wavefield snapshots", detail, &err)) != PSFWI_OK)
      goto done;
    snap.grid = m->grid;
    snap.dt = dt;
    psfwi_meta smeta = cli_meta("psfwi wavefield snapshots of shot 0");
    smeta.config = cfg_text;
    if ((snap.h = psfwi_snapshots_create(snaps, &m->grid, &smeta, &err)) == NULL) goto done;
    cb.snapshot = on_snapshot;
    cb.snapshot_ctx = &snap;
    cb.snapshot_every = (size_t)psfwi_config_int(cfg, "output", "snapshot_every");
  }
  st = psfwi_wave_model_shots(w, m, s, wavelet, nt, g->data, &cb, &err);
  cli_progress_end(&prog);
  if (st == PSFWI_OK && snap.failed) st = psfwi_fail(&err, snap.err.status, "%s", snap.err.msg);
  if (snap.h != NULL) {
    int cst = psfwi_history_close(snap.h, st == PSFWI_OK, st == PSFWI_OK ? &err : NULL);
    snap.h = NULL;
    if (st == PSFWI_OK) st = cst;
  }
  if (st != PSFWI_OK) goto done;
  const unsigned long long seed = (unsigned long long)psfwi_config_int(cfg, "output", "noise_seed");
  const char *band = psfwi_config_string(cfg, "output", "noise_band");
  if (band != NULL && !psfwi_config_is_set(cfg, "output", "noise_snr_db")) {
    st = psfwi_fail(&err, PSFWI_EINVAL, "[output] noise_band needs [output] noise_snr_db");
    goto done;
  }
  if (psfwi_config_is_set(cfg, "output", "noise_snr_db")) {
    double sigma, lo = 0.0, hi = 0.0;
    const double snr = psfwi_config_double(cfg, "output", "noise_snr_db");
    if (band != NULL) {
      if ((st = cli_band("[output] noise_band =", band, &lo, &hi, &err)) != PSFWI_OK) goto done;
      st = psfwi_add_band_noise(g->data, s->nshot * s->nrec, nt, dt, snr, lo, hi, seed, &sigma,
                                &err);
      if (st != PSFWI_OK) psfwi_error_prefix(&err, "[output] noise_band = %s: ", band);
    } else
      st = psfwi_add_noise(g->data, s->nshot * s->nrec * nt, snr, seed, &sigma, &err);
    if (st != PSFWI_OK) goto done;
    fprintf(stderr, "psfwi forward: %s Gaussian noise at %g dB SNR (sigma %.3g)\n",
            band ? "band-limited" : "white", snr, sigma);
  }
  if (psfwi_config_double(cfg, "output", "dead_fraction") > 0) {
    size_t killed = 0;
    st =
        psfwi_kill_traces(g->data, s->nshot * s->nrec, nt,
                          psfwi_config_double(cfg, "output", "dead_fraction"), seed, &killed, &err);
    if (st != PSFWI_OK) goto done;
    fprintf(stderr, "psfwi forward: %zu dead traces (all zero) of %zu\n", killed,
            s->nshot * s->nrec);
  }
  if ((st = psfwi_nc_write_gather(out, g, &meta, &err)) != PSFWI_OK) goto done;
  printf("wrote %s\n", out);
  if (segy != NULL) {
    if ((st = psfwi_segy_write_gather(segy, g, &err)) != PSFWI_OK) goto done;
    printf("wrote %s\n", segy);
  }
  if (snaps != NULL) printf("wrote %s\n", snaps);
done:
  if (snap.h != NULL) psfwi_history_close(snap.h, 0, NULL);
  free(cfg_text);
  free(wavelet);
  psfwi_wave_destroy(w);
  psfwi_gather_destroy(g);
  psfwi_survey_destroy(s);
  psfwi_model_destroy(m);
  psfwi_config_destroy(cfg);
  if (st != PSFWI_OK) {
    if (err.status == PSFWI_OK) psfwi_fail(&err, st, "%s", psfwi_strerror(st));
    return cli_error(&err);
  }
  return 0;
}
