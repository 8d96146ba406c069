/* io: raw binary and NumPy .npy/.npz model import, .npy export. Every file is
 * written here byte by byte (headers, zip records, CRCs computed by this
 * test's own code), so the readers are checked against the formats, not
 * against themselves; one deflated .npz made by Python's zipfile (as
 * numpy.savez_compressed does, zip64 local header) is embedded as bytes. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_io.h"
#include "testutil.h"

/* ---- Byte helpers ------------------------------------------------------------ */
static void put_le(unsigned char *p, uint64_t v, int n) {
  for (int k = 0; k < n; k++) p[k] = (unsigned char)(v >> (8 * k));
}
/* v as float32/float64 bytes in the given byte order. */
static void put_val(unsigned char *p, double v, int esize, int big) {
  uint64_t u;
  if (esize == 4) {
    const float f = (float)v;
    uint32_t w;
    memcpy(&w, &f, 4);
    u = w;
  } else {
    memcpy(&u, &v, 8);
  }
  for (int k = 0; k < esize; k++) p[big ? esize - 1 - k : k] = (unsigned char)(u >> (8 * k));
}
static uint32_t crc32_ref(const unsigned char *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

typedef struct buf {
  unsigned char *p;
  size_t n;
} buf;
static void buf_add(buf *b, const void *data, size_t n) {
  b->p = realloc(b->p, b->n + n + 1);
  assert_non_null(b->p);
  if (n > 0) memcpy(b->p + b->n, data, n);
  b->n += n;
}

/* A .npy: version major.0, the dict text (padded so the header is a multiple
 * of 64 bytes), then data. */
static buf make_npy(int major, const char *dict, const unsigned char *data, size_t dlen) {
  buf b = {NULL, 0};
  const size_t pre = major == 1 ? 10 : 12;
  size_t total = pre + strlen(dict) + 1;
  total = (total + 63) / 64 * 64;
  const size_t hlen = total - pre;
  unsigned char head[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', (unsigned char)major, 0};
  put_le(head + 8, hlen, major == 1 ? 2 : 4);
  buf_add(&b, head, pre);
  buf_add(&b, dict, strlen(dict));
  for (size_t i = strlen(dict); i + 1 < hlen; i++) buf_add(&b, " ", 1);
  buf_add(&b, "\n", 1);
  buf_add(&b, data, dlen);
  return b;
}

/* Values of a test array with n elements: v(k) = 1500 + k + 0.25 (exact in f32). */
static unsigned char *values(size_t n, int esize, int big) {
  unsigned char *d = malloc(n * (size_t)esize + 1);
  assert_non_null(d);
  for (size_t k = 0; k < n; k++)
    put_val(d + k * (size_t)esize, 1500.0 + (double)k + 0.25, esize, big);
  return d;
}
static float val(size_t k) { return (float)(1500.0 + (double)k + 0.25); }

static const char *write_npy(const char *name, int major, const char *dict, size_t n, int esize,
                             int big) {
  unsigned char *d = values(n, esize, big);
  buf b = make_npy(major, dict, d, n * (size_t)esize);
  const char *path = tu_path(name);
  tu_write_file(path, b.p, b.n);
  free(b.p);
  free(d);
  return path;
}

static void expect_npy_fail(const char *path, const psfwi_npy_opts *o, int st, const char *t1,
                            const char *t2) {
  psfwi_error e;
  psfwi_error_clear(&e);
  psfwi_model *m = psfwi_npy_read_model(path, o, &e);
  if (m != NULL || e.status != st || strstr(e.msg, path) == NULL ||
      (t1 && strstr(e.msg, t1) == NULL) || (t2 && strstr(e.msg, t2) == NULL))
    fprintf(stderr, "unexpected: status %d (wanted %d), message: %s\n", e.status, st, e.msg);
  assert_null(m);
  assert_int_equal(e.status, st);
  assert_non_null(strstr(e.msg, path));
  if (t1) assert_non_null(strstr(e.msg, t1));
  if (t2) assert_non_null(strstr(e.msg, t2));
}

/* ---- Zip archives, stored, built here --------------------------------------------- */
typedef struct member {
  const char *name;
  const unsigned char *data;
  size_t len;
} member;

/* zip64cd >= 1: write sizes and offset as 0xFFFFFFFF in the central directory
 * with a zip64 extra field holding the real values; 2: also end the archive
 * with a zip64 end-of-central-directory record and its locator, the 32-bit
 * end record pointing at them (0xFFFF / 0xFFFFFFFF). */
static buf make_zip(const member *mem, size_t n, int zip64cd) {
  buf z = {NULL, 0}, cd = {NULL, 0};
  for (size_t i = 0; i < n; i++) {
    const size_t nl = strlen(mem[i].name);
    const uint32_t crc = crc32_ref(mem[i].data, mem[i].len);
    unsigned char h[46] = {0};
    const size_t off = z.n;
    put_le(h, 0x04034b50u, 4);
    put_le(h + 4, 20, 2);
    put_le(h + 14, crc, 4);
    put_le(h + 18, mem[i].len, 4);
    put_le(h + 22, mem[i].len, 4);
    put_le(h + 26, nl, 2);
    buf_add(&z, h, 30);
    buf_add(&z, mem[i].name, nl);
    buf_add(&z, mem[i].data, mem[i].len);
    memset(h, 0, sizeof h);
    put_le(h, 0x02014b50u, 4);
    put_le(h + 4, 20, 2);
    put_le(h + 6, 20, 2);
    put_le(h + 16, crc, 4);
    put_le(h + 20, zip64cd ? 0xFFFFFFFFu : mem[i].len, 4);
    put_le(h + 24, zip64cd ? 0xFFFFFFFFu : mem[i].len, 4);
    put_le(h + 28, nl, 2);
    put_le(h + 30, zip64cd ? 28 : 0, 2);
    put_le(h + 42, zip64cd ? 0xFFFFFFFFu : off, 4);
    buf_add(&cd, h, 46);
    buf_add(&cd, mem[i].name, nl);
    if (zip64cd) {
      unsigned char x[28];
      put_le(x, 1, 2);
      put_le(x + 2, 24, 2);
      put_le(x + 4, mem[i].len, 8);  /* uncompressed */
      put_le(x + 12, mem[i].len, 8); /* compressed */
      put_le(x + 20, off, 8);        /* local header offset */
      buf_add(&cd, x, 28);
    }
  }
  const size_t cd_off = z.n;
  buf_add(&z, cd.p, cd.n);
  const int z64end = zip64cd == 2;
  if (z64end) {
    const size_t at = z.n;
    unsigned char r[56] = {0}, loc[20] = {0};
    put_le(r, 0x06064b50u, 4);
    put_le(r + 4, 44, 8); /* size of the rest of the record */
    put_le(r + 12, 45, 2);
    put_le(r + 14, 45, 2);
    put_le(r + 24, n, 8);
    put_le(r + 32, n, 8);
    put_le(r + 40, cd.n, 8);
    put_le(r + 48, cd_off, 8);
    buf_add(&z, r, 56);
    put_le(loc, 0x07064b50u, 4);
    put_le(loc + 8, at, 8);
    put_le(loc + 16, 1, 4); /* disks */
    buf_add(&z, loc, 20);
  }
  unsigned char e[22] = {0};
  put_le(e, 0x06054b50u, 4);
  put_le(e + 8, z64end ? 0xFFFFu : n, 2);
  put_le(e + 10, z64end ? 0xFFFFu : n, 2);
  put_le(e + 12, z64end ? 0xFFFFFFFFu : cd.n, 4);
  put_le(e + 16, z64end ? 0xFFFFFFFFu : cd_off, 4);
  buf_add(&z, e, 22);
  free(cd.p);
  return z;
}

/* A deflated .npz from Python's zipfile (force_zip64, as numpy.savez_compressed):
 * member "vp.npy", '<f8', shape (3, 4), value 1500 + 100 iz + 0.5 ix. */
static const unsigned char deflated_npz[] = {
    0x50, 0x4b, 0x03, 0x04, 0x2d, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x00, 0xae, 0xb2,
    0x19, 0x56, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x06, 0x00, 0x14, 0x00, 0x76, 0x70,
    0x2e, 0x6e, 0x70, 0x79, 0x01, 0x00, 0x10, 0x00, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x6e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9b, 0xec, 0x17, 0xea, 0x1b, 0x10, 0xc9, 0xc8,
    0x50, 0xc6, 0x50, 0xad, 0x9e, 0x92, 0x5a, 0x9c, 0x5c, 0xa4, 0x6e, 0xa5, 0xa0, 0x6e, 0x93, 0x66,
    0xa1, 0xae, 0xa3, 0xa0, 0x9e, 0x96, 0x5f, 0x54, 0x52, 0x94, 0x98, 0x17, 0x9f, 0x5f, 0x94, 0x92,
    0x0a, 0x12, 0x77, 0x4b, 0xcc, 0x29, 0x4e, 0x05, 0x8a, 0x17, 0x67, 0x24, 0x16, 0xa4, 0x02, 0xf9,
    0x1a, 0xc6, 0x3a, 0x0a, 0x26, 0x9a, 0x3a, 0x0a, 0xb5, 0x0a, 0x64, 0x03, 0x2e, 0x06, 0x10, 0x28,
    0x98, 0xee, 0x00, 0xa6, 0x8b, 0xa0, 0x74, 0x09, 0x94, 0x2e, 0x83, 0xd2, 0x0c, 0x33, 0x21, 0x34,
    0x13, 0x94, 0x66, 0x81, 0xd2, 0x6c, 0x50, 0x7a, 0xc2, 0x2c, 0x08, 0x3d, 0x09, 0x4a, 0x4f, 0x81,
    0xd2, 0xd3, 0x66, 0x39, 0x00, 0x00, 0x50, 0x4b, 0x01, 0x02, 0x2d, 0x03, 0x2d, 0x00, 0x00, 0x00,
    0x08, 0x00, 0x00, 0x00, 0x21, 0x00, 0xae, 0xb2, 0x19, 0x56, 0x6e, 0x00, 0x00, 0x00, 0xe0, 0x00,
    0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x76, 0x70, 0x2e, 0x6e, 0x70, 0x79, 0x50, 0x4b, 0x05, 0x06, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x34, 0x00, 0x00, 0x00, 0xa6, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static const psfwi_npy_opts zx_opts = {.dx = 10.0, .dz = 0.0, .order = PSFWI_ORDER_ZX};

/* ---- Raw binary ---------------------------------------------------------------------- */
static void test_raw_layouts(void **state) {
  (void)state;
  const size_t nx = 5, nz = 3;
  for (int dt = 0; dt < 2; dt++)
    for (int en = 0; en < 2; en++)
      for (int ord = 0; ord < 2; ord++) {
        const int es = dt ? 8 : 4;
        unsigned char d[5 * 3 * 8];
        /* The model value at (ix, iz) is 2000 + 10 ix + iz, stored in the given order. */
        for (size_t ix = 0; ix < nx; ix++)
          for (size_t iz = 0; iz < nz; iz++) {
            const size_t k = ord == PSFWI_ORDER_XZ ? ix * nz + iz : iz * nx + ix;
            put_val(d + k * (size_t)es, 2000.0 + 10.0 * (double)ix + (double)iz, es, en);
          }
        const char *path = tu_path("layout.bin");
        tu_write_file(path, d, nx * nz * (size_t)es);
        psfwi_raw_opts o = {.nx = nx,
                            .nz = nz,
                            .dx = 7.5,
                            .dz = 0.0,
                            .order = (psfwi_order)ord,
                            .endian = (psfwi_endian)en,
                            .dtype = (psfwi_dtype)dt};
        psfwi_error e;
        psfwi_model *m = psfwi_raw_read_model(path, &o, &e);
        assert_non_null(m);
        assert_true(m->grid.dx == 7.5 && m->grid.dz == 7.5); /* dz <= 0: dz = dx */
        for (size_t ix = 0; ix < nx; ix++)
          for (size_t iz = 0; iz < nz; iz++)
            assert_true(m->vp[iz * nx + ix] == (float)(2000.0 + 10.0 * (double)ix + (double)iz));
        psfwi_model_destroy(m);
      }
  /* A float64 that float32 cannot hold exactly is rounded to nearest. */
  unsigned char d8[8];
  put_val(d8, 1500.1, 8, 0);
  tu_write_file(tu_path("one.bin"), d8, 8);
  psfwi_raw_opts o = {.nx = 1, .nz = 1, .dx = 1.0, .dz = 2.0, .dtype = PSFWI_DTYPE_F64};
  psfwi_model *m = psfwi_raw_read_model(tu_path("one.bin"), &o, NULL);
  assert_non_null(m);
  assert_true(m->vp[0] == (float)1500.1 && m->grid.dz == 2.0);
  psfwi_model_destroy(m);
}

static void expect_raw_fail(const char *path, const psfwi_raw_opts *o, int st, const char *t1,
                            const char *t2) {
  psfwi_error e;
  psfwi_error_clear(&e);
  psfwi_model *m = psfwi_raw_read_model(path, o, &e);
  if (m != NULL || e.status != st) fprintf(stderr, "unexpected: %d %s\n", e.status, e.msg);
  assert_null(m);
  assert_int_equal(e.status, st);
  assert_non_null(strstr(e.msg, path));
  if (t1) assert_non_null(strstr(e.msg, t1));
  if (t2) assert_non_null(strstr(e.msg, t2));
}

static void test_raw_errors(void **state) {
  (void)state;
  unsigned char d[4 * 12];
  for (size_t k = 0; k < 12; k++) put_val(d + 4 * k, 1800.0, 4, 0);
  const char *p = tu_path("r.bin");
  tu_write_file(p, d, 4 * 12);
  psfwi_raw_opts o = {.nx = 4, .nz = 3, .dx = 5.0};
  psfwi_model *m = psfwi_raw_read_model(p, &o, NULL);
  assert_non_null(m);
  psfwi_model_destroy(m);
  /* Wrong sizes: the message says what was expected and what was found. */
  o.nz = 4;
  expect_raw_fail(p, &o, PSFWI_EFORMAT, "holds 48 bytes", "need 64 bytes");
  o.nz = 3;
  o.dtype = PSFWI_DTYPE_F64;
  expect_raw_fail(p, &o, PSFWI_EFORMAT, "float64", "need 96 bytes");
  o.dtype = PSFWI_DTYPE_F32;
  tu_write_file(tu_path("short.bin"), d, 47);
  expect_raw_fail(tu_path("short.bin"), &o, PSFWI_EFORMAT, "holds 47 bytes", "need 48");
  expect_raw_fail(tu_path("absent.bin"), &o, PSFWI_EIO, "cannot open", NULL);
  /* Bad options. */
  o.nx = 0;
  expect_raw_fail(p, &o, PSFWI_ERANGE, NULL, NULL);
  o.nx = 4;
  o.dx = 0.0;
  expect_raw_fail(p, &o, PSFWI_ERANGE, "dx = 0", NULL);
  o.dx = 5.0;
  o.order = (psfwi_order)7;
  expect_raw_fail(p, &o, PSFWI_EINVAL, "order", NULL);
  o.order = PSFWI_ORDER_XZ;
  o.nx = (size_t)1 << 62;
  o.nz = 1 << 10; /* product overflows */
  expect_raw_fail(p, &o, PSFWI_ERANGE, NULL, NULL);
  o.nx = 4;
  o.nz = 3;
  expect_raw_fail(p, NULL, PSFWI_EINVAL, NULL, NULL);
  /* Bad values: NaN, negative, and a float64 beyond float32's range. */
  put_val(d + 4 * 5, NAN, 4, 0); /* XZ: k = 5 is ix = 1, iz = 2 */
  tu_write_file(p, d, 48);
  expect_raw_fail(p, &o, PSFWI_ENONFINITE, "ix = 1, iz = 2", NULL);
  put_val(d + 4 * 5, -1.0, 4, 0);
  tu_write_file(p, d, 48);
  expect_raw_fail(p, &o, PSFWI_ERANGE, "ix = 1, iz = 2", NULL);
  unsigned char d8[8];
  put_val(d8, 1e300, 8, 1);
  tu_write_file(p, d8, 8);
  psfwi_raw_opts o8 = {
      .nx = 1, .nz = 1, .dx = 1.0, .endian = PSFWI_ENDIAN_BIG, .dtype = PSFWI_DTYPE_F64};
  expect_raw_fail(p, &o8, PSFWI_ENONFINITE, NULL, NULL);
}

/* ---- .npy ------------------------------------------------------------------------------- */
static void test_npy_2d(void **state) {
  (void)state;
  psfwi_error e;
  /* C order (nz = 3, nx = 4): file element k = iz * 4 + ix. */
  const char *p = write_npy(
      "c.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", 12, 4, 0);
  psfwi_model *m = psfwi_npy_read_model(p, &zx_opts, &e);
  assert_non_null(m);
  assert_int_equal(m->grid.nx, 4);
  assert_int_equal(m->grid.nz, 3);
  assert_true(m->grid.dx == 10.0 && m->grid.dz == 10.0);
  for (size_t k = 0; k < 12; k++) assert_true(m->vp[k] == val(k));
  psfwi_model_destroy(m);
  /* The same file read as (nx, nz): element k = ix * 3 + iz. */
  psfwi_npy_opts xz = {.dx = 2.0, .dz = 3.0, .order = PSFWI_ORDER_XZ};
  m = psfwi_npy_read_model(p, &xz, &e);
  assert_non_null(m);
  assert_int_equal(m->grid.nx, 3);
  assert_int_equal(m->grid.nz, 4);
  assert_true(m->grid.dz == 3.0);
  for (size_t ix = 0; ix < 3; ix++)
    for (size_t iz = 0; iz < 4; iz++) assert_true(m->vp[iz * 3 + ix] == val(ix * 4 + iz));
  psfwi_model_destroy(m);

  /* Big-endian float64, Fortran order, version 2.0, double quotes, no
   * trailing comma: element (iz, ix) at iz + 3 ix. */
  p = write_npy("f.npy", 2, "{\"descr\": \">f8\", \"fortran_order\": True, \"shape\": (3, 4)}", 12,
                8, 1);
  m = psfwi_npy_read_model(p, &zx_opts, &e);
  assert_non_null(m);
  for (size_t iz = 0; iz < 3; iz++)
    for (size_t ix = 0; ix < 4; ix++) assert_true(m->vp[iz * 4 + ix] == val(iz + 3 * ix));
  psfwi_model_destroy(m);
  /* Version 3.0 and little-endian float64; axes of length 1 are dropped. */
  p = write_npy("v3.npy", 3, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3, 1, 4), }",
                12, 8, 0);
  m = psfwi_npy_read_model(p, &zx_opts, &e);
  assert_non_null(m);
  assert_int_equal(m->grid.nx, 4);
  for (size_t k = 0; k < 12; k++) assert_true(m->vp[k] == val(k));
  psfwi_model_destroy(m);
  /* '>f4' */
  p = write_npy("be4.npy", 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", 4, 4,
                1);
  m = psfwi_npy_read_model(p, &zx_opts, &e);
  assert_non_null(m);
  for (size_t k = 0; k < 4; k++) assert_true(m->vp[k] == val(k));
  psfwi_model_destroy(m);
}

static void test_npy_index(void **state) {
  (void)state;
  psfwi_error e;
  /* OpenFWI-like (5, 1, 3, 4) in C order: model j is elements j * 12 ... */
  const char *p =
      write_npy("stack.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (5, 1, 3, 4), }",
                60, 4, 0);
  for (size_t j = 0; j < 5; j += 2) {
    psfwi_npy_opts o = zx_opts;
    o.index = j;
    o.has_index = 1;
    psfwi_model *m = psfwi_npy_read_model(p, &o, &e);
    assert_non_null(m);
    assert_int_equal(m->grid.nx, 4);
    assert_int_equal(m->grid.nz, 3);
    for (size_t k = 0; k < 12; k++) assert_true(m->vp[k] == val(j * 12 + k));
    psfwi_model_destroy(m);
  }
  /* No index given: an error naming the count, never model 0 silently. */
  psfwi_npy_opts o = zx_opts;
  expect_npy_fail(p, &o, PSFWI_EINVAL, "shape (5, 1, 3, 4) holds 5 models",
                  "choose one with --index I (0..4)");
  o.index = 3; /* ignored without has_index */
  expect_npy_fail(p, &o, PSFWI_EINVAL, "holds 5 models", NULL);
  o.has_index = 1;
  o.index = 5;
  expect_npy_fail(p, &o, PSFWI_ERANGE, "index 5", "holds 5 models");
  /* The same in Fortran order: element (j, 0, iz, ix) at j + 5 (iz + 3 ix). */
  p = write_npy("stackf.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (5, 1, 3, 4), }",
                60, 4, 0);
  o.index = 3;
  psfwi_model *m = psfwi_npy_read_model(p, &o, &e);
  assert_non_null(m);
  for (size_t iz = 0; iz < 3; iz++)
    for (size_t ix = 0; ix < 4; ix++) assert_true(m->vp[iz * 4 + ix] == val(3 + 5 * (iz + 3 * ix)));
  psfwi_model_destroy(m);
  /* A single model takes no index (index 0, or none). */
  p = write_npy("single.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 4), }",
                12, 4, 0);
  o.index = 1;
  expect_npy_fail(p, &o, PSFWI_ERANGE, "index 1", "single model");
  o.has_index = 0;
  m = psfwi_npy_read_model(p, &o, &e);
  assert_non_null(m);
  psfwi_model_destroy(m);
  o.has_index = 1;
  /* Not a model: 1D, or 4 axes longer than 1. */
  o.index = 0;
  p = write_npy("vec.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (12,), }", 12, 4,
                0);
  expect_npy_fail(p, &o, PSFWI_EFORMAT, "(12,)", "not a model");
  p = write_npy("4d.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, 3, 1, 2), }",
                24, 4, 0);
  expect_npy_fail(p, &o, PSFWI_EFORMAT, "(2, 2, 3, 1, 2)", "not a model");
  /* A 2D array with an axis of length 1 is a model (one row). */
  p = write_npy("row.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 6), }", 6, 4,
                0);
  m = psfwi_npy_read_model(p, &o, &e);
  assert_non_null(m);
  assert_int_equal(m->grid.nz, 1);
  assert_int_equal(m->grid.nx, 6);
  psfwi_model_destroy(m);
}

static void test_npy_errors(void **state) {
  (void)state;
  const psfwi_npy_opts *o = &zx_opts;
  const char *ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";
  const char *p;
  buf b;
  p = write_npy("i4.npy", 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3, 4), }", 12, 4,
                0);
  expect_npy_fail(p, o, PSFWI_EUNSUPPORTED, "'<i4'", "float32 or float64");
  p = write_npy("f2.npy", 1, "{'descr': '<f2', 'fortran_order': False, 'shape': (3, 4), }", 6, 4,
                0);
  expect_npy_fail(p, o, PSFWI_EUNSUPPORTED, "'<f2'", NULL);
  p = write_npy("rec.npy", 1,
                "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3, 4), }", 12, 4, 0);
  expect_npy_fail(p, o, PSFWI_EUNSUPPORTED, "structured", NULL);
  p = write_npy("noshape.npy", 1, "{'descr': '<f4', 'fortran_order': False, }", 12, 4, 0);
  expect_npy_fail(p, o, PSFWI_EFORMAT, "no 'shape'", NULL);
  p = write_npy("extra.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), 'x': 1}",
                12, 4, 0);
  expect_npy_fail(p, o, PSFWI_EFORMAT, "key 'x'", NULL);
  p = write_npy("open.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), ", 12, 4,
                0);
  expect_npy_fail(p, o, PSFWI_EFORMAT, "malformed header", NULL);
  p = write_npy("order.npy", 1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (3, 4), }", 12, 4,
                0);
  expect_npy_fail(p, o, PSFWI_EFORMAT, "fortran_order", NULL);
  p = write_npy("shape.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, -4), }", 12,
                4, 0);
  expect_npy_fail(p, o, PSFWI_EFORMAT, "'shape'", NULL);
  p = write_npy("huge.npy", 1,
                "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999, "
                "99999999), }",
                12, 4, 0);
  expect_npy_fail(p, o, PSFWI_EFORMAT, "absurdly large", NULL);
  p = write_npy("ovf.npy", 1,
                "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999, 1), }",
                12, 4, 0);
  expect_npy_fail(p, o, PSFWI_EFORMAT, "'shape'", NULL);
  /* The product of the shape overflows 64 bits (also with a zero axis, which
   * would make the element count 0 but the strides overflow). */
  p = write_npy("ovf2.npy", 1,
                "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 12,
                4, 0);
  expect_npy_fail(p, o, PSFWI_EFORMAT, "(4294967296, 4294967296)", "overflows 64 bits");
  p = write_npy("ovf0.npy", 1,
                "{'descr': '<f8', 'fortran_order': True, 'shape': (0, 4294967296, 4294967296), }",
                0, 8, 0);
  expect_npy_fail(p, o, PSFWI_EFORMAT, "absurdly large", NULL);
  /* A header claiming far more data than the file holds: refused before
   * anything is allocated. */
  p = write_npy("claim.npy", 1,
                "{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }", 6, 8, 0);
  expect_npy_fail(p, o, PSFWI_EFORMAT, "needs 80000000000 bytes", "found 48 (truncated)");
  /* Unterminated tuple, string and dict; missing keys; bytes NumPy never
   * writes; dtypes other than float32/float64. */
  p = write_npy("tuple.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4", 12, 4,
                0);
  expect_npy_fail(p, o, PSFWI_EFORMAT, "malformed header", "'shape'");
  p = write_npy("str.npy", 1, "{'descr': '<f4", 12, 4, 0);
  expect_npy_fail(p, o, PSFWI_EFORMAT, "malformed header", "'descr'");
  p = write_npy("dict.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4)", 12, 4,
                0);
  expect_npy_fail(p, o, PSFWI_EFORMAT, "malformed header", "',' or '}'");
  p = write_npy("nodescr.npy", 1, "{'fortran_order': False, 'shape': (3, 4), }", 12, 4, 0);
  expect_npy_fail(p, o, PSFWI_EFORMAT, "no 'descr'", NULL);
  p = write_npy("noorder.npy", 1, "{'descr': '<f4', 'shape': (3, 4), }", 12, 4, 0);
  expect_npy_fail(p, o, PSFWI_EFORMAT, "no 'fortran_order'", NULL);
  p = write_npy("latin1.npy", 1,
                "{'descr': '<f\xe9"
                "4', 'fortran_order': False, 'shape': (3, 4), }",
                12, 4, 0);
  expect_npy_fail(p, o, PSFWI_EFORMAT, "byte 0xe9 at offset 23", "not printable ASCII");
  b = make_npy(1, ok, NULL, 0);
  b.p[20] = '\0';
  tu_write_file(tu_path("nul.npy"), b.p, b.n);
  expect_npy_fail(tu_path("nul.npy"), o, PSFWI_EFORMAT, "byte 0x00 at offset 20", NULL);
  free(b.p);
  p = write_npy("u1.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 4), }", 3, 4,
                0);
  expect_npy_fail(p, o, PSFWI_EUNSUPPORTED, "'|u1'", "float32 or float64");
  p = write_npy("c8.npy", 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (3, 4), }", 24, 4,
                0);
  expect_npy_fail(p, o, PSFWI_EUNSUPPORTED, "'<c8'", NULL);
  /* The header length points past the end of the file (a 1.0 length of
   * 60000 in a 128-byte file, a 2.0 one of 1 MiB). */
  b = make_npy(1, ok, NULL, 0);
  put_le(b.p + 8, 60000, 2);
  tu_write_file(tu_path("hlen1.npy"), b.p, b.n);
  expect_npy_fail(tu_path("hlen1.npy"), o, PSFWI_EFORMAT, "header claims 60000 bytes", "truncated");
  free(b.p);
  b = make_npy(2, ok, NULL, 0);
  put_le(b.p + 8, 1u << 20, 4);
  tu_write_file(tu_path("hlen2.npy"), b.p, b.n);
  expect_npy_fail(tu_path("hlen2.npy"), o, PSFWI_EFORMAT, "header claims 1048576 bytes", NULL);
  free(b.p);
  /* Data sizes: truncated and trailing bytes. */
  p = write_npy("trunc.npy", 1, ok, 11, 4, 0);
  expect_npy_fail(p, o, PSFWI_EFORMAT, "truncated", "needs 48 bytes");
  p = write_npy("long.npy", 1, ok, 13, 4, 0);
  expect_npy_fail(p, o, PSFWI_EFORMAT, "found 52", NULL);
  /* Preamble: magic, version, header length, tiny files. */
  b = make_npy(1, ok, NULL, 0);
  b.p[1] = 'X';
  tu_write_file(tu_path("magic.npy"), b.p, b.n);
  expect_npy_fail(tu_path("magic.npy"), o, PSFWI_EFORMAT, "NUMPY", NULL);
  b.p[1] = 'N';
  b.p[6] = 4;
  tu_write_file(tu_path("v4.npy"), b.p, b.n);
  expect_npy_fail(tu_path("v4.npy"), o, PSFWI_EUNSUPPORTED, "version 4.0", NULL);
  b.p[6] = 1;
  tu_write_file(tu_path("hdr_cut.npy"), b.p, 40);
  expect_npy_fail(tu_path("hdr_cut.npy"), o, PSFWI_EFORMAT, "truncated", NULL);
  free(b.p);
  b = make_npy(2, ok, NULL, 0);
  put_le(b.p + 8, 0xFFFFFFF0u, 4);
  tu_write_file(tu_path("hlen.npy"), b.p, b.n);
  expect_npy_fail(tu_path("hlen.npy"), o, PSFWI_EFORMAT, "absurd", NULL);
  free(b.p);
  tu_write_file(tu_path("tiny.npy"), "\x93NUM", 4);
  expect_npy_fail(tu_path("tiny.npy"), o, PSFWI_EFORMAT, "not a .npy", NULL);
  tu_write_file(tu_path("empty.npy"), "", 0);
  expect_npy_fail(tu_path("empty.npy"), o, PSFWI_EFORMAT, "not a .npy", NULL);
  expect_npy_fail(tu_path("absent.npy"), o, PSFWI_EIO, "cannot open", NULL);
  /* Options: the spacing is required. */
  p = write_npy("fine.npy", 1, ok, 12, 4, 0);
  psfwi_npy_opts nodx = {.order = PSFWI_ORDER_ZX};
  expect_npy_fail(p, &nodx, PSFWI_EINVAL, "dx", NULL);
  expect_npy_fail(p, NULL, PSFWI_EINVAL, "dx", NULL);
  /* Values: a NaN inside, a negative velocity. */
  unsigned char *d = values(12, 4, 0);
  put_val(d + 4 * 6, NAN, 4, 0); /* (iz = 1, ix = 2) */
  b = make_npy(1, ok, d, 48);
  tu_write_file(tu_path("nan.npy"), b.p, b.n);
  expect_npy_fail(tu_path("nan.npy"), o, PSFWI_ENONFINITE, "ix = 2, iz = 1", NULL);
  free(b.p);
  put_val(d + 4 * 6, -5.0, 4, 0);
  b = make_npy(1, ok, d, 48);
  tu_write_file(tu_path("neg.npy"), b.p, b.n);
  expect_npy_fail(tu_path("neg.npy"), o, PSFWI_ERANGE, "ix = 2, iz = 1", NULL);
  free(b.p);
  free(d);
}

