/* What an inversion needs besides its loop: the freeze mask of the cells it
 * may not change, and observed data synthesised in a true model with the
 * shots spread over MPI ranks and exchanged so that every rank holds them
 * all. Used by `psfwi gradient`, `psfwi fwi` and the learned inversions. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_comm.h"
#include "psfwi_invert.h"
#include "psfwi_model.h"

int psfwi_freeze_mask(const psfwi_model *m, double water_velocity, double water_tolerance,
                      double freeze_depth, unsigned char *mask, size_t *nfrozen, psfwi_error *err) {
  const psfwi_grid *g = &m->grid;
  const size_t n = g->nx * g->nz;
  memset(mask, 0, n);
  if (!isnan(water_velocity)) {
    int st = psfwi_model_water_mask(m, water_velocity, water_tolerance, mask, NULL, err);
    if (st != PSFWI_OK) return psfwi_error_prefix(err, "[inversion] water_velocity");
  }
  if (!isnan(freeze_depth))
    for (size_t iz = 0; iz < g->nz && (double)iz * g->dz < freeze_depth; iz++)
      memset(mask + iz * g->nx, 1, g->nx);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) k += mask[i] != 0;
  if (nfrozen) *nfrozen = k;
  return PSFWI_OK;
}

int psfwi_synthesize_data(const psfwi_wave *w, const psfwi_model *truth, psfwi_gather *obs,
                          size_t first, size_t count, const psfwi_survey *local,
                          const psfwi_comm *comm, psfwi_error *err) {
  const psfwi_survey *all = obs->survey;
  const size_t nt = obs->nt, per_shot = all->nrec * nt;
  float *mine = obs->data + first * per_shot;
  int st =
      count ? psfwi_wave_model_shots(w, truth, local, obs->wavelet, nt, mine, NULL, err) : PSFWI_OK;
  st = psfwi_comm_agree(comm, st);
  if (st != PSFWI_OK) {
    if (err && err->status == PSFWI_OK)
      psfwi_fail(err, st, "modelling observed data failed on another rank");
    return st;
  }
  if (comm->size <= 1) return PSFWI_OK;
  /* Every rank's block into one sum: blocks do not overlap, so the sum is
   * each rank's data exactly (x + 0 = x in floating point). */
  const size_t n = all->nshot * per_shot;
  double *buf = calloc(n, sizeof *buf);
  if (buf == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "out of memory for the data exchange");
  for (size_t i = first * per_shot; i < (first + count) * per_shot; i++) buf[i] = obs->data[i];
  st = psfwi_comm_allreduce_sum((void *)comm, buf, n, err);
  for (size_t i = 0; st == PSFWI_OK && i < n; i++) obs->data[i] = (float)buf[i];
  free(buf);
  return st;
}

/* Gaussian deviates of standard deviation s added to n samples, from seed
 * (splitmix64, Box-Muller). */
static void add_gauss(float *data, size_t n, double s, unsigned long long seed) {
  unsigned long long st = seed;
  const double two_pi = 6.283185307179586476925;
  for (size_t i = 0; i < n; i += 2) { /* Box-Muller: two deviates per pair of draws */
    const double u1 = ((double)(psfwi_splitmix64(&st) >> 11) + 1.0) / 9007199254740993.0;
    const double u2 = (double)(psfwi_splitmix64(&st) >> 11) / 9007199254740992.0;
    const double r = s * sqrt(-2.0 * log(u1));
    data[i] += (float)(r * cos(two_pi * u2));
    if (i + 1 < n) data[i + 1] += (float)(r * sin(two_pi * u2));
  }
}

/* The data's power sum d^2 (> 0), for noise at snr_db (finite). */
static int signal_power(const float *data, size_t n, double snr_db, double *power,
                        psfwi_error *err) {
  if (!isfinite(snr_db))
    return psfwi_fail(err, PSFWI_ERANGE, "noise SNR %g dB; expected a finite number", snr_db);
  double p = 0.0;
  for (size_t i = 0; i < n; i++) p += (double)data[i] * (double)data[i];
  if (n == 0 || !(p > 0.0))
    return psfwi_fail(err, PSFWI_EINVAL, "noise at %g dB SNR: the data are all zero", snr_db);
  *power = p;
  return PSFWI_OK;
}

int psfwi_add_noise(float *data, size_t n, double snr_db, unsigned long long seed, double *sigma,
                    psfwi_error *err) {
  double power = 0.0;
  if (signal_power(data, n, snr_db, &power, err) != PSFWI_OK) return err->status;
  const double s = sqrt(power / (double)n / pow(10.0, snr_db / 10.0));
  add_gauss(data, n, s, seed);
  if (sigma) *sigma = s;
  return PSFWI_OK;
}

int psfwi_add_band_noise(float *data, size_t ntrace, size_t nt, double dt, double snr_db,
                         double f_low, double f_high, unsigned long long seed, double *sigma,
                         psfwi_error *err) {
  const size_t n = ntrace * nt;
  double power = 0.0;
  if (signal_power(data, n, snr_db, &power, err) != PSFWI_OK) return err->status;
  float *noise = calloc(n, sizeof *noise);
  if (noise == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "out of memory for the noise");
  /* white noise of unit deviation, then the band's filter */
  add_gauss(noise, n, 1.0, seed);
  int st = PSFWI_OK;
  psfwi_filter_opts fo;
  psfwi_filter_opts_defaults(&fo);
  fo.f_lowcut = f_low;
  fo.f_highcut = f_high;
  psfwi_filter *f = NULL;
  if (st == PSFWI_OK && (f = psfwi_filter_create(&fo, dt, err)) == NULL) st = err->status;
  if (st == PSFWI_OK) st = psfwi_filter_apply(f, ntrace, nt, noise, err);
  psfwi_filter_destroy(f);
  double npow = 0.0;
  for (size_t i = 0; st == PSFWI_OK && i < n; i++) npow += (double)noise[i] * (double)noise[i];
  if (st == PSFWI_OK && !(npow > 0.0))
    st = psfwi_fail(err, PSFWI_EINVAL, "band-limited noise: nothing passes the band");
  if (st == PSFWI_OK) {
    const double scale = sqrt(power / pow(10.0, snr_db / 10.0) / npow);
    for (size_t i = 0; i < n; i++) data[i] += (float)(scale * noise[i]);
    if (sigma) *sigma = scale * sqrt(npow / (double)n);
  }
  free(noise);
  return st;
}

int psfwi_kill_traces(float *data, size_t ntrace, size_t nt, double fraction,
                      unsigned long long seed, size_t *killed, psfwi_error *err) {
  if (!(fraction >= 0.0 && fraction <= 1.0))
    return psfwi_fail(err, PSFWI_ERANGE, "dead-trace fraction %g; expected 0 to 1", fraction);
  const size_t m = (size_t)llround(fraction * (double)ntrace);
  size_t *idx = malloc((ntrace + 1) * sizeof *idx);
  if (idx == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "out of memory");
  for (size_t k = 0; k < ntrace; k++) idx[k] = k;
  unsigned long long r = seed ^ 0x9E3779B97F4A7C15ull;
  for (size_t k = 0; k < m; k++) { /* a partial Fisher-Yates shuffle */
    const size_t j = k + (size_t)(psfwi_splitmix64(&r) % (unsigned long long)(ntrace - k));
    const size_t t = idx[k];
    idx[k] = idx[j];
    idx[j] = t;
    memset(data + idx[k] * nt, 0, nt * sizeof *data);
  }
  free(idx);
  if (killed) *killed = m;
  return PSFWI_OK;
}
