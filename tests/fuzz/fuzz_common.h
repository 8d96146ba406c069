/* Shared by the libFuzzer targets tests/fuzz/fuzz_<target>.c: psfwi's
 * readers take a path, so each input is written to one per-process file
 * (in /dev/shm when it exists, else $TMPDIR or /tmp), created once and
 * rewritten in place (pwrite + ftruncate) for every input, removed at exit.
 *
 * The same targets are linked into tests/fuzz/replay_main.c (a plain main()
 * that feeds the corpus and regression files) for ctest. */
#ifndef PSFWI_FUZZ_COMMON_H
#define PSFWI_FUZZ_COMMON_H

#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_path_[512];
static int fuzz_fd_ = -1;

static void fuzz_cleanup_(void) {
  if (fuzz_fd_ >= 0) {
    close(fuzz_fd_);
    unlink(fuzz_path_);
    fuzz_fd_ = -1;
  }
}

/* The input as the file's whole content; returns its path (abort on an I/O
 * failure: that is the harness's fault, not the reader's). `suffix` gives
 * the name an extension (e.g. ".npy") for readers that look at it. */
static inline const char *fuzz_file(const char *target, const char *suffix, const uint8_t *data,
                                    size_t size) {
  if (fuzz_fd_ < 0) {
    struct stat st;
    const char *dir = "/dev/shm";
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK) != 0) {
      dir = getenv("TMPDIR");
      if (dir == NULL || dir[0] == '\0') dir = "/tmp";
    }
    snprintf(fuzz_path_, sizeof fuzz_path_, "%s/psfwi-fuzz-%s-%ld%s", dir, target, (long)getpid(),
             suffix ? suffix : "");
    fuzz_fd_ = open(fuzz_path_, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fuzz_fd_ < 0) {
      perror(fuzz_path_);
      abort();
    }
    atexit(fuzz_cleanup_);
  }
  size_t done = 0;
  while (done < size) {
    ssize_t w = pwrite(fuzz_fd_, data + done, size - done, (off_t)done);
    if (w <= 0) {
      perror(fuzz_path_);
      abort();
    }
    done += (size_t)w;
  }
  if (ftruncate(fuzz_fd_, (off_t)size) != 0) {
    perror(fuzz_path_);
    abort();
  }
  return fuzz_path_;
}

/* As fuzz_file, but on a new file (a new inode) for every input: the old
 * one is unlinked first. For the NetCDF target: a failed nc_open of a
 * netCDF-4 file can leave libhdf5 holding the file open, and HDF5 then
 * shares that stale open file with the next nc_open of the same inode, so
 * inputs written in place over one file would not be independent. */
static inline const char *fuzz_file_fresh(const char *target, const char *suffix,
                                          const uint8_t *data, size_t size) {
  if (fuzz_fd_ >= 0) {
    close(fuzz_fd_);
    unlink(fuzz_path_);
    fuzz_fd_ = -1;
    fuzz_fd_ = open(fuzz_path_, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fuzz_fd_ < 0) {
      perror(fuzz_path_);
      abort();
    }
  }
  return fuzz_file(target, suffix, data, size);
}

/* A NUL-terminated copy of the input (malloc'ed; caller frees). */
static inline char *fuzz_text(const uint8_t *data, size_t size) {
  char *t = malloc(size + 1);
  if (t == NULL) abort();
  if (size) memcpy(t, data, size);
  t[size] = '\0';
  return t;
}

/* /dev/null as a FILE*, opened once, for writers of summaries. */
static inline FILE *fuzz_devnull(void) {
  static FILE *f = NULL;
  if (f == NULL) {
    f = fopen("/dev/null", "w");
    if (f == NULL) abort();
  }
  return f;
}

#endif
