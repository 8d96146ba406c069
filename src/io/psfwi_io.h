/* psfwi io: every file format psfwi reads or writes. Nothing outside io/
 * opens a file (the CLI passes paths through).
 *
 *  - NetCDF (CF-1.8), the exchange format: velocity models vp(z, x), shot
 *    gathers pressure(shot, receiver, time), inversion histories
 *    vp(iteration, z, x) with per-iteration scalars; generic summaries.
 *  - SEG-Y through segyio: models (traces along x, samples along z) and
 *    shot gathers (one trace per shot and receiver).
 *  - Raw binary and NumPy .npy / .npz: model import.
 *  - INI configuration with a schema (config.c; see psfwi_config.h).
 *
 * Writers never leave a half-written file that looks valid: they write a
 * hidden temporary ".<name>.<host>.<pid>.tmp" beside <path> and rename it
 * over <path> only on success (psfwi_tmp_path).
 * Readers check what they read (dimensions, units, finite and positive
 * velocities) and name the file and variable in every error. */
#ifndef PSFWI_IO_H
#define PSFWI_IO_H

#include <stddef.h>
#include <stdint.h>

#include "psfwi_core.h"

/* Descriptive global attributes of a written file. Any field may be NULL:
 * title defaults to a generic text, history to "" (the CLI passes the
 * command line; the time stamp is added by the writer). */
typedef struct psfwi_meta {
  const char *title;
  const char *history; /* the command line that made the file */
  const char *config;  /* the run's configuration as INI text (attribute psfwi_config) */
} psfwi_meta;

/* ---- NetCDF velocity model: vp(z, x), float32, m/s ---------------------- */
int psfwi_nc_write_model(const char *path, const psfwi_model *m, const psfwi_meta *meta,
                         psfwi_error *err);
/* The model and extra float fields name(z, x) on the same grid (e.g. the
 * DNN's vp_std), each with units and long_name; non-finite values are
 * refused naming the field and cell. At most 8. */
typedef struct psfwi_nc_model_field {
  const char *name, *units, *long_name;
  const float *data; /* nx * nz, data[iz * nx + ix] */
} psfwi_nc_model_field;
int psfwi_nc_write_model_extra(const char *path, const psfwi_model *m, size_t nextra,
                               const psfwi_nc_model_field *extra, const psfwi_meta *meta,
                               psfwi_error *err);
/* Reads variable `var` (NULL: "vp"); checks dimensions (z, x), evenly spaced
 * coordinates in metres, units m/s, finite and positive values. */
psfwi_model *psfwi_nc_read_model(const char *path, const char *var, psfwi_error *err);

/* ---- NetCDF shot gathers --------------------------------------------------
 * pressure(shot, receiver, time) float32, laid out
 * data[(is * nrec + ir) * nt + it]; time(time) = it * dt (s);
 * wavelet(time) the source signature. Geometry from the survey. */
typedef struct psfwi_gather {
  psfwi_survey *survey; /* owned */
  size_t nt;
  double dt;      /* s */
  float *data;    /* owned, nshot * nrec * nt */
  float *wavelet; /* owned, nt */
  /* owned, nshot * nrec, or NULL when every trace is recorded: 0 marks a
   * trace that pads a shot with fewer receivers than nrec (irregular
   * spreads; zeros at the shot's last receiver, left out of every misfit) */
  unsigned char *live;
} psfwi_gather;

psfwi_gather *psfwi_gather_create(const psfwi_survey *s, size_t nt, double dt, psfwi_error *err);
void psfwi_gather_destroy(psfwi_gather *g);
int psfwi_nc_write_gather(const char *path, const psfwi_gather *g, const psfwi_meta *meta,
                          psfwi_error *err);
psfwi_gather *psfwi_nc_read_gather(const char *path, psfwi_error *err);

