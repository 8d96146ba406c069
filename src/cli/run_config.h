/* Configuration handling shared by the commands that run from an INI file. */
#ifndef PSFWI_CLI_RUN_CONFIG_H
#define PSFWI_CLI_RUN_CONFIG_H

#include "cli.h"
#include "psfwi_wave.h"

/* [model] vp, [wavelet], [time], [survey], [propagator] keys: the
 * initialiser list of a psfwi_config_key array, to be extended.
 * CLI_KEYS_SURVEY_WAVE is the same without [model] vp (psfwi dataset
 * draws its models). */
/* clang-format off */
#define CLI_KEYS_MODEL_SURVEY \
  {"model", "vp", PSFWI_CFG_PATH, NULL, 0, 0, NULL, "velocity model, NetCDF vp(z, x) in m/s"}, \
  CLI_KEYS_SURVEY_WAVE
#define CLI_KEYS_SURVEY_WAVE \
  {"wavelet", "kind", PSFWI_CFG_CHOICE, "ricker", 0, 0, "ricker|file", "source wavelet"}, \
  {"wavelet", "frequency", PSFWI_CFG_DOUBLE, "10", 0.01, 1e5, NULL, \
      "Ricker peak frequency (Hz)"}, \
  {"wavelet", "delay", PSFWI_CFG_DOUBLE, NULL, 0, 1e4, NULL, \
      "Ricker delay (s); default 1.5 / frequency"}, \
  {"wavelet", "file", PSFWI_CFG_PATH, NULL, 0, 0, NULL, \
      "wavelet samples at the sample interval, one per line (kind = file)"}, \
  {"wavelet", "highcut", PSFWI_CFG_DOUBLE, "0", 0, 1e5, NULL, \
      "kind = file: low-pass the wavelet at this frequency (Hz; zero-phase Butterworth of " \
      "order 4 each way; 0: as given), e.g. to the band a coarse grid holds"}, \
  {"time", "duration", PSFWI_CFG_DOUBLE, "1.0", 1e-6, 1e5, NULL, "recording time (s)"}, \
  {"time", "sample_interval", PSFWI_CFG_DOUBLE, "0.002", 1e-7, 10, NULL, \
      "recorded sample interval (s); an integer multiple of the internal step"}, \
  {"time", "cfl", PSFWI_CFG_DOUBLE, NULL, 1e-3, 2.0, NULL, \
      "vmax dt / min(dx, dz); default 0.3 (kspace) or 0.2 (pseudospectral)"}, \
  {"survey", "source_x", PSFWI_CFG_RANGE, NULL, 0, 0, NULL, "sources first:step:count (m)"}, \
  {"survey", "source_z", PSFWI_CFG_DOUBLE, "10", -1e12, 1e12, NULL, "source depth (m)"}, \
  {"survey", "receiver_x", PSFWI_CFG_RANGE, NULL, 0, 0, NULL, \
      "receivers first:step:count (m)"}, \
  {"survey", "receiver_z", PSFWI_CFG_DOUBLE, "10", -1e12, 1e12, NULL, "receiver depth (m)"}, \
  {"survey", "moving", PSFWI_CFG_BOOL, "false", 0, 0, NULL, \
      "receiver spread moves with the shot (shifted by the source step)"}, \
  {"survey", "file", PSFWI_CFG_PATH, NULL, 0, 0, NULL, \
      "CSV shot,source_x,source_z,receiver_x,receiver_z (instead of the ranges)"}, \
  {"propagator", "scheme", PSFWI_CFG_CHOICE, "kspace", 0, 0, "kspace|pseudospectral", \
      "time stepping: k-space corrected or plain pseudo-spectral leapfrog"}, \
  {"propagator", "boundary_cells", PSFWI_CFG_INT, "20", 4, 500, NULL, \
      "absorbing layer width (cells on each side); about 2 dominant wavelengths for the PML, " \
      "30 or more for the sponge"}, \
  {"propagator", "absorber", PSFWI_CFG_CHOICE, "pml", 0, 0, "pml|sponge", \
      "absorbing layer: perfectly matched layer (0.03-0.3 % reflections) or damping layer"}, \
  {"propagator", "free_surface", PSFWI_CFG_BOOL, "false", 0, 0, NULL, \
      "pressure-release surface at the model's top (z = z0)"}, \
  {"propagator", "vmin", PSFWI_CFG_DOUBLE, NULL, 1, 1e5, NULL, \
      "lower velocity bound (m/s) for sampling checks; default: model minimum"}, \
  {"propagator", "vmax", PSFWI_CFG_DOUBLE, NULL, 1, 1e5, NULL, \
      "upper velocity bound (m/s) that fixes the time step; default: model maximum"}, \
  {"propagator", "threads", PSFWI_CFG_INT, "0", 0, 1024, NULL, \
      "threads over shots (0: OMP_NUM_THREADS or all cores)"}, \
  {"propagator", "fft_threads", PSFWI_CFG_INT, "1", 1, 1024, NULL, \
      "threads inside one FFT (FFTW threads)"}, \
  {"propagator", "fftw_measure", PSFWI_CFG_BOOL, "false", 0, 0, NULL, \
      "FFTW_MEASURE plans: slower start, faster steps"}, \
  {"propagator", "fftw_wisdom", PSFWI_CFG_PATH, NULL, 0, 0, NULL, \
      "FFTW wisdom file, read before planning and rewritten after: fftw_measure plans of " \
      "sizes planned before cost nothing"}
