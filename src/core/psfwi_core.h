/* psfwi core: error codes and error records, the regular 2D grid, the
 * velocity model on it, survey geometry (sources and receivers) and source
 * wavelets. Everything here is plain data; no file I/O (that is io/).
 *
 * Conventions used across psfwi:
 *  - SI units: metres, seconds, m/s.
 *  - 2D arrays are row-major with x fastest: a[iz * nx + ix]. This matches
 *    the NetCDF variable vp(z, x) written by io/.
 *  - Functions return an int status from enum psfwi_status (0 = success) and
 *    fill a caller-owned psfwi_error with what failed, where, and which file,
 *    key or variable. Only main() exits.
 *  - Objects: _create allocates everything (returns NULL on failure with the
 *    error filled), _destroy releases and accepts NULL. */
#ifndef PSFWI_CORE_H
#define PSFWI_CORE_H

#include <stddef.h>

#define PSFWI_VERSION_STRING "0.1.0"

/* One list of status codes, with text. Codes are never renumbered. */
#define PSFWI_STATUS_LIST(X)                                   \
  X(PSFWI_OK, 0, "success")                                    \
  X(PSFWI_ENOMEM, 1, "out of memory")                          \
  X(PSFWI_EIO, 2, "input/output error")                        \
  X(PSFWI_EFORMAT, 3, "malformed or unexpected file contents") \
  X(PSFWI_EINVAL, 4, "invalid argument")                       \
  X(PSFWI_ERANGE, 5, "value out of range")                     \
  X(PSFWI_EKEY, 6, "unknown or missing key")                   \
  X(PSFWI_ENONFINITE, 7, "non-finite value (NaN or Inf)")      \
  X(PSFWI_EUNSTABLE, 8, "unstable or under-sampled set-up")    \
  X(PSFWI_EUNSUPPORTED, 9, "unsupported feature")              \
  X(PSFWI_EINTERNAL, 10, "internal error")                     \
  X(PSFWI_EINTERRUPTED, 11, "interrupted (resumable)")

enum psfwi_status {
#define PSFWI_X_ENUM(name, value, text) name = value,
  PSFWI_STATUS_LIST(PSFWI_X_ENUM)
#undef PSFWI_X_ENUM
};

/* Text for a status code ("unknown status" for codes not in the list). */
const char *psfwi_strerror(int status);

/* An error record: the status and a message saying what failed, where, and
 * what was expected. Caller-owned; may live on the stack. */
typedef struct psfwi_error {
  int status;
  char msg[1024];
} psfwi_error;

/* Fill err (if not NULL) with status and a printf-style message and return
 * status, so that `return psfwi_fail(err, PSFWI_EINVAL, "...")` reads well.
 * The first error recorded wins only if it is not overwritten: callers that
 * add context use psfwi_error_prefix. */
