/* A per-user cache of text lines for results that cost much to compute and
 * depend only on their key and on the code that computed them (the
 * stability probe's: src/wave/probe_cache.c, docs/wave.md "Stability"), as
 * FFTW's wisdom keeps plans.
 *
 * One file per name and build of the code: NAME-<GNU build id>.txt in
 * $PSFWI_CACHE_DIR, else $XDG_CACHE_HOME/psfwi, else $HOME/.cache/psfwi
 * (PSFWI_CACHE_DIR set and empty: no cache). Any rebuild changes the build
 * id, so a line is only ever read by the code that wrote it; code without a
 * build id has no cache. Lines are appended by one write(2) with O_APPEND
 * (whole lines, also when several processes write at once); a file past
 * PSFWI_CACHE_MAX bytes is read up to there and no longer grows. A cache
 * only saves time: when it cannot be read or written, nothing is reported
 * and the caller computes. */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "psfwi_io.h"

#define PSFWI_CACHE_MAX (1 << 20)

/* ---- The build id of the object holding this code ------------------------ */

typedef struct build_id_search {
  uintptr_t addr; /* an address inside this object's code */
  char hex[2 * 64 + 1];
} build_id_search;

/* The notes of one PT_NOTE segment (entries padded to its alignment, 4 or 8). */
static int note_build_id(const ElfW(Nhdr) * nh, const char *end, size_t align, build_id_search *s) {
  while ((const char *)nh + sizeof *nh <= end) {
    const size_t name = (nh->n_namesz + align - 1) & ~(align - 1),
                 desc = (nh->n_descsz + align - 1) & ~(align - 1);
    const char *n = (const char *)(nh + 1);
    if (n + name + desc > end) return 0;
    if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(n, "GNU", 4) == 0 &&
        nh->n_descsz > 0 && nh->n_descsz <= 64) {
      const unsigned char *d = (const unsigned char *)(n + name);
      for (size_t i = 0; i < nh->n_descsz; i++) snprintf(s->hex + 2 * i, 3, "%02x", d[i]);
      return 1;
    }
    nh = (const ElfW(Nhdr) *)(n + name + desc);
  }
  return 0;
}

static int find_build_id(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  build_id_search *s = data;
  int here = 0;
  for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *p = &info->dlpi_phdr[i];
    const uintptr_t lo = info->dlpi_addr + p->p_vaddr;
    if (p->p_type == PT_LOAD && s->addr >= lo && s->addr < lo + p->p_memsz) here = 1;
  }
  if (!here) return 0;
  for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *p = &info->dlpi_phdr[i];
    if (p->p_type != PT_NOTE) continue;
    const char *b = (const char *)(info->dlpi_addr + p->p_vaddr);
    if (note_build_id((const ElfW(Nhdr) *)b, b + p->p_memsz, p->p_align == 8 ? 8 : 4, s)) return 1;
  }
  return 1; /* this object, without a build id */
}

/* The cache file of name into buf; 0 when there is none. */
static int cache_path(const char *name, char *buf, size_t n) {
  static int done;
  static build_id_search s;
#pragma omp critical(psfwi_cache_build_id)
  if (!done) {
    s.addr = (uintptr_t)&cache_path;
    dl_iterate_phdr(find_build_id, &s);
    done = 1;
  }
  if (s.hex[0] == '\0') return 0;
  const char *dir = getenv("PSFWI_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"),
             *home = getenv("HOME");
  int len = -1;
  if (dir != NULL) {
    if (dir[0] != '\0') len = snprintf(buf, n, "%s/%s-%s.txt", dir, name, s.hex);
  } else if (xdg != NULL && xdg[0] == '/') {
    len = snprintf(buf, n, "%s/psfwi/%s-%s.txt", xdg, name, s.hex);
  } else if (home != NULL && home[0] == '/') {
    len = snprintf(buf, n, "%s/.cache/psfwi/%s-%s.txt", home, name, s.hex);
  }
  return len > 0 && (size_t)len < n;
}

int psfwi_cache_scan(const char *name, int (*match)(const char *line, void *ctx), void *ctx) {
  char path[4096], line[1024];
  if (!cache_path(name, path, sizeof path)) return 0;
  FILE *f = fopen(path, "r");
  if (f == NULL) return 0;
  long bytes = 0;
  int found = 0;
  while (!found && bytes < PSFWI_CACHE_MAX && fgets(line, sizeof line, f) != NULL) {
    bytes += (long)strlen(line);
    found = match(line, ctx);
  }
  fclose(f);
  return found;
}

void psfwi_cache_append(const char *name, const char *line) {
  char path[4096];
  const size_t len = strlen(line);
  if (len == 0 || len >= 1024 || line[len - 1] != '\n' || !cache_path(name, path, sizeof path))
    return;
  psfwi_error e = {0};
  if (psfwi_make_parent_folders(path, &e) != PSFWI_OK) return;
  const int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  struct stat sb;
  if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size < PSFWI_CACHE_MAX)
    (void)!write(fd, line, len);
  close(fd);
}
