/* io-internal helpers shared by the NetCDF readers and writers (netcdf.c,
 * netcdf_info.c, state.c); not part of the public API.
 *  - NCX: check a NetCDF call and jump to `fail` with a message naming the
 *    file (a `path` in scope), what was being done and the cause.
 *  - psfwi_nc_open_checked_: the only way io opens a NetCDF file: a bounded
 *    pre-check of the header against the file size, then nc_open read-only.
 *  - psfwi_nc_close_: close a file opened for reading exactly once.
 *  - psfwi_nc_create_mem_ / psfwi_nc_finish_mem_ / psfwi_nc_discard_: the
 *    writers' files, built in memory and written by psfwi, so that a full
 *    disk is an ordinary write error and never an HDF5 one. */
#ifndef PSFWI_IO_INTERNAL_H
#define PSFWI_IO_INTERNAL_H

#include <errno.h>
#include <netcdf.h>

#include "psfwi_io.h"

/* Size of every buffer that libnetcdf writes a name into: NC_MAX_NAME + 1
 * is what the API asks for; twice that is a margin against a library that
 * trusts a corrupt header more than we do. */
#define PSFWI_NC_NAME_BUF (2 * NC_MAX_NAME + 2)

/* Record a failed NetCDF call: PSFWI_EIO, "'path': what: cause". When the
 * call failed because a system call did (sys_errno is ENOSPC, EDQUOT,
 * EFBIG, EIO or EROFS after the call), the cause is strerror(sys_errno)
 * followed by NetCDF's text in parentheses, so a full disk reads "No space
 * left on device" rather than "NetCDF: HDF error". Returns PSFWI_EIO. */
int psfwi_nc_fail_(psfwi_error *err, const char *path, const char *what, int ncstatus,
                   int sys_errno);

/* Check a NetCDF call; on failure record the file (`path`), what was being
 * done and the cause in `err`, and jump to `fail`. errno is cleared before
 * the call so that a system error it leaves behind is the call's own. */
#define NCX(call, what)                                     \
  do {                                                      \
    errno = 0;                                              \
    const int ncx_st_ = (call);                             \
    const int ncx_errno_ = errno;                           \
    if (ncx_st_ != NC_NOERR) {                              \
      psfwi_nc_fail_(err, path, what, ncx_st_, ncx_errno_); \
      goto fail;                                            \
    }                                                       \
  } while (0)

/* Pre-check the header of a NetCDF file without libnetcdf: classic
 * (CDF-1), 64-bit offset (CDF-2) and CDF-5 headers are walked and every
 * count, name, type, dimension id and offset is checked against the file
 * size; a file that starts with the HDF5 signature (netCDF-4) passes
 * untouched. PSFWI_OK, PSFWI_EIO (cannot open or read the file) or
 * PSFWI_EFORMAT (not NetCDF, or a corrupt header), with a message naming
 * the file, the item and what was expected. Reads at most 16 MiB. */
int psfwi_nc_check_header_(const char *path, psfwi_error *err);

/* psfwi_nc_check_header_, then nc_open(path, NC_NOWRITE). On success *ncid
 * is open (close it with psfwi_nc_close_); on failure *ncid is -1 and err
 * says why (PSFWI_EFORMAT for a refused header, PSFWI_EIO otherwise, as
 * "'path': what: cause"; what NULL means "cannot open as NetCDF"). */
int psfwi_nc_open_checked_(const char *path, const char *what, int *ncid, psfwi_error *err);

/* How many probes psfwi_nc_open_checked_ has run and how many times it has
 * called nc_open in this process (for the tests of the probe's memo). */
void psfwi_nc_open_counts_(size_t *probes, size_t *opens);

/* Close a file opened for reading once; if nc_close fails, nc_abort
 * releases the id (a failed nc_close leaves it open; it is never closed
 * twice). Records the failure in err if not NULL; PSFWI_OK or PSFWI_EIO. */
int psfwi_nc_close_(int ncid, const char *path, psfwi_error *err);

/* Writers build their netCDF-4 file in memory (nc_create_mem) and write
 * the bytes themselves, so libhdf5 never meets a full disk: with this
 * libhdf5 a close whose flush fails frees the file but keeps its id, and
 * the exit handler then closes it again (SIGSEGV at exit). size_hint is
 * the expected size in bytes (the growth step of the memory image). */
int psfwi_nc_create_mem_(const char *path, size_t size_hint, int *ncid, psfwi_error *err);

/* Close the in-memory file ncid and write its bytes to tmp (created or
 * truncated); the caller then commits tmp to path. On failure the cause
 * (e.g. "No space left on device") names path, tmp is removed and ncid is
 * released either way. PSFWI_OK, PSFWI_EIO or PSFWI_ENOMEM. */
int psfwi_nc_finish_mem_(int ncid, const char *path, const char *tmp, psfwi_error *err);

/* A writer's way out after a failure: nc_abort the in-memory ncid (no
 * I/O, never a second close) and remove tmp if it exists. */
void psfwi_nc_discard_(int ncid, const char *tmp);

/* Shared by the NetCDF writers and readers of netcdf.c and nc_shard.c
 * (they return NetCDF status codes, or psfwi codes where they take err):
 *  - put_globals: Conventions, title (default_title when meta has none),
 *    source, history (time stamp + meta->history) and psfwi_config;
 *  - def_coords / put_coords: z(z) (positive down) and x(x) in metres;
 *  - read_axis: a coordinate variable name(name) of n points in metres,
 *    evenly spaced and increasing (origin and step out; errors name path);
 *  - expect_var: variable `name` with the nd dimensions named dn. */
int psfwi_nc_put_globals_(int nc, const psfwi_meta *meta, const char *default_title);
int psfwi_nc_def_coords_(int nc, int dim_z, int dim_x, int *vz, int *vx);
int psfwi_nc_put_coords_(int nc, int vz, int vx, const psfwi_grid *g);
int psfwi_nc_read_axis_(int nc, const char *path, const char *name, size_t n, double *origin,
                        double *step, psfwi_error *err);
int psfwi_nc_expect_var_(int nc, const char *path, const char *name, int nd, const char *const *dn,
                         int *var, psfwi_error *err);

#endif