int psfwi_fail(psfwi_error *err, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Prepend "prefix: " to err->msg (e.g. the file name). Returns err->status. */
int psfwi_error_prefix(psfwi_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void psfwi_error_clear(psfwi_error *err);

/* ---- Grid ----------------------------------------------------------------
 * nx x nz points, spacing dx, dz (m), origin (x0, z0) of point (0, 0) in m.
 * Point (ix, iz) sits at x = x0 + ix dx, z = z0 + iz dz; z positive down. */
typedef struct psfwi_grid {
  size_t nx, nz;
  double dx, dz; /* m */
  double x0, z0; /* m */
} psfwi_grid;

/* Check nx, nz >= 1 (and the product fits), dx, dz finite and > 0, origin
 * finite. `what` names the grid in the message (a file name, say). */
int psfwi_grid_check(const psfwi_grid *g, const char *what, psfwi_error *err);
size_t psfwi_grid_size(const psfwi_grid *g); /* nx * nz */

/* ---- Velocity model ------------------------------------------------------
 * P-wave velocity in m/s on a grid, float32, layout vp[iz * nx + ix]. */
typedef struct psfwi_model {
  psfwi_grid grid;
  float *vp; /* owned, nx * nz values, m/s */
} psfwi_model;

/* A model on grid g, all velocities set to 0 (fill before use). */
psfwi_model *psfwi_model_create(const psfwi_grid *g, psfwi_error *err);
psfwi_model *psfwi_model_copy(const psfwi_model *m, psfwi_error *err);
void psfwi_model_destroy(psfwi_model *m);
/* Every value finite and > 0; else names `what` and the first bad (ix, iz). */
int psfwi_model_check(const psfwi_model *m, const char *what, psfwi_error *err);
/* Minimum and maximum velocity (m/s). */
void psfwi_model_range(const psfwi_model *m, float *vmin, float *vmax);

/* ---- Survey geometry -----------------------------------------------------
 * nshot sources, each recorded by the same number nrec of receivers (their
 * positions may differ from shot to shot). Positions in m, in the model's
 * coordinate frame (z positive down). Arrays owned:
 *   sx[is], sz[is]                         is < nshot
 *   rx[is * nrec + ir], rz[is * nrec + ir]  ir < nrec */
typedef struct psfwi_survey {
  size_t nshot, nrec;
  double *sx, *sz;
  double *rx, *rz;
} psfwi_survey;

psfwi_survey *psfwi_survey_create(size_t nshot, size_t nrec, psfwi_error *err);
void psfwi_survey_destroy(psfwi_survey *s);

/* A line survey: sources at sx0 + is dsx (is < nshot) and depth sz; receivers
 * at rx0 + ir drx (ir < nrec) and depth rz. With moving != 0 the receiver
 * spread moves with the shot: receiver positions of shot is are shifted by
 * is * dsx (a towed streamer or a rolling spread). */
psfwi_survey *psfwi_survey_create_line(double sx0, double dsx, size_t nshot, double sz, double rx0,
                                       double drx, size_t nrec, double rz, int moving,
                                       psfwi_error *err);

/* A copy of shots first .. first + count - 1 with their receivers: one MPI
 * rank's share (see psfwi_comm_shot_range). PSFWI_ERANGE unless count >= 1
 * and first + count <= s->nshot: a survey always has at least one shot
 * (psfwi_survey_create), so a rank without shots has no subset; callers
 * either refuse more ranks than shots or skip the subset when count is 0. */
psfwi_survey *psfwi_survey_subset(const psfwi_survey *s, size_t first, size_t count,
                                  psfwi_error *err);

/* Check every position finite and inside the grid's extent (a point exactly
 * on the edge counts as inside). Names the shot/receiver and position. */
int psfwi_survey_check(const psfwi_survey *s, const psfwi_grid *g, psfwi_error *err);
/* 1 when (x, z) is finite and inside the grid's extent (its edges count,
 * within 1e-9 of a cell), the test psfwi_survey_check applies. */
int psfwi_grid_inside(const psfwi_grid *g, double x, double z);

/* ---- Wavelets ------------------------------------------------------------
 * Ricker wavelet of peak frequency f_peak (Hz) delayed by delay (s), sampled
 * at t = i dt, i < nt: w(t) = (1 - 2 a) exp(-a), a = (pi f (t - delay))^2. */
int psfwi_ricker(double f_peak, double delay, double dt, size_t nt, float *w, psfwi_error *err);

/* ---- Small utilities shared by modules ------------------------------------ */
/* Parse "first:step:count" (count a positive integer), e.g. "100:20:50". */
int psfwi_parse_range(const char *text, double *first, double *step, size_t *count,
                      psfwi_error *err);
/* Wall-clock seconds since an arbitrary origin (monotonic). */
double psfwi_seconds(void);
/* The smallest even length >= max(n, 2) with no prime factor above 5 (FFTW
 * is fastest on such lengths). */
size_t psfwi_fft_size(size_t n);

/* splitmix64 (Steele, Lea & Flood 2014): advances *state by a fixed odd
 * constant and returns it hashed by a bijective mixer (psfwi_mix64). Integer
 * arithmetic only: the same sequence on every machine. */
unsigned long long psfwi_mix64(unsigned long long z);
unsigned long long psfwi_splitmix64(unsigned long long *state);
/* A standard normal draw: Box-Muller on two splitmix64 draws (53-bit
 * uniforms, the first in (0, 1)); the same sequence on every machine up to
 * libm's log and cos. */
double psfwi_normal_draw(unsigned long long *state);

/* 64-bit FNV-1a hash of len bytes: the checksum of saved optimiser states. */
unsigned long long psfwi_fnv1a(const void *data, size_t len);

/* The first error of a team of OpenMP threads: record() keeps the first
 * error given (thread-safe) and raises the flag; failed() reads the flag
 * (thread-safe), so other threads can skip their remaining work. */
typedef struct psfwi_first_error {
  psfwi_error err;
  int failed;
} psfwi_first_error;
void psfwi_first_error_init(psfwi_first_error *fe);
void psfwi_first_error_record(psfwi_first_error *fe, const psfwi_error *e);
int psfwi_first_error_failed(const psfwi_first_error *fe);

/* ---- Resource limits (checked before large allocations) -------------------
 * The memory a run may use: the machine's physical memory, lowered to the
 * process's address-space limit (RLIMIT_AS) and to the environment variable
 * PSFWI_MEM_LIMIT_MB (MiB) when those are smaller. Bytes; 0 when unknown. */
double psfwi_mem_limit(void);
/* PSFWI_ENOMEM, before anything is allocated, when `bytes` exceeds
 * psfwi_mem_limit(): "<what> would need X GiB (<detail>); the limit is Y GiB
 * (...)". detail may be NULL. PSFWI_OK otherwise (also when the limit is
 * unknown). */
int psfwi_mem_check(double bytes, const char *what, const char *detail, psfwi_error *err);
/* "12.3 GiB" / "45.6 MiB" / "789 KiB" into buf (len >= 32). */
const char *psfwi_bytes_text(double bytes, char *buf, size_t len);

#endif