/* ---- NetCDF inversion history ---------------------------------------------
 * vp(iteration, z, x) with an unlimited iteration dimension, plus one
 * double variable per named scalar: name(iteration). Appended one iteration
 * at a time; the file is created under a temporary name and renamed by
 * psfwi_history_close(h, 1). */
typedef struct psfwi_history psfwi_history;
psfwi_history *psfwi_history_create(const char *path, const psfwi_grid *g, size_t nscalar,
                                    const char *const *scalar_names,
                                    const char *const *scalar_units, const psfwi_meta *meta,
                                    psfwi_error *err);
int psfwi_history_append(psfwi_history *h, const psfwi_model *m, const double *scalars,
                         psfwi_error *err);
/* A per-frame vector var(iteration, dim) of n float values (e.g. the source
 * wavelet after each epoch), with the axis dim(dim) = i * step in s; at most
 * 4, added before the first frame. append_vector writes vector k (in the
 * order added) for the frame appended last. */
int psfwi_history_add_vector(psfwi_history *h, const char *name, const char *dim, size_t n,
                             double step, const char *units, const char *long_name,
                             psfwi_error *err);
int psfwi_history_append_vector(psfwi_history *h, size_t k, const float *values, psfwi_error *err);
/* commit != 0: sync and rename into place; 0: discard the temporary file. */
int psfwi_history_close(psfwi_history *h, int commit, psfwi_error *err);
/* Wavefield snapshots: pressure(time, z, x) with the scalar time(time) in s,
 * appended with psfwi_history_append(h, frame, &t) (the frame's vp holds
 * pressure) and finished with psfwi_history_close. */
psfwi_history *psfwi_snapshots_create(const char *path, const psfwi_grid *g, const psfwi_meta *meta,
                                      psfwi_error *err);

/* ---- NetCDF 2-D fields and scalars (psfwi gradient) ----------------------------
 * Variables name(z, x) as double with units and long_name, scalars name()
 * as double, on the grid's coordinates. Non-finite values are refused. */
typedef struct psfwi_nc_field {
  const char *name, *units, *long_name;
  const double *data; /* nx * nz, data[iz * nx + ix] */
} psfwi_nc_field;
typedef struct psfwi_nc_scalar {
  const char *name, *units, *long_name;
  double value;
} psfwi_nc_scalar;
int psfwi_nc_write_fields(const char *path, const psfwi_grid *g, size_t nfield,
                          const psfwi_nc_field *fields, size_t nscalar,
                          const psfwi_nc_scalar *scalars, const psfwi_meta *meta, psfwi_error *err);
/* A global text attribute (malloc'ed), e.g. "psfwi_config"; NULL with
 * PSFWI_EKEY when absent. */
char *psfwi_nc_read_text_attribute(const char *path, const char *name, psfwi_error *err);

/* ---- Generic summary of any psfwi NetCDF file (psfwi info) ----------------- */
/* Writes a human-readable summary (dimensions, variables with ranges and
 * units, spacing of coordinate variables, global attributes) to `out`. */
int psfwi_nc_describe(const char *path, void *out /* FILE* */, psfwi_error *err);

/* ---- SEG-Y models (segyio) --------------------------------------------------
 * A model is stored trace by trace along x, samples along z. Spacing: dz from
 * the sample interval field (microseconds read as mm: 4000 = 4 m, the common
 * convention for depth models), dx from the CDP_X (byte 181) headers with
 * their scalar (byte 71). Pass dx > 0 / dz > 0 to override (needed when the
 * headers do not hold them). Origins: x0 = the first trace's CDP_X and z0 =
 * the delay (byte 109, ms read as m, time scalar byte 215) when dx / dz come
 * from the headers; 0 when overridden. Reads big-endian IBM (format 1) and
 * IEEE (format 5) float traces; other formats and little-endian files are
 * PSFWI_EUNSUPPORTED. Uneven or missing CDP_X without dx: PSFWI_EFORMAT. */