static void test_npy_write(void **state) {
  (void)state;
  psfwi_error e;
  psfwi_grid g = {.nx = 7, .nz = 5, .dx = 3.0, .dz = 3.0};
  psfwi_model *m = psfwi_model_create(&g, &e);
  assert_non_null(m);
  for (size_t i = 0; i < 35; i++) m->vp[i] = (float)(1500.0 + 100.0 * sin((double)i));
  const char *p = tu_path("w.npy");
  assert_int_equal(psfwi_npy_write_model(p, m, &e), PSFWI_OK);
  /* The bytes: a NumPy 1.0 header of 128 bytes (as NumPy pads it), then
   * little-endian float32 rows. */
  FILE *f = fopen(p, "rb");
  assert_non_null(f);
  unsigned char b[128 + 35 * 4 + 1];
  assert_int_equal(fread(b, 1, sizeof b, f), 128 + 35 * 4);
  fclose(f);
  assert_memory_equal(b, "\x93NUMPY\x01\x00", 8);
  assert_int_equal(b[8] | (b[9] << 8), 118);
  assert_int_equal(b[127], '\n');
  assert_int_equal(b[126], ' ');
  const char *want = "{'descr': '<f4', 'fortran_order': False, 'shape': (5, 7), }";
  assert_memory_equal(b + 10, want, strlen(want));
  for (size_t i = 0; i < 35; i++) {
    uint32_t u = 0, w;
    for (int k = 0; k < 4; k++) u |= (uint32_t)b[128 + 4 * i + (size_t)k] << (8 * k);
    memcpy(&w, &m->vp[i], 4);
    assert_int_equal(u, w);
  }
  psfwi_npy_opts o = {.dx = 3.0, .order = PSFWI_ORDER_ZX};
  psfwi_model *r = psfwi_npy_read_model(p, &o, &e);
  assert_non_null(r);
  assert_memory_equal(r->vp, m->vp, 35 * sizeof(float));
  psfwi_model_destroy(r);
  /* A bad model is not written; nor into a missing folder. */
  m->vp[3] = NAN;
  assert_int_equal(psfwi_npy_write_model(tu_path("bad.npy"), m, &e), PSFWI_ENONFINITE);
  assert_false(tu_exists(tu_path("bad.npy")));
  m->vp[3] = 1500.0f;
  assert_int_equal(psfwi_npy_write_model(tu_path("no/dir/x.npy"), m, &e), PSFWI_EIO);
  assert_non_null(strstr(e.msg, "no/dir/x.npy"));
  psfwi_model_destroy(m);
}

