/* Helpers for writers: a hidden temporary name beside the target, the
 * removal of temporaries left by killed runs, the commit (sync, rename over
 * the target, sync the folder) that makes a finished file appear at once or
 * not at all, and the check that no output of a run names one of its inputs
 * or another of its outputs. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "psfwi_io.h"

/* Split path into its folder ("." when none; "/" for the root) and its last
 * component. Returns 0 if either does not fit. */
static int split_path(const char *path, char *dir, size_t dlen, const char **base) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL) {
    *base = path;
    return snprintf(dir, dlen, ".") < (int)dlen;
  }
  *base = slash + 1;
  if (slash == path) return snprintf(dir, dlen, "/") < (int)dlen;
  const size_t n = (size_t)(slash - path);
  if (n >= dlen) return 0;
  memcpy(dir, path, n);
  dir[n] = '\0';
  return 1;
}

static void host_name(char *buf, size_t len) {
  if (gethostname(buf, len) != 0) snprintf(buf, len, "localhost");
  buf[len - 1] = '\0';
  for (char *c = buf; *c; c++)
    if (*c == '/' || *c == '.') *c = '_'; /* keeps the name parseable */
}

/* A temporary of ours for `base` in `dir`: ".<base>.<host>.<pid>.tmp" with
 * this host's name. Returns the pid, or 0 if `name` is not one. */
static long tmp_pid_of(const char *name, const char *base, const char *host) {
  const size_t nb = strlen(base), nh = strlen(host), nn = strlen(name);
  if (nn < 1 + nb + 1 + nh + 1 + 1 + 4 || name[0] != '.' || strncmp(name + 1, base, nb) != 0 ||
      name[1 + nb] != '.' || strncmp(name + 2 + nb, host, nh) != 0 || name[2 + nb + nh] != '.' ||
      strcmp(name + nn - 4, ".tmp") != 0)
    return 0;
  const char *p = name + 3 + nb + nh;
  long pid = 0;
  for (; p < name + nn - 4; p++) {
    if (*p < '0' || *p > '9' || pid > LONG_MAX / 10 - 10) return 0;
    pid = pid * 10 + (*p - '0');
  }
  return pid;
}

/* Remove the temporaries of `base` in `dir` written on this host by processes
 * that no longer exist (a run killed between writing and renaming). */
static void remove_stale(const char *dir, const char *base, const char *host) {
  DIR *d = opendir(dir);
  if (d == NULL) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    const long pid = tmp_pid_of(e->d_name, base, host);
    if (pid <= 0 || pid == (long)getpid()) continue;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive, or not ours to judge */
    char full[PATH_MAX];
    if (snprintf(full, sizeof full, "%s/%s", dir, e->d_name) < (int)sizeof full) unlink(full);
  }
  closedir(d);
}

char *psfwi_tmp_path(const char *path, char *buf, size_t len) {
  if (buf == NULL || len == 0) return NULL;
  buf[0] = '\0';
  char dir[PATH_MAX], host[128];
  const char *base;
  if (path == NULL || !split_path(path, dir, sizeof dir, &base) || base[0] == '\0') return NULL;
  host_name(host, sizeof host);
  remove_stale(dir, base, host);
  const int n = snprintf(buf, len, "%s/.%s.%s.%ld.tmp", dir, base, host, (long)getpid());
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
    return psfwi_fail(err, PSFWI_EIO, "cannot write '%s': syncing its temporary '%s': %s", path,
                      tmp, strerror(e));
  }
  if (rename(tmp, path) != 0) {
    const int e = errno;
    unlink(tmp);
    return psfwi_fail(err, PSFWI_EIO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(e));
  }
  /* Make the rename itself durable: sync the folder that holds path. */
  char dir[PATH_MAX];
  const char *base;
  if (split_path(path, dir, sizeof dir, &base)) (void)sync_path(dir, O_RDONLY | O_DIRECTORY);
  return PSFWI_OK;
}

/* ---- Inputs and outputs of one run name different files -------------------- */

/* What identifies a file: device and inode when it exists (stat follows
 * links), else the device and inode of its folder and its last name. */
typedef struct file_id {
  int exists;
  dev_t dev;
  ino_t ino;
  const char *base;
} file_id;

static int identify(const char *path, file_id *id) {
  struct stat sb;
  memset(id, 0, sizeof *id);
  if (stat(path, &sb) == 0) {
    id->exists = 1;
    id->dev = sb.st_dev;
    id->ino = sb.st_ino;
    return 1;
  }
  char dir[PATH_MAX];
  if (!split_path(path, dir, sizeof dir, &id->base) || stat(dir, &sb) != 0) return 0;
  id->dev = sb.st_dev;
  id->ino = sb.st_ino;
  return 1;
}

