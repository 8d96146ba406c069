/* Raw binary velocity models: headerless float32/float64 arrays in either
 * byte order, stored trace by trace (XZ) or row by row (ZX). The file size
 * must match nx * nz * sizeof(dtype) exactly, so a wrong shape or type is
 * caught before any value is trusted. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "psfwi_io.h"

/* Decode one value from its bytes; independent of the host's byte order. */
static float decode(const unsigned char *b, psfwi_dtype dtype, psfwi_endian endian) {
  if (dtype == PSFWI_DTYPE_F32) {
    uint32_t u = 0;
    for (int k = 0; k < 4; k++) {
      const int shift = endian == PSFWI_ENDIAN_LITTLE ? 8 * k : 8 * (3 - k);
      u |= (uint32_t)b[k] << shift;
    }
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
  }
  uint64_t u = 0;
  for (int k = 0; k < 8; k++) {
    const int shift = endian == PSFWI_ENDIAN_LITTLE ? 8 * k : 8 * (7 - k);
    u |= (uint64_t)b[k] << shift;
  }
  double d;
  memcpy(&d, &u, sizeof d);
  /* Out-of-range doubles become +-inf (not undefined behaviour); NaN stays NaN.
   * The model check then rejects them. */
  if (d > (double)FLT_MAX) return HUGE_VALF;
  if (d < -(double)FLT_MAX) return -HUGE_VALF;
  return (float)d;
}

psfwi_model *psfwi_raw_read_model(const char *path, const psfwi_raw_opts *opts, psfwi_error *err) {
  if (opts == NULL) {
    psfwi_fail(err, PSFWI_EINVAL, "'%s': a raw binary file needs nx, nz, dx (no options given)",
               path);
    return NULL;
  }
  if (opts->dtype != PSFWI_DTYPE_F32 && opts->dtype != PSFWI_DTYPE_F64) {
    psfwi_fail(err, PSFWI_EINVAL, "'%s': unknown raw data type %d", path, (int)opts->dtype);
    return NULL;
  }
  if (opts->order != PSFWI_ORDER_XZ && opts->order != PSFWI_ORDER_ZX) {
    psfwi_fail(err, PSFWI_EINVAL, "'%s': unknown raw axis order %d", path, (int)opts->order);
    return NULL;
  }
  if (opts->endian != PSFWI_ENDIAN_LITTLE && opts->endian != PSFWI_ENDIAN_BIG) {
    psfwi_fail(err, PSFWI_EINVAL, "'%s': unknown raw byte order %d", path, (int)opts->endian);
    return NULL;
  }
  psfwi_grid g = {
      .nx = opts->nx, .nz = opts->nz, .dx = opts->dx, .dz = opts->dz > 0.0 ? opts->dz : opts->dx};
  if (psfwi_grid_check(&g, path, err) != PSFWI_OK) return NULL;
  const size_t nx = g.nx, nz = g.nz, n = nx * nz;
  const size_t esize = opts->dtype == PSFWI_DTYPE_F32 ? 4 : 8;
  if (n > (SIZE_MAX / esize) || n * esize > (uintmax_t)INT64_MAX) {
    psfwi_fail(err, PSFWI_ERANGE, "'%s': %zu x %zu values is too large", path, nx, nz);
    return NULL;
  }
  const uintmax_t expected = (uintmax_t)n * esize;

  FILE *f = fopen(path, "rb");
  psfwi_model *m = NULL;
  if (f == NULL) {
    psfwi_fail(err, PSFWI_EIO, "cannot open '%s': %s", path, strerror(errno));
    return NULL;
  }
  if (fseeko(f, 0, SEEK_END) != 0) {
    psfwi_fail(err, PSFWI_EIO, "'%s': cannot seek: %s", path, strerror(errno));
    goto fail;
  }
  const off_t size = ftello(f);
  if (size < 0 || fseeko(f, 0, SEEK_SET) != 0) {
    psfwi_fail(err, PSFWI_EIO, "'%s': cannot find the file size: %s", path, strerror(errno));
    goto fail;
  }
  if ((uintmax_t)size != expected) {
    psfwi_fail(err, PSFWI_EFORMAT,
               "'%s' holds %jd bytes; %zu x %zu %s values need %ju bytes (check nx, nz and "
               "the data type)",
               path, (intmax_t)size, nx, nz, opts->dtype == PSFWI_DTYPE_F32 ? "float32" : "float64",
               expected);
    goto fail;
  }
  m = psfwi_model_create(&g, err);
  if (m == NULL) goto fail;

  /* Stream through the file in chunks; k counts values in file order. */
  unsigned char buf[65536];
  const size_t per_chunk = sizeof buf / esize;
  size_t k = 0;
  while (k < n) {
    const size_t want = n - k < per_chunk ? n - k : per_chunk;
    if (fread(buf, esize, want, f) != want) {
      psfwi_fail(err, PSFWI_EIO, "'%s': read failed at value %zu of %zu%s", path, k, n,
                 ferror(f) ? "" : " (file shrank while reading)");
      goto fail;
    }
    for (size_t j = 0; j < want; j++, k++) {
      /* XZ: k = ix * nz + iz; ZX: k = iz * nx + ix (already our layout). */
      const size_t dst = opts->order == PSFWI_ORDER_ZX ? k : (k % nz) * nx + k / nz;
      m->vp[dst] = decode(buf + j * esize, opts->dtype, opts->endian);
    }
  }
  fclose(f);
  f = NULL;
  if (psfwi_model_check(m, path, err) != PSFWI_OK) goto fail;
  return m;
fail:
  if (f != NULL) fclose(f);
  psfwi_model_destroy(m);
  return NULL;
}