/* ---- .npz ------------------------------------------------------------------------------- */
static void test_npz_stored(void **state) {
  (void)state;
  psfwi_error e;
  unsigned char *d = values(12, 4, 0);
  buf vp = make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", d, 48);
  unsigned char *d2 = values(6, 8, 1);
  buf other = make_npy(1, "{'descr': '>f8', 'fortran_order': False, 'shape': (2, 3), }", d2, 48);
  member two[2] = {{"a.npy", other.p, other.n}, {"vp.npy", vp.p, vp.n}};
  for (int z64 = 0; z64 < 3; z64++) {
    buf z = make_zip(two, 2, z64);
    const char *p = tu_path("two.npz");
    tu_write_file(p, z.p, z.n);
    free(z.p);
    /* No key, several members: "vp". */
    psfwi_model *m = psfwi_npy_read_model(p, &zx_opts, &e);
    assert_non_null(m);
    assert_int_equal(m->grid.nx, 4);
    for (size_t k = 0; k < 12; k++) assert_true(m->vp[k] == val(k));
    psfwi_model_destroy(m);
    /* A named key, with or without ".npy". */
    psfwi_npy_opts o = zx_opts;
    o.key = "a";
    m = psfwi_npy_read_model(p, &o, &e);
    assert_non_null(m);
    assert_int_equal(m->grid.nx, 3);
    assert_int_equal(m->grid.nz, 2);
    for (size_t k = 0; k < 6; k++) assert_true(m->vp[k] == val(k));
    psfwi_model_destroy(m);
    o.key = "a.npy";
    m = psfwi_npy_read_model(p, &o, &e);
    assert_non_null(m);
    psfwi_model_destroy(m);
    o.key = "rho";
    expect_npy_fail(p, &o, PSFWI_EKEY, "'rho'", "available: a, vp");
  }
  /* One member: taken whatever its name. Two, neither "vp": an error listing them. */
  member one[1] = {{"model.npy", vp.p, vp.n}};
  buf z = make_zip(one, 1, 0);
  tu_write_file(tu_path("one.npz"), z.p, z.n);
  free(z.p);
  psfwi_model *m = psfwi_npy_read_model(tu_path("one.npz"), &zx_opts, &e);
  assert_non_null(m);
  psfwi_model_destroy(m);
  member novp[2] = {{"a.npy", other.p, other.n}, {"b.npy", vp.p, vp.n}};
  z = make_zip(novp, 2, 0);
  tu_write_file(tu_path("novp.npz"), z.p, z.n);
  expect_npy_fail(tu_path("novp.npz"), &zx_opts, PSFWI_EKEY, "none is 'vp'", "available: a, b");
  /* Damage. ZIP_CHECKCONS compares each local header with the directory, so
   * a field changed in one copy is an inconsistent archive; changed in both,
   * it reaches the member's own checks. a.npy's local header is at byte 0. */
  const size_t cd = z.n - 22 - 2 * (46 + 5);
  unsigned char *c = malloc(z.n);
  assert_non_null(c);
  psfwi_npy_opts oa = zx_opts;
  oa.key = "a";
  memcpy(c, z.p, z.n);
  c[cd + 16] ^= 1; /* CRC of a.npy in the directory only */
  tu_write_file(tu_path("crc1.npz"), c, z.n);
  expect_npy_fail(tu_path("crc1.npz"), &oa, PSFWI_EFORMAT, "inconsistent zip archive",
                  "members: a, b");
  c[14] ^= 1; /* and in the local header: the data no longer matches */
  tu_write_file(tu_path("crc.npz"), c, z.n);
  expect_npy_fail(tu_path("crc.npz"), &oa, PSFWI_EFORMAT, "member 'a.npy': CRC-32 mismatch", NULL);
  memcpy(c, z.p, z.n);
  c[30 + 5 + 80] ^= 0x40; /* a byte of a.npy's data */
  tu_write_file(tu_path("data.npz"), c, z.n);
  expect_npy_fail(tu_path("data.npz"), &oa, PSFWI_EFORMAT, "member 'a.npy'", "CRC-32");
  tu_write_file(tu_path("noend.npz"), z.p, z.n - 10);
  expect_npy_fail(tu_path("noend.npz"), &oa, PSFWI_EFORMAT, "end-of-central-directory", NULL);
  tu_write_file(tu_path("cut.npz"), z.p, cd - 7); /* cut inside b.npy's data */
  expect_npy_fail(tu_path("cut.npz"), &oa, PSFWI_EFORMAT, "not a zip archive", NULL);
  memcpy(c, z.p, z.n);
  put_le(c + z.n - 6, 0x7FFFFFF0u, 4); /* directory offset */
  tu_write_file(tu_path("cdoff.npz"), c, z.n);
  expect_npy_fail(tu_path("cdoff.npz"), &oa, PSFWI_EFORMAT, "central directory", NULL);
  memcpy(c, z.p, z.n);
  put_le(c + z.n - 12, 500, 2); /* 500 entries in a 2-entry directory */
  tu_write_file(tu_path("count.npz"), c, z.n);
  expect_npy_fail(tu_path("count.npz"), &oa, PSFWI_EFORMAT, "not a zip archive", NULL);
  memcpy(c, z.p, z.n);
  put_le(c + 8, 12, 2); /* bzip2, in both headers */
  put_le(c + cd + 10, 12, 2);
  tu_write_file(tu_path("bz.npz"), c, z.n);
  expect_npy_fail(tu_path("bz.npz"), &oa, PSFWI_EUNSUPPORTED, "member 'a.npy' uses", "method 12");
  memcpy(c, z.p, z.n);
  put_le(c + 6, 1, 2); /* encrypted */
  put_le(c + cd + 8, 1, 2);
  tu_write_file(tu_path("enc.npz"), c, z.n);
  expect_npy_fail(tu_path("enc.npz"), &oa, PSFWI_EUNSUPPORTED, "member 'a.npy' is encrypted", NULL);
  memcpy(c, z.p, z.n);
  put_le(c + cd + 42, 9999, 4); /* local header offset */
  tu_write_file(tu_path("lho.npz"), c, z.n);
  expect_npy_fail(tu_path("lho.npz"), &oa, PSFWI_EFORMAT, NULL, NULL);
  memcpy(c, z.p, z.n);
  put_le(c + 18, 47, 4); /* stored, sizes differ (in both headers) */
  put_le(c + cd + 20, 47, 4);
  tu_write_file(tu_path("sizes.npz"), c, z.n);
  expect_npy_fail(tu_path("sizes.npz"), &oa, PSFWI_EFORMAT, "member 'a.npy' is stored",
                  "sizes differ (47 and 176 bytes)");
  memcpy(c, z.p, z.n);
  put_le(c + 18, 2000, 4); /* stored, claims more than the archive holds */
  put_le(c + 22, 2000, 4);
  put_le(c + cd + 20, 2000, 4);
  put_le(c + cd + 24, 2000, 4);
  tu_write_file(tu_path("big.npz"), c, z.n);
  expect_npy_fail(tu_path("big.npz"), &oa, PSFWI_EFORMAT, NULL, NULL);
  memcpy(c, z.p, z.n);
  put_le(c + cd + 28, 4000, 2); /* name runs past the directory */
  tu_write_file(tu_path("name.npz"), c, z.n);
  expect_npy_fail(tu_path("name.npz"), &oa, PSFWI_EFORMAT, "inconsistent", NULL);
  tu_write_file(tu_path("emptyzip.npz"), c + z.n - 22, 22);
  expect_npy_fail(tu_path("emptyzip.npz"), &oa, PSFWI_EFORMAT, "empty zip", NULL);
  free(c);
  free(z.p);
  free(vp.p);
  free(other.p);
  free(d);
  free(d2);
}

