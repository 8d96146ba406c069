/* The stability probe's results kept across processes (docs/wave.md,
 * "Stability"): a probe costs 0.1-1 s, up to ten times a small run it
 * guards, and its answer depends only on the set-up's key and on the code
 * that stepped it, so it goes into io's per-build cache (psfwi_cache_*,
 * src/io/cache.c) under the name "stability", a line per set-up with every
 * number in C's hexadecimal floating form (exact):
 *   psfwi-probe-1 dx dz dt c_ref nb edge_x edge_z absorber free scheme odd_x odd_z total late
 * Lines that do not parse are ignored. */
#include <stdio.h>
#include <string.h>

#include "psfwi_io.h"
#include "wave_internal.h"

#define PSFWI_PROBE_TAG "psfwi-probe-1"

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

typedef struct lookup {
  const psfwi_probe_key *key;
  double total, late;
} lookup;

static int match(const char *line, void *ctx) {
  lookup *l = ctx;
  psfwi_probe_key k;
  double t, la;
  if (!parse_line(line, &k, &t, &la) || memcmp(&k, l->key, sizeof k) != 0) return 0;
  l->total = t;
  l->late = la;
  return 1;
}

int psfwi_probe_disk_lookup(const psfwi_probe_key *key, double *total, double *late) {
  lookup l = {key, 0.0, 0.0};
  if (!psfwi_cache_scan("stability", match, &l)) return 0;
  *total = l.total;
  *late = l.late;
  return 1;
}

void psfwi_probe_disk_store(const psfwi_probe_key *k, double total, double late) {
  char line[512];
  const int len =
      snprintf(line, sizeof line, PSFWI_PROBE_TAG " %a %a %a %a %zu %zu %zu %d %d %d %d %d %a %a\n",
               k->dx, k->dz, k->dt, k->c_ref, k->nb, k->edge_x, k->edge_z, k->absorber,
               k->free_surface, k->scheme, k->odd_x, k->odd_z, total, late);
  if (len > 0 && (size_t)len < sizeof line) psfwi_cache_append("stability", line);
}
