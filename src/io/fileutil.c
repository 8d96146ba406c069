/* Helpers for writers: a temporary name beside the target, and the commit
 * (sync, rename over the target, sync the folder) that makes a finished
 * file appear at once or not at all. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "psfwi_io.h"

char *psfwi_tmp_path(const char *path, char *buf, size_t len) {
  if (buf == NULL || len == 0) return NULL;
  const int n = snprintf(buf, len, "%s.tmp.%ld", path, (long)getpid());
  if (n < 0 || (size_t)n >= len) {
    /* A truncated name could be some other file: leave nothing usable. */
    buf[0] = '\0';
    return NULL;
  }
  return buf;
}

/* Flush a file or folder to stable storage; best effort for folders. */
static int sync_path(const char *path, int flags) {
  const int fd = open(path, flags);
  if (fd < 0) return -1;
  int st = fsync(fd);
  /* Some file systems cannot sync a folder (EINVAL): that is not a failure. */
  if (st != 0 && (errno == EINVAL || errno == EROFS)) st = 0;
  if (close(fd) != 0) st = -1;
  return st;
}

int psfwi_commit_file(const char *tmp, const char *path, psfwi_error *err) {
  if (tmp == NULL || tmp[0] == '\0' || path == NULL || path[0] == '\0')
    return psfwi_fail(err, PSFWI_EINVAL, "cannot commit '%s' to '%s': empty file name",
                      tmp ? tmp : "(null)", path ? path : "(null)");
  if (sync_path(tmp, O_RDONLY) != 0) {
    const int e = errno;
    unlink(tmp);
    return psfwi_fail(err, PSFWI_EIO, "cannot sync '%s' (to become '%s'): %s", tmp, path,
                      strerror(e));
  }
  if (rename(tmp, path) != 0) {
    const int e = errno;
    unlink(tmp);
    return psfwi_fail(err, PSFWI_EIO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(e));
  }
  /* Make the rename itself durable: sync the folder that holds path. */
  char dir[4096];
  const char *slash = strrchr(path, '/');
  if (slash == NULL) {
    snprintf(dir, sizeof dir, ".");
  } else if (slash == path) {
    snprintf(dir, sizeof dir, "/");
  } else if ((size_t)(slash - path) < sizeof dir) {
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
  } else {
    return PSFWI_OK; /* folder name too long to sync; the file is in place */
  }
  (void)sync_path(dir, O_RDONLY | O_DIRECTORY);
  return PSFWI_OK;
}