static void test_npz_deflated(void **state) {
  (void)state;
  psfwi_error e;
  const size_t n = sizeof deflated_npz;
  const char *p = tu_path("py.npz");
  tu_write_file(p, deflated_npz, n);
  psfwi_model *m = psfwi_npy_read_model(p, &zx_opts, &e);
  if (m == NULL) fprintf(stderr, "%s\n", e.msg);
  assert_non_null(m);
  assert_int_equal(m->grid.nx, 4);
  assert_int_equal(m->grid.nz, 3);
  for (size_t iz = 0; iz < 3; iz++)
    for (size_t ix = 0; ix < 4; ix++)
      assert_true(m->vp[iz * 4 + ix] == (float)(1500.0 + 100.0 * (double)iz + 0.5 * (double)ix));
  psfwi_model_destroy(m);
  /* Find the central directory entry, then damage the member. */
  size_t cd = 0;
  for (size_t i = 0; i + 4 <= n; i++)
    if (memcmp(deflated_npz + i, "PK\x01\x02", 4) == 0) cd = i;
  assert_true(cd > 0);
  /* The local header carries the sizes in its zip64 extra field: the
   * uncompressed at byte 40, the compressed at 48; both headers are changed
   * together, else the archive is merely inconsistent. */
  const size_t data = 30 + 6 + 20; /* local header, "vp.npy", zip64 extra */
  unsigned char *c = malloc(n);
  assert_non_null(c);
  memcpy(c, deflated_npz, n);
  c[data + 3] ^= 0xFF; /* the deflate stream */
  tu_write_file(p, c, n);
  expect_npy_fail(p, &zx_opts, PSFWI_EFORMAT, "member 'vp.npy'", NULL);
  memcpy(c, deflated_npz, n);
  put_le(c + cd + 24, 225, 4); /* the directory alone */
  tu_write_file(p, c, n);
  expect_npy_fail(p, &zx_opts, PSFWI_EFORMAT, "inconsistent", "members: vp");
  put_le(c + 40, 225, 8); /* one byte more than the stream inflates to */
  tu_write_file(p, c, n);
  expect_npy_fail(p, &zx_opts, PSFWI_EFORMAT, "member 'vp.npy'", NULL);
  put_le(c + cd + 24, 223, 4); /* one byte less */
  put_le(c + 40, 223, 8);
  tu_write_file(p, c, n);
  expect_npy_fail(p, &zx_opts, PSFWI_EFORMAT, "member 'vp.npy'", NULL);
  put_le(c + cd + 24, 0x7FFFFFF0u, 4); /* absurd uncompressed size */
  put_le(c + 40, 0x7FFFFFF0u, 8);
  tu_write_file(p, c, n);
  expect_npy_fail(p, &zx_opts, PSFWI_EFORMAT, "member 'vp.npy' claims 2147483632 bytes",
                  "impossible for deflate");
  memcpy(c, deflated_npz, n);
  put_le(c + cd + 20, 60, 4); /* compressed size cut: the stream ends early */
  put_le(c + 48, 60, 8);
  tu_write_file(p, c, n);
  expect_npy_fail(p, &zx_opts, PSFWI_EFORMAT, "member 'vp.npy'", NULL);
  memcpy(c, deflated_npz, n);
  c[cd + 16] ^= 0x10; /* CRC, in both headers */
  c[14] ^= 0x10;
  tu_write_file(p, c, n);
  expect_npy_fail(p, &zx_opts, PSFWI_EFORMAT, "member 'vp.npy'", "CRC-32");
  tu_write_file(p, deflated_npz, cd + 10); /* cut inside the directory */
  expect_npy_fail(p, &zx_opts, PSFWI_EFORMAT, "not a zip archive", NULL);
  /* Above the 4 GiB limit: 5 GiB stated in the local zip64 field and in one
   * added to the directory entry (sizes there 0xFFFFFFFF). */
  const size_t eocd = n - 22;
  unsigned char *h = malloc(n + 12);
  assert_non_null(h);
  memcpy(h, deflated_npz, eocd);
  put_le(h + 40, (uint64_t)5 << 30, 8);
  put_le(h + cd + 24, 0xFFFFFFFFu, 4);
  put_le(h + cd + 30, 12, 2);
  unsigned char x[12];
  put_le(x, 1, 2);
  put_le(x + 2, 8, 2);
  put_le(x + 4, (uint64_t)5 << 30, 8);
  memcpy(h + eocd, x, 12);
  memcpy(h + eocd + 12, deflated_npz + eocd, 22);
  put_le(h + eocd + 12 + 12, 46 + 6 + 12, 4); /* directory size */
  tu_write_file(p, h, n + 12);
  expect_npy_fail(p, &zx_opts, PSFWI_ERANGE, "member 'vp.npy' holds 5368709120 bytes",
                  "limit of 4 GiB");
  free(h);
  free(c);
}