/* clang-format on */

/* [output] keys of psfwi forward. */
/* clang-format off */
#define CLI_KEYS_FORWARD_OUTPUT \
    {"output", "data", PSFWI_CFG_PATH, NULL, 0, 0, NULL, "shot gathers (NetCDF)"}, \
    {"output", "segy", PSFWI_CFG_PATH, NULL, 0, 0, NULL, "shot gathers as SEG-Y (optional)"}, \
    {"output", "snapshots", PSFWI_CFG_PATH, NULL, 0, 0, NULL, \
     "wavefield snapshots of shot 0, NetCDF pressure(time, z, x) (optional)"}, \
    {"output", "snapshot_every", PSFWI_CFG_INT, "10", 1, 1e9, NULL, \
     "recorded samples between snapshots"}, \
    {"output", "noise_snr_db", PSFWI_CFG_DOUBLE, NULL, -100, 200, NULL, \
     "add white Gaussian noise at this signal-to-noise ratio (dB, whole data set)"}, \
    {"output", "noise_seed", PSFWI_CFG_INT, "1", 0, 9e15, NULL, "seed of the noise"}, \
    {"output", "noise_band", PSFWI_CFG_STRING, NULL, 0, 0, NULL, \
     "noise_snr_db: band-limit the noise to LOW:HIGH Hz (zero-phase Butterworth; 0: no " \
     "corner), e.g. 2:15; the SNR counts the filtered noise"}, \
    {"output", "dead_fraction", PSFWI_CFG_DOUBLE, "0", 0, 1, NULL, \
     "set this fraction of the traces, drawn from noise_seed, to zero (dead traces)"}
/* clang-format on */

/* Parse "-c FILE [--set section.key=value ...] [--check] [-h]" into a
 * validated configuration. NULL with *exit_code = 0 after -h (help printed)
 * or --check (the configuration is valid: said on stdout), or with
 * *exit_code != 0 after an error (message printed). */
psfwi_config *cli_config_from_args(const char *cmd, const char *usage,
                                   const psfwi_config_key *schema, size_t nkeys, int argc,
                                   char **argv, int *exit_code);
/* Refuse, before any work, an output that names an input or another output
 * (psfwi_check_run_files). inputs and outputs: NULL-terminated lists of
 * "section.key" config keys (unset keys are skipped); the config file
 * itself counts as an input; extra files (e.g. a derived state file) may be
 * added. */
int cli_check_run_files(const psfwi_config *cfg, const char *const *inputs,
                        const char *const *outputs, const psfwi_run_file *extra, size_t nextra,
                        psfwi_error *err);
/* The configuration as INI text (malloc'ed), for the psfwi_config attribute. */
char *cli_config_text(const psfwi_config *cfg);
/* The survey of [survey] file or the source_x/receiver_x ranges. With g, the
 * ranges' end points are checked inside the model, and the geometry's size
 * against the memory limit, before anything is allocated. */
psfwi_survey *cli_survey_from_config(const psfwi_config *cfg, const psfwi_grid *g,
                                     psfwi_error *err);
/* PSFWI_ENOMEM naming the sizes when nshot x nrec x nt float samples
 * (`what`: "the shot gathers", say) exceed the memory limit. */
int cli_check_data_memory(size_t nshot, size_t nrec, size_t nt, const char *what, psfwi_error *err);
/* Recorded sample interval dt (s) and sample count nt = duration / dt + 1. */
int cli_time_from_config(const psfwi_config *cfg, double *dt, size_t *nt, psfwi_error *err);
/* The source wavelet at dt (nt samples, malloc'ed) and its highest frequency. */
float *cli_wavelet_from_config(const psfwi_config *cfg, double dt, size_t nt, double *fmax,
                               psfwi_error *err);
void cli_wave_opts_from_config(const psfwi_config *cfg, double fmax, psfwi_wave_opts *o);

#endif