typedef struct psfwi_segy_opts {
  double dx, dz; /* m; <= 0: take from the headers */
} psfwi_segy_opts;
psfwi_model *psfwi_segy_read_model(const char *path, const psfwi_segy_opts *opts, psfwi_error *err);
/* IEEE float32 (format 5), big-endian, rev 1, CDP_X/CDP_Y and source/group X
 * headers in metres with scalar, sample interval = dz in mm. Reading the file
 * back gives the same grid and values bit for bit; a grid SEG-Y cannot store
 * exactly (dz not whole mm in 1..65535, x0/dx not a multiple of 0.1 mm, more
 * than 65535 samples) is refused with PSFWI_EUNSUPPORTED and nothing written. */
int psfwi_segy_write_model(const char *path, const psfwi_model *m, psfwi_error *err);

/* ---- SEG-Y shot gathers (segyio) ----------------------------------------------
 * One trace per (shot, receiver), trace k = is * nrec + ir. Shots are the
 * traces of one FIELD_RECORD (byte 9), in whatever order the file holds
 * them (sorted or not), or, when every trace has the same FIELD_RECORD (0
 * in many files) but sources differ, the traces of one source position;
 * shots in the order of their first trace, receivers in file order within
 * a shot. nrec is the most traces of any shot: shots with fewer (irregular
 * spreads) are padded with zero traces at their last receiver, marked 0 in
 * g->live (NULL when no shot is padded). Positions in metres: SourceX (73)
 * and GroupX (81)
 * with the coordinate scalar (71); source depth (49) and receiver depth =
 * -group elevation (41) with the elevation scalar (69); Y fields ignored.
 * dt = sample interval (binary 3217, else trace byte 117) in us.
 * The writer makes rev 1, IEEE float32 (format 5), big-endian, with
 * FIELD_RECORD = is + 1, trace number in record (13) = ir + 1, offset (37)
 * = round(rx - sx) in whole metres, and positions in the coarsest unit of
 * 1 m .. 0.1 mm (scalar 1, -10, ..., -10000) that holds all of them: reading
 * back gives data, positions and dt bit for bit. Refused, nothing written:
 * non-finite data or positions (PSFWI_ENONFINITE); dt not a whole number of
 * microseconds in 1..65535, nt > 65535, positions no such unit holds
 * (PSFWI_EUNSUPPORTED). The wavelet is not stored: it reads back as zeros;
 * padding traces (g->live) are not written.
 * The reader takes IBM (1) and IEEE (5) float; a trace with another sample
 * count or interval or a shot whose source moves between its traces (one
 * FIELD_RECORD, two positions) are PSFWI_EFORMAT naming the file and trace
 * index (from 0) and what was expected. Other errors as psfwi_segy_read_model. */
/* The geometry of a SEG-Y file of shot gathers from its trace headers
 * alone, whatever its sorting or spread (psfwi data info): per trace the
 * FIELD_RECORD (9), the offset as stored (37), source x and depth and
 * receiver x and depth in metres (the same bytes and scalars as the
 * reader); the file's sample count, interval (s) and format; notes on
 * headers that look wrong (scalar 0, an offset that is not |GroupX -
 * SourceX|, traces of other lengths or intervals), one per line. A scalar
 * outside the standard is PSFWI_EFORMAT with the trace number. */
typedef struct psfwi_segy_scan {
  size_t ntrace, ns;
  double dt;
  int format;
  int32_t *record, *offset;
  double *sx, *sz, *rx, *rz;
  char *notes; /* NULL: none */
  size_t nnotes;
} psfwi_segy_scan;
int psfwi_segy_scan_file(const char *path, psfwi_segy_scan *s, psfwi_error *err);
void psfwi_segy_scan_free(psfwi_segy_scan *s);
int psfwi_segy_write_gather(const char *path, const psfwi_gather *g, psfwi_error *err);
psfwi_gather *psfwi_segy_read_gather(const char *path, psfwi_error *err);

