/* The stability probe's results kept across processes (docs/wave.md,
 * "Stability"), as FFTW's wisdom keeps plans: a probe costs 0.1-0.35 s, up
 * to six times a small run it guards, and its answer depends only on the
 * set-up's key and on the code that stepped it.
 *
 * One text file per build of the code: stability-<GNU build id>.txt in
 * $PSFWI_CACHE_DIR, else $XDG_CACHE_HOME/psfwi, else $HOME/.cache/psfwi
 * (PSFWI_CACHE_DIR set and empty: no file cache). Any rebuild changes the
 * build id, so a result is never reused by code that might step differently;
 * a binary without a build id keeps results for its own process only. A line
 * per set-up, every number in C's hexadecimal floating form (exact):
 *   psfwi-probe-1 dx dz dt c_ref nb edge_x edge_z absorber free scheme odd_x odd_z total late
 * appended by one write(2) with O_APPEND (whole lines, also when several
 * processes probe at once). Lines that do not parse are ignored; a file past
 * PSFWI_PROBE_FILE_MAX bytes is read up to there and no longer grows. The
 * cache is an optimisation: when it cannot be read or written the probe
 * simply runs. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wave_internal.h"

#define PSFWI_PROBE_FILE_MAX (1 << 20)
#define PSFWI_PROBE_TAG      "psfwi-probe-1"

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

/* The cache file's path in buf, or 0 (no file cache). */
static int cache_path(char *buf, size_t n) {
  static int done, ok;
  static char path[4096];
#pragma omp critical(psfwi_probe_path)
  if (!done) {
    done = 1;
    build_id_search s;
    memset(&s, 0, sizeof s);
    s.addr = (uintptr_t)&cache_path;
    dl_iterate_phdr(find_build_id, &s);
    const char *dir = getenv("PSFWI_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"),
               *home = getenv("HOME");
    int len = -1;
    if (s.hex[0] == '\0') {
      len = -1;
    } else if (dir != NULL) {
      if (dir[0] != '\0') len = snprintf(path, sizeof path, "%s/stability-%s.txt", dir, s.hex);
    } else if (xdg != NULL && xdg[0] == '/') {
      len = snprintf(path, sizeof path, "%s/psfwi/stability-%s.txt", xdg, s.hex);
    } else if (home != NULL && home[0] == '/') {
      len = snprintf(path, sizeof path, "%s/.cache/psfwi/stability-%s.txt", home, s.hex);
    }
    ok = len > 0 && (size_t)len < sizeof path;
  }
  if (!ok || strlen(path) >= n) return 0;
  strcpy(buf, path);
  return 1;
}

/* mkdir -p of the directories above the file (mode 0700 for new ones). */
static void make_dirs(char *path) {
  for (char *p = strchr(path + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
    *p = '\0';
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
      *p = '/';
      return;
    }
    *p = '/';
  }
}

static int format_line(char *buf, size_t n, const psfwi_probe_key *k, double total, double late) {
  return snprintf(buf, n, PSFWI_PROBE_TAG " %a %a %a %a %zu %zu %zu %d %d %d %d %d %a %a\n", k->dx,
                  k->dz, k->dt, k->c_ref, k->nb, k->edge_x, k->edge_z, k->absorber, k->free_surface,
                  k->scheme, k->odd_x, k->odd_z, total, late);
}

static int parse_line(const char *line, psfwi_probe_key *k, double *total, double *late) {
  char tag[32];
  int used = 0;
  memset(k, 0, sizeof *k);
  if (sscanf(line, "%31s %la %la %la %la %zu %zu %zu %d %d %d %d %d %la %la %n", tag, &k->dx,
             &k->dz, &k->dt, &k->c_ref, &k->nb, &k->edge_x, &k->edge_z, &k->absorber,
             &k->free_surface, &k->scheme, &k->odd_x, &k->odd_z, total, late, &used) != 15)
    return 0;
  return strcmp(tag, PSFWI_PROBE_TAG) == 0 && line[used] == '\0' && !(*total < 0.0) &&
         !(*late < 0.0);
}

int psfwi_probe_disk_lookup(const psfwi_probe_key *key, double *total, double *late) {
  char path[4096];
  if (!cache_path(path, sizeof path)) return 0;
  FILE *f = fopen(path, "r");
  if (f == NULL) return 0;
  char line[512];
  long bytes = 0;
  int found = 0;
  while (!found && bytes < PSFWI_PROBE_FILE_MAX && fgets(line, sizeof line, f) != NULL) {
    bytes += (long)strlen(line);
    psfwi_probe_key k;
    double t, l;
    if (parse_line(line, &k, &t, &l) && memcmp(&k, key, sizeof k) == 0) {
      *total = t;
      *late = l;
      found = 1;
    }
  }
  fclose(f);
  return found;
}

void psfwi_probe_disk_store(const psfwi_probe_key *key, double total, double late) {
  char path[4096], line[512];
  if (!cache_path(path, sizeof path)) return;
  const int len = format_line(line, sizeof line, key, total, late);
  if (len <= 0 || (size_t)len >= sizeof line) return;
  make_dirs(path);
  const int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  struct stat sb;
  if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size < PSFWI_PROBE_FILE_MAX)
    (void)!write(fd, line, (size_t)len);
  close(fd);
}