/* Files written by NumPy itself (tests/data/README.md): savez (stored) and
 * savez_compressed (deflated), members "a" float32 (5, 1, 3, 4) and "vp"
 * big-endian float64 (2, 3). */
static void test_npz_numpy(void **state) {
  (void)state;
  const char *names[2] = {PSFWI_SOURCE_DIR "/tests/data/numpy_savez.npz",
                          PSFWI_SOURCE_DIR "/tests/data/numpy_savez_compressed.npz"};
  const double want[6] = {1500.5, 1501.5, 1502.5, 1600.25, 1601.25, 1602.25};
  for (int k = 0; k < 2; k++) {
    const char *p = names[k];
    psfwi_error e;
    psfwi_model *m = psfwi_npy_read_model(p, &zx_opts, &e); /* no key: "vp" */
    if (m == NULL) fprintf(stderr, "%s\n", e.msg);
    assert_non_null(m);
    assert_int_equal(m->grid.nx, 3);
    assert_int_equal(m->grid.nz, 2);
    for (size_t i = 0; i < 6; i++) assert_true(m->vp[i] == (float)want[i]);
    psfwi_model_destroy(m);
    psfwi_npy_opts o = zx_opts;
    o.key = "a.npy";
    expect_npy_fail(p, &o, PSFWI_EINVAL, "member 'a.npy': array of shape (5, 1, 3, 4)",
                    "holds 5 models; choose one with --index I (0..4)");
    o.key = "a";
    o.has_index = 1;
    o.index = 4;
    m = psfwi_npy_read_model(p, &o, &e);
    assert_non_null(m);
    assert_int_equal(m->grid.nx, 4);
    assert_int_equal(m->grid.nz, 3);
    for (size_t i = 0; i < 12; i++) assert_true(m->vp[i] == (float)(1548 + i));
    psfwi_model_destroy(m);
    o.key = "vpx";
    expect_npy_fail(p, &o, PSFWI_EKEY, "no array 'vpx'", "available: a, vp");
  }
  /* Detected by content, not by name: the .npz named .npy and the reverse. */
  FILE *f = fopen(names[1], "rb");
  assert_non_null(f);
  unsigned char z[512];
  assert_int_equal(fread(z, 1, sizeof z, f), sizeof z);
  fclose(f);
  tu_write_file(tu_path("zip.npy"), z, sizeof z);
  psfwi_error e;
  psfwi_model *m = psfwi_npy_read_model(tu_path("zip.npy"), &zx_opts, &e);
  assert_non_null(m);
  psfwi_model_destroy(m);
  const char *p = write_npy(
      "plain.npz", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", 12, 4, 0);
  m = psfwi_npy_read_model(p, &zx_opts, &e);
  assert_non_null(m);
  psfwi_model_destroy(m);
}

/* Random damage to valid files (.npy, stored and deflated .npz, NumPy's
 * own): whatever the bytes, the reader returns a model or an error naming
 * the file, never crashes (run under ASan in CI). A fixed LCG: repeatable. */
static uint64_t lcg(uint64_t *s) {
  *s = *s * 6364136223846793005u + 1442695040888963407u;
  return *s >> 33;
}
static void fuzz_one(const unsigned char *orig, size_t n, uint64_t *seed, int rounds) {
  unsigned char *c = malloc(n + 1);
  assert_non_null(c);
  const char *p = tu_path("fuzz.bin");
  psfwi_npy_opts o = zx_opts;
  o.has_index = 1;
  for (int r = 0; r < rounds; r++) {
    memcpy(c, orig, n);
    const int flips = 1 + (int)(lcg(seed) % 4);
    for (int k = 0; k < flips; k++) {
      const size_t at = (size_t)(lcg(seed) % n);
      switch (lcg(seed) % 4) {
        case 0: c[at] = (unsigned char)lcg(seed); break;
        case 1: c[at] ^= (unsigned char)(1u << (lcg(seed) % 8)); break;
        case 2:
          c[at] = 0xFF; /* sizes and offsets at their maximum */
          break;
        default: c[at] = (unsigned char)(c[at] + 1);
      }
    }
    const size_t len = lcg(seed) % 8 == 0 ? (size_t)(lcg(seed) % n) : n; /* truncated */
    tu_write_file(p, c, len);
    psfwi_error e;
    psfwi_error_clear(&e);
    psfwi_model *m = psfwi_npy_read_model(p, &o, &e);
    if (m != NULL) {
      psfwi_model_destroy(m);
      continue;
    }
    assert_int_not_equal(e.status, PSFWI_OK);
    assert_non_null(strstr(e.msg, p));
  }
  free(c);
}
static void test_fuzz(void **state) {
  (void)state;
  uint64_t seed = 12345;
  unsigned char *d = values(12, 4, 0);
  buf npy = make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", d, 48);
  fuzz_one(npy.p, npy.n, &seed, 600);
  member one[2] = {{"a.npy", npy.p, npy.n}, {"vp.npy", npy.p, npy.n}};
  buf z = make_zip(one, 2, 2);
  fuzz_one(z.p, z.n, &seed, 600);
  fuzz_one(deflated_npz, sizeof deflated_npz, &seed, 600);
  unsigned char fix[780];
  FILE *f = fopen(PSFWI_SOURCE_DIR "/tests/data/numpy_savez.npz", "rb");
  assert_non_null(f);
  assert_int_equal(fread(fix, 1, sizeof fix, f), sizeof fix);
  fclose(f);
  fuzz_one(fix, sizeof fix, &seed, 600);
  free(z.p);
  free(npy.p);
  free(d);
}

/* ---- Shared real data -------------------------------------------------------------------- */
static void test_shared_openfwi(void **state) {
  (void)state;
  const char *p = tu_shared("openfwi/FlatVelA_vmodel11_first8.npy");
  if (p == NULL) skip();
  /* Independent decoding: header length at bytes 8-9, '<f4' rows of 70. */
  FILE *f = fopen(p, "rb");
  assert_non_null(f);
  unsigned char *raw = malloc(156928);
  assert_non_null(raw);
  assert_int_equal(fread(raw, 1, 156928, f), 156928);
  fclose(f);
  const size_t off = 10 + (size_t)(raw[8] | (raw[9] << 8));
  psfwi_error e;
  for (size_t j = 0; j < 8; j += 7) {
    psfwi_npy_opts o = {.dx = 10.0, .order = PSFWI_ORDER_ZX, .index = j, .has_index = 1};
    psfwi_model *m = psfwi_npy_read_model(p, &o, &e);
    assert_non_null(m);
    assert_int_equal(m->grid.nx, 70);
    assert_int_equal(m->grid.nz, 70);
    assert_memory_equal(m->vp, raw + off + j * 4900 * 4, 4900 * 4);
    float lo, hi;
    psfwi_model_range(m, &lo, &hi);
    assert_true(lo >= 1500.0f && hi <= 4496.0f && hi > lo);
    /* Flat layers: velocity depends on depth only. */
    for (size_t iz = 0; iz < 70; iz++) assert_true(m->vp[iz * 70 + 69] == m->vp[iz * 70]);
    psfwi_model_destroy(m);
  }
  psfwi_npy_opts o = {.dx = 10.0, .order = PSFWI_ORDER_ZX, .index = 8, .has_index = 1};
  expect_npy_fail(p, &o, PSFWI_ERANGE, "index 8", "holds 8 models");
  o.has_index = 0;
  expect_npy_fail(p, &o, PSFWI_EINVAL, "shape (8, 1, 70, 70) holds 8 models", "--index I (0..7)");
  free(raw);
}

static void test_shared_marmousi(void **state) {
  (void)state;
  const char *bin = tu_shared("marmousi/marmousi_vp_2301x751_4m_f32le.bin");
  const char *npz = tu_shared("marmousi/marmousi_vp_original_olim-plots.npz");
  if (bin == NULL || npz == NULL) skip();
  psfwi_error e;
  psfwi_raw_opts ro = {.nx = 2301,
                       .nz = 751,
                       .dx = 4.0,
                       .order = PSFWI_ORDER_XZ,
                       .endian = PSFWI_ENDIAN_LITTLE,
                       .dtype = PSFWI_DTYPE_F32};
  psfwi_model *raw = psfwi_raw_read_model(bin, &ro, &e);
  assert_non_null(raw);
  assert_true(raw->grid.dz == 4.0);
  float lo, hi;
  psfwi_model_range(raw, &lo, &hi);
  assert_true(lo == 1500.0f && hi == 5500.0f);
  /* The original npz: key F, float64 (751, 2301), z-major. */
  psfwi_npy_opts o = {.dx = 4.0, .order = PSFWI_ORDER_ZX};
  psfwi_model *m = psfwi_npy_read_model(npz, &o, &e);
  assert_non_null(m);
  assert_int_equal(m->grid.nx, 2301);
  assert_int_equal(m->grid.nz, 751);
  assert_memory_equal(m->vp, raw->vp, 2301 * 751 * sizeof(float));
  psfwi_model_destroy(m);
  o.key = "F";
  m = psfwi_npy_read_model(npz, &o, &e);
  assert_non_null(m);
  assert_memory_equal(m->vp, raw->vp, 2301 * 751 * sizeof(float));
  psfwi_model_destroy(m);
  o.key = "vp";
  expect_npy_fail(npz, &o, PSFWI_EKEY, "'vp'", "available: F");
  /* Read as ZX by mistake, the file's size does not fit. */
  ro.order = PSFWI_ORDER_ZX;
  ro.nx = 2300;
  expect_raw_fail(bin, &ro, PSFWI_EFORMAT, "6912204 bytes", "6909200 bytes");
  psfwi_model_destroy(raw);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_raw_layouts),    cmocka_unit_test(test_raw_errors),
      cmocka_unit_test(test_npy_2d),         cmocka_unit_test(test_npy_index),
      cmocka_unit_test(test_npy_errors),     cmocka_unit_test(test_npy_write),
      cmocka_unit_test(test_npz_stored),     cmocka_unit_test(test_npz_deflated),
      cmocka_unit_test(test_npz_numpy),      cmocka_unit_test(test_fuzz),
      cmocka_unit_test(test_shared_openfwi), cmocka_unit_test(test_shared_marmousi),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