/* ---- Raw binary models ------------------------------------------------------ */
typedef enum { PSFWI_ORDER_XZ = 0, PSFWI_ORDER_ZX = 1 } psfwi_order;
/* XZ: stored trace by trace, z fastest (file[ix * nz + iz]);
 * ZX: row by row, x fastest (file[iz * nx + ix]). */
typedef enum { PSFWI_ENDIAN_LITTLE = 0, PSFWI_ENDIAN_BIG = 1 } psfwi_endian;
typedef enum { PSFWI_DTYPE_F32 = 0, PSFWI_DTYPE_F64 = 1 } psfwi_dtype;
typedef struct psfwi_raw_opts {
  size_t nx, nz;
  double dx, dz; /* m; dz <= 0 means dz = dx */
  psfwi_order order;
  psfwi_endian endian;
  psfwi_dtype dtype;
} psfwi_raw_opts;
/* The file size must equal nx * nz * sizeof(dtype) exactly. */
psfwi_model *psfwi_raw_read_model(const char *path, const psfwi_raw_opts *opts, psfwi_error *err);

/* ---- NumPy .npy / .npz --------------------------------------------------------
 * Arrays of float32/float64 (either byte order), C or Fortran order. The
 * array must have 2 dimensions after dropping axes of length 1, or 3, in
 * which case `index` picks the model along the leading axis (e.g. OpenFWI's
 * (500, 1, 70, 70)) and must be given (`has_index`): without it such an
 * array is PSFWI_EINVAL naming the number of models. `order` says what the
 * two remaining axes are: ZX = (nz, nx) (NumPy image convention, the CLI's
 * default; set it: a zeroed struct means XZ), XZ = (nx, nz). .npy versions
 * 1.0, 2.0, 3.0. For .npz (a zip, detected by content, read with libzip;
 * members stored or deflated, zip64 too), `key` names the member with or
 * without ".npy" (NULL: the only member, or "vp"); a missing key is
 * PSFWI_EKEY naming the available ones. Index out of range, or a member
 * above 4 GiB uncompressed: ERANGE. A malformed header or damaged archive
 * (CRC, sizes, truncation): EFORMAT naming the file (and member). */
typedef struct psfwi_npy_opts {
  double dx, dz; /* m; both required (> 0); dz <= 0 means dz = dx */
  psfwi_order order;
  const char *key;
  size_t index;  /* model along the leading axis of a 3-axis array */
  int has_index; /* 0 = no index given (index ignored); nonzero: index chosen */
} psfwi_npy_opts;
psfwi_model *psfwi_npy_read_model(const char *path, const psfwi_npy_opts *opts, psfwi_error *err);
/* Write a 2D float32 array (nz, nx) in C order: used by tests and scripts. */
int psfwi_npy_write_model(const char *path, const psfwi_model *m, psfwi_error *err);

/* ---- Survey geometry from CSV ------------------------------------------------
 * Lines "shot,source_x,source_z,receiver_x,receiver_z" (metres), an optional
 * header line, '#' comments. Shots numbered from 0 in order; every shot must
 * list the same number of receivers. The lines of a shot are contiguous and
 * repeat its source position; receivers keep their order. Errors: FILE:LINE. */
psfwi_survey *psfwi_csv_read_survey(const char *path, psfwi_error *err);

/* ---- Time series from text ----------------------------------------------------
 * One number per line (a source wavelet sampled at the recorded interval),
 * blank lines and '#' comments allowed. *values is malloc'ed (caller frees).
 * Errors name file:line; non-finite values are refused. */
int psfwi_text_read_series(const char *path, float **values, size_t *n, psfwi_error *err);
/* Writes n values, one per line (%.9g: float32 round trips), after the
 * comment's lines as '#' lines (comment may be NULL), to a temporary name
 * renamed over path; non-finite values are refused, nothing written. */
