/* NetCDF writers' files are built in memory and written by psfwi itself.
 * Why: with a full disk, libhdf5 (1.10) fails to flush, and a failed close
 * leaves a freed file behind an id that HDF5's exit handler closes again:
 * `psfwi forward` died with SIGSEGV at exit (gdb: H5F__close_cb from
 * H5_term_library; nc_abort after it crashes in H5G_rootof). In memory
 * HDF5 never does I/O that can fail, and the write of the finished image
 * reports ENOSPC like any other write. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io_internal.h" /* before netcdf_mem.h: it needs size_t and netcdf.h */
#include <netcdf_mem.h>

int psfwi_nc_create_mem_(const char *path, size_t size_hint, int *ncid, psfwi_error *err) {
  /* The hint is HDF5's growth step: not below 64 KiB, not above 64 MiB. */
  size_t step = size_hint < ((size_t)1 << 16) ? (size_t)1 << 16 : size_hint;
  if (step > ((size_t)1 << 26)) step = (size_t)1 << 26;
  *ncid = -1;
  errno = 0;
  const int st = nc_create_mem(path, NC_NETCDF4, step, ncid);
  const int e = errno;
  if (st != NC_NOERR) {
    *ncid = -1;
    return psfwi_nc_fail_(err, path, "cannot create the file in memory", st, e);
  }
  return PSFWI_OK;
}

void psfwi_nc_discard_(int ncid, const char *tmp) {
  if (ncid >= 0) (void)nc_abort(ncid);
  if (tmp != NULL && tmp[0] != '\0') (void)unlink(tmp);
}

/* Write all n bytes to fd (short writes and EINTR retried); 0 or errno. */
static int write_all(int fd, const unsigned char *p, size_t n) {
  while (n > 0) {
    const ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (w == 0) return EIO;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int psfwi_nc_finish_mem_(int ncid, const char *path, const char *tmp, psfwi_error *err) {
  NC_memio mio = {0};
  errno = 0;
  const int st = nc_close_memio(ncid, &mio);
  const int e = errno;
  if (st != NC_NOERR) {
    (void)nc_abort(ncid); /* a failed close leaves the id open */
    free(mio.memory);
    return psfwi_nc_fail_(err, path, "finishing the file in memory", st, e);
  }
  if (tmp == NULL || tmp[0] == '\0') {
    free(mio.memory);
    return psfwi_fail(err, PSFWI_EINVAL, "'%s': path too long for a temporary name", path);
  }
  const int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
  if (fd < 0) {
    const int oe = errno;
    free(mio.memory);
    return psfwi_fail(err, PSFWI_EIO, "'%s': cannot create '%s': %s", path, tmp, strerror(oe));
  }
  int we = write_all(fd, mio.memory, mio.size);
  free(mio.memory);
  if (close(fd) != 0 && we == 0) we = errno;
  if (we != 0) {
    unlink(tmp);
    return psfwi_fail(err, PSFWI_EIO, "'%s': writing %s: %s", path, tmp, strerror(we));
  }
  return PSFWI_OK;
}