static int same_file(const file_id *a, const file_id *b) {
  if (a->exists != b->exists || a->dev != b->dev || a->ino != b->ino) return 0;
  return a->exists || strcmp(a->base, b->base) == 0;
}

int psfwi_check_run_files(const psfwi_run_file *files, size_t n, psfwi_error *err) {
  file_id *ids = calloc(n ? n : 1, sizeof *ids);
  int *known = calloc(n ? n : 1, sizeof *known);
  if (ids == NULL || known == NULL) {
    free(ids);
    free(known);
    return psfwi_fail(err, PSFWI_ENOMEM, "out of memory");
  }
  int st = PSFWI_OK;
  for (size_t i = 0; i < n; i++)
    known[i] =
        files[i].path != NULL && files[i].path[0] != '\0' && identify(files[i].path, &ids[i]);
  for (size_t i = 0; i < n && st == PSFWI_OK; i++) {
    if (!known[i] || !files[i].output) continue;
    for (size_t j = 0; j < n && st == PSFWI_OK; j++) {
      if (j == i || !known[j] || !same_file(&ids[i], &ids[j])) continue;
      if (files[j].output && j < i) continue; /* the pair was reported from j's side */
      if (files[j].output)
        st = psfwi_fail(err, PSFWI_EINVAL,
                        "%s = '%s' and %s = '%s' name the same file; every output needs a "
                        "file of its own",
                        files[i].name, files[i].path, files[j].name, files[j].path);
      else
        st = psfwi_fail(err, PSFWI_EINVAL,
                        "%s = '%s' is the same file as %s = '%s', an input of this run; "
                        "writing it would destroy that input (choose another output name)",
                        files[i].name, files[i].path, files[j].name, files[j].path);
    }
  }
  free(ids);
  free(known);
  return st;
}

int psfwi_shard_list(const char *prefix, char ***paths, size_t *n, psfwi_error *err) {
  *paths = NULL;
  *n = 0;
  const size_t len = strlen(prefix);
  char *pattern = malloc(len + 32);
  if (pattern == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "out of memory");
  /* glob special characters in the prefix itself are escaped */
  size_t k = 0;
  for (size_t i = 0; i < len; i++) {
    if (strchr("*?[\\", prefix[i])) {
      free(pattern);
      return psfwi_fail(err, PSFWI_EINVAL,
                        "shard prefix '%s': the characters * ? [ \\ are not "
                        "allowed",
                        prefix);
    }
    pattern[k++] = prefix[i];
  }
  strcpy(pattern + k, "_[0-9][0-9][0-9][0-9][0-9].nc");
  glob_t gl;
  const int r = glob(pattern, 0, NULL, &gl);
  if (r != 0) {
    if (r != GLOB_NOMATCH) globfree(&gl);
    const int st = psfwi_fail(err, PSFWI_EINVAL,
                              "no shard matches '%s' (the prefix of 'psfwi "
                              "dataset generate' [output] prefix)",
                              pattern);
    free(pattern);
    return st;
  }
  free(pattern);
  char **v = calloc(gl.gl_pathc, sizeof *v);
  if (v == NULL) {
    globfree(&gl);
    return psfwi_fail(err, PSFWI_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < gl.gl_pathc; i++) {
    v[i] = strdup(gl.gl_pathv[i]);
    if (v[i] == NULL) {
      for (size_t j = 0; j < i; j++) free(v[j]);
      free(v);
      globfree(&gl);
      return psfwi_fail(err, PSFWI_ENOMEM, "out of memory");
    }
  }
  *n = gl.gl_pathc;
  *paths = v;
  globfree(&gl);
  return PSFWI_OK;
}

/* ---- Folders for outputs ------------------------------------------------------ */

int psfwi_make_parent_folders(const char *path, psfwi_error *err) {
  char dir[PATH_MAX];
  const char *base;
  if (path == NULL || !split_path(path, dir, sizeof dir, &base))
    return psfwi_fail(err, PSFWI_EINVAL, "'%s': path too long", path ? path : "(null)");
  /* each prefix of dir ending before a '/', then dir itself */
  const size_t n = strlen(dir);
  for (size_t i = 1; i <= n; i++) {
    if (i < n && dir[i] != '/') continue;
    const char saved = dir[i];
    dir[i] = '\0';
    struct stat sb;
    if (stat(dir, &sb) != 0) {
      if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        const int e = errno;
        return psfwi_fail(err, PSFWI_EIO, "cannot create the folder '%s' for '%s': %s", dir, path,
                          strerror(e));
      }
    } else if (!S_ISDIR(sb.st_mode)) {
      return psfwi_fail(err, PSFWI_EIO, "'%s' (in the path '%s') is not a folder", dir, path);
    }
    dir[i] = saved;
  }
  return PSFWI_OK;
}