int psfwi_text_write_series(const char *path, const float *values, size_t n, const char *comment,
                            psfwi_error *err);

/* A whole text file (malloc'ed, NUL-terminated) of at most max_bytes;
 * a NUL byte inside or a larger file is PSFWI_EFORMAT naming the file. */
int psfwi_text_read_file(const char *path, size_t max_bytes, char **text, psfwi_error *err);

/* ---- Resumable-run state ------------------------------------------------------
 * Named flat arrays in one netCDF-4 file with a global attribute
 * psfwi_state = kind (e.g. "fwi"), written to a temporary name and renamed:
 * a run killed at any moment leaves the previous state or the new one. */
typedef enum { PSFWI_STATE_U8 = 0, PSFWI_STATE_F32 = 1, PSFWI_STATE_F64 = 2 } psfwi_state_type;
typedef struct psfwi_state_item {
  const char *name; /* a netCDF variable name */
  psfwi_state_type type;
  size_t n;   /* values (0 allowed) */
  void *data; /* n values of type */
} psfwi_state_item;
int psfwi_state_write(const char *path, const char *kind, const psfwi_state_item *items,
                      size_t nitems, const psfwi_meta *meta, psfwi_error *err);
/* Reads every item (names and data malloc'ed; free with psfwi_state_free).
 * A file of another kind, or not a state file, is PSFWI_EFORMAT. */
int psfwi_state_read(const char *path, const char *kind, psfwi_state_item **items, size_t *nitems,
                     psfwi_error *err);
void psfwi_state_free(psfwi_state_item *items, size_t nitems);
/* 1 when the state's "config" item (the run's configuration text, saved as
 * bytes) differs from config (NULL: ""); 0 when equal or absent. */
int psfwi_state_config_differs(const psfwi_state_item *items, size_t nitems, const char *config);
/* The item called name, checked to have the type and n values (n = (size_t)-1:
 * any count); NULL with EFORMAT naming path and item otherwise. */
const psfwi_state_item *psfwi_state_find(const psfwi_state_item *items, size_t nitems,
                                         const char *name, psfwi_state_type type, size_t n,
                                         const char *path, psfwi_error *err);

/* ---- Helpers for writers --------------------------------------------------------- */
/* The hidden temporary name "<folder>/.<name>.<host>.<pid>.tmp" beside path,
 * into buf; returns buf. First removes the temporaries of the same path that
 * this host's processes left when they were killed before renaming (their
 * process is gone). If the name does not fit in len bytes, buf becomes ""
 * (never a truncated name) and NULL is returned. */
char *psfwi_tmp_path(const char *path, char *buf, size_t len);
/* Sync tmp, rename it over path, sync the folder (errors name both; on
 * failure tmp is removed). */
int psfwi_commit_file(const char *tmp, const char *path, psfwi_error *err);

/* Create the folder that will hold path, with its parents (mkdir -p of
 * its folder); existing folders are fine. PSFWI_EIO naming the folder when
 * one cannot be made or a part of the path is not a folder. */
int psfwi_make_parent_folders(const char *path, psfwi_error *err);

/* ---- A per-user cache of computed results ------------------------------------------
 * Text lines kept across processes for results that cost much to compute
 * and depend only on their key and on this build of the code (the
 * stability probe's, docs/wave.md): NAME-<GNU build id>.txt in
 * $PSFWI_CACHE_DIR, else $XDG_CACHE_HOME/psfwi, else ~/.cache/psfwi
 * (PSFWI_CACHE_DIR empty: none). Best effort: never an error; when the
 * file cannot be read or written the caller simply computes. */
/* match(line, ctx) on each line (the first 1 MiB) until it returns nonzero;
 * that value, or 0 (no match, no file, no cache). */
int psfwi_cache_scan(const char *name, int (*match)(const char *line, void *ctx), void *ctx);
/* Append one line (ending in its newline, under 1024 bytes) by one write. */
void psfwi_cache_append(const char *name, const char *line);

/* ---- Inputs and outputs of a run ------------------------------------------------
 * One file a run reads or writes: name says where it was given (a config key
 * "[output] history", an option "-o"), path may be NULL (not given). */
typedef struct psfwi_run_file {
  const char *name;
  const char *path;
  int output; /* 1: the run writes it */
} psfwi_run_file;
/* PSFWI_EINVAL naming both when an output is the same file as an input or as
 * another output. Files are compared by identity (device and inode after
 * following links; for a file that does not exist yet, its folder's identity
 * and its name), not by spelling. Call before any work. */
int psfwi_check_run_files(const psfwi_run_file *files, size_t n, psfwi_error *err);

/* ---- NetCDF training-data shards (psfwi dataset generate; learn/) -----------
 * features(sample, channel, position) float32, vp(sample, z, x) float32 in
 * m/s on the coordinates z(z), x(x) in m, family(sample) int and
 * model_seed(sample) int64; the global text attribute psfwi_acquisition
 * holds the acquisition (learn's psfwi_learn_acq_text). Written to a
 * temporary name and renamed, so a shard that exists is complete. */
typedef struct psfwi_shard {
  size_t nsample, nchan, width; /* features[(s * nchan + c) * width + j] */
  psfwi_grid grid;              /* vp[(s * nz + iz) * nx + ix] on this grid */
  float *features;              /* owned */
  float *vp;                    /* owned */
  int *family;                  /* owned, nsample */
  long long *model_seed;        /* owned, nsample */
} psfwi_shard;
psfwi_shard *psfwi_shard_create(size_t nsample, size_t nchan, size_t width, const psfwi_grid *g,
                                psfwi_error *err);
void psfwi_shard_destroy(psfwi_shard *sh);
int psfwi_nc_write_shard(const char *path, const psfwi_shard *sh, const char *acq_text,
                         const psfwi_meta *meta, psfwi_error *err);
/* The shards of a data set: the files PREFIX_NNNNN.nc (five digits) in
 * name order (*paths and each path malloc'ed). None is PSFWI_EINVAL naming
 * the pattern. */
int psfwi_shard_list(const char *prefix, char ***paths, size_t *n, psfwi_error *err);
/* *acq_text (may be NULL) receives the malloc'ed acquisition text. */
psfwi_shard *psfwi_nc_read_shard(const char *path, char **acq_text, psfwi_error *err);

/* ---- NetCDF network files (psfwi dnn; learn/) ----------------------------------
 * params(param) and buffers(buffer) float32 (nn's flat vectors),
 * feature_mean(channel) and feature_std(channel) float32, one double
 * variable per training-history column name(epoch); global attributes
 * psfwi_architecture (learn's INI text), psfwi_acquisition, vmin and vmax
 * (m/s, the target scaling), plus the usual title/history/psfwi_config. */
typedef struct psfwi_netfile {
  char *architecture, *acquisition; /* text */
  size_t nparam, nbuffer, nchan;
  float *params, *buffers, *feature_mean, *feature_std;
  double vmin, vmax;
  size_t nepoch, ncol;
  char **col_names; /* ncol names */
  char **col_units; /* ncol units ("1" for none) */
  double *history;  /* nepoch * ncol, history[e * ncol + k] */
} psfwi_netfile;
/* Frees every member and nf itself (NULL allowed). */
void psfwi_netfile_destroy(psfwi_netfile *nf);
int psfwi_nc_write_network(const char *path, const psfwi_netfile *nf, const psfwi_meta *meta,
                           psfwi_error *err);
/* A file without psfwi_architecture, or with sizes that do not agree, is
 * PSFWI_EFORMAT naming the file and the item. */
psfwi_netfile *psfwi_nc_read_network(const char *path, psfwi_error *err);

#endif
