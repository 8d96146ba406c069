/* io: SEG-Y models through segyio. Round trips are bit-exact; the written
 * headers are checked byte by byte (independently of segyio); small SEG-Y
 * files built here byte by byte, IBM and IEEE, good and broken, exercise the
 * reader and every error path; real files from ../shared/data when present. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_io.h"
#include "testutil.h"

/* ---- Big-endian helpers --------------------------------------------------- */
static void put_be(unsigned char *p, uint32_t v, int n) {
  for (int k = 0; k < n; k++) p[k] = (unsigned char)(v >> (8 * (n - 1 - k)));
}
static uint32_t get_be(const unsigned char *p, int n) {
  uint32_t v = 0;
  for (int k = 0; k < n; k++) v = (v << 8) | p[k];
  return v;
}
static int32_t get_be_s16(const unsigned char *p) { return (int16_t)get_be(p, 2); }
static uint32_t ieee_word(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
/* IBM hexadecimal float of a positive v whose mantissa fits 24 bits exactly. */
static uint32_t ibm_word(double v) {
  int e = 0;
  while (v >= 1.0) {
    v /= 16.0;
    e++;
  }
  while (v < 1.0 / 16.0) {
    v *= 16.0;
    e--;
  }
  const double mant = v * 16777216.0;
  assert_true(mant == floor(mant)); /* exactly representable */
  return ((uint32_t)(64 + e) << 24) | (uint32_t)mant;
}

/* ---- A small SEG-Y file built by hand ---------------------------------------- */
typedef struct segy_spec {
  int fmt, ns, ntr;
  int bin_interval, tr_interval; /* bytes 3217 and 117 */
  int bin_samples, tr_samples;   /* bytes 3221 and 115 */
  int ext;                       /* byte 3505 */
  int ext_present;               /* extended headers actually in the file */
  int32_t cdpx[8];
  int scalar[8];
  uint32_t word[8][8]; /* [trace][sample] sample words as stored */
} segy_spec;

static size_t build_segy(const segy_spec *s, unsigned char **out) {
  const size_t per = 240 + 4 * (size_t)s->ns;
  const size_t first = 3600 + 3200 * (size_t)s->ext_present;
  const size_t size = first + (size_t)s->ntr * per;
  unsigned char *b = calloc(1, size);
  assert_non_null(b);
  memset(b, 0x40, 3200); /* EBCDIC spaces */
  put_be(b + 3216, (uint32_t)s->bin_interval, 2);
  put_be(b + 3220, (uint32_t)s->bin_samples, 2);
  put_be(b + 3224, (uint32_t)s->fmt, 2);
  put_be(b + 3504, (uint32_t)s->ext, 2);
  for (int t = 0; t < s->ntr; t++) {
    unsigned char *h = b + first + (size_t)t * per;
    put_be(h + 0, (uint32_t)(t + 1), 4);
    put_be(h + 70, (uint32_t)s->scalar[t], 2);
    put_be(h + 114, (uint32_t)s->tr_samples, 2);
    put_be(h + 116, (uint32_t)s->tr_interval, 2);
    put_be(h + 180, (uint32_t)s->cdpx[t], 4);
    for (int i = 0; i < s->ns; i++) put_be(h + 240 + 4 * i, s->word[t][i], 4);
  }
  *out = b;
  return size;
}

/* 4 traces of 3 IEEE samples, v = 1500 + 100 t + 10.5 i; CDP_X 1000 + 10 t
 * with scalar -10 (x = 100 + t m); interval 2500 (2.5 m). */
static segy_spec good_spec(void) {
  segy_spec s;
  memset(&s, 0, sizeof s);
  s.fmt = 5;
  s.ns = 3;
  s.ntr = 4;
  s.bin_interval = 2500;
  s.bin_samples = 3;
  s.tr_samples = 3;
  for (int t = 0; t < s.ntr; t++) {
    s.cdpx[t] = 1000 + 10 * t;
    s.scalar[t] = -10;
    for (int i = 0; i < s.ns; i++)
      s.word[t][i] = ieee_word(1500.0f + 100.0f * (float)t + 10.5f * (float)i);
  }
  return s;
}

static const char *write_spec(const segy_spec *s, const char *name) {
  unsigned char *b;
  const size_t n = build_segy(s, &b);
  const char *path = tu_path(name);
  tu_write_file(path, b, n);
  free(b);
  return path;
}

/* Read expecting failure with status st and every listed text in the message. */
static void expect_fail(const char *path, const psfwi_segy_opts *o, int st, const char *t1,
                        const char *t2) {
  psfwi_error e;
  psfwi_error_clear(&e);
  psfwi_model *m = psfwi_segy_read_model(path, o, &e);
  if (m != NULL || e.status != st || strstr(e.msg, path) == NULL ||
      (t1 && strstr(e.msg, t1) == NULL) || (t2 && strstr(e.msg, t2) == NULL))
    fprintf(stderr, "unexpected: status %d (wanted %d), message: %s\n", e.status, st, e.msg);
  assert_null(m);
  assert_int_equal(e.status, st);
  assert_non_null(strstr(e.msg, path));
  if (t1) assert_non_null(strstr(e.msg, t1));
  if (t2) assert_non_null(strstr(e.msg, t2));
}

static int tmp_leftovers(void) {
  DIR *d = opendir(tu_tmpdir());
  assert_non_null(d);
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL)
    if (strstr(de->d_name, ".tmp") != NULL) n++;
  closedir(d);
  return n;
}

static psfwi_model *test_model(size_t nx, size_t nz, double dx, double dz, double x0, double z0) {
  psfwi_grid g = {.nx = nx, .nz = nz, .dx = dx, .dz = dz, .x0 = x0, .z0 = z0};
  psfwi_model *m = psfwi_model_create(&g, NULL);
  assert_non_null(m);
  /* Values with full float mantissas, so any rounding would show. */
  for (size_t i = 0; i < nx * nz; i++)
    m->vp[i] = (float)(2500.0 + 1000.0 * sin(0.37 * (double)i + 0.1) + 1e-3 * (double)(i % 7));
  return m;
}

static void assert_same_model(const psfwi_model *a, const psfwi_model *b) {
  assert_int_equal(a->grid.nx, b->grid.nx);
  assert_int_equal(a->grid.nz, b->grid.nz);
  assert_true(a->grid.dx == b->grid.dx);
  assert_true(a->grid.dz == b->grid.dz);
  assert_true(a->grid.x0 == b->grid.x0);
  assert_true(a->grid.z0 == b->grid.z0);
  assert_memory_equal(a->vp, b->vp, psfwi_grid_size(&a->grid) * sizeof(float));
}

static unsigned char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  const long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc((size_t)n);
  assert_non_null(b);
  assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return b;
}

/* ---- Tests ------------------------------------------------------------------------ */
static void test_roundtrip_bit_exact(void **state) {
  (void)state;
  psfwi_error e;
  psfwi_model *m = test_model(37, 23, 12.5, 2.5, 100.25, 10.0);
  const char *path = tu_path("rt.segy");
  assert_int_equal(psfwi_segy_write_model(path, m, &e), PSFWI_OK);
  assert_int_equal(tmp_leftovers(), 0);
  psfwi_model *r = psfwi_segy_read_model(path, NULL, &e);
  assert_non_null(r);
  assert_same_model(r, m);

  /* The bytes, read without segyio. */
  size_t len;
  unsigned char *b = slurp(path, &len);
  const size_t per = 240 + 4 * 23;
  assert_int_equal(len, 3600 + 37 * per);
  const unsigned char c1[] = {0xC3, 0x40, 0xF1, 0x40, 0xD7,
                              0xE2, 0xC6, 0xE6, 0xC9}; /* "C 1 PSFWI" */
  assert_memory_equal(b, c1, sizeof c1);
  assert_int_equal(get_be(b + 3216, 2), 2500);   /* sample interval: 2.5 m as 2500 "us" */
  assert_int_equal(get_be(b + 3220, 2), 23);     /* samples */
  assert_int_equal(get_be(b + 3224, 2), 5);      /* IEEE float */
  assert_int_equal(get_be(b + 3500, 2), 0x0100); /* rev 1 */
  assert_int_equal(get_be(b + 3502, 2), 1);      /* fixed-length traces */
  for (size_t t = 0; t < 37; t += 12) {
    const unsigned char *h = b + 3600 + t * per;
    assert_int_equal(get_be(h + 0, 4), t + 1);              /* trace sequence */
    assert_int_equal(get_be_s16(h + 70), -100);             /* coordinates in cm */
    assert_int_equal(get_be(h + 180, 4), 10025 + 1250 * t); /* CDP_X */
    assert_int_equal(get_be(h + 72, 4), 10025 + 1250 * t);  /* SourceX */
    assert_int_equal(get_be(h + 80, 4), 10025 + 1250 * t);  /* GroupX */
    assert_int_equal(get_be(h + 36, 4), 0);                 /* offset */
    assert_int_equal(get_be(h + 114, 2), 23);
    assert_int_equal(get_be(h + 116, 2), 2500);
    assert_int_equal(get_be_s16(h + 108), 10); /* delay: z0 = 10 m */
    for (size_t iz = 0; iz < 23; iz += 11)
      assert_int_equal(get_be(h + 240 + 4 * iz, 4), ieee_word(m->vp[iz * 37 + t]));
  }
  free(b);

  /* Overriding the spacing wins over the headers and drops the origins. */
  psfwi_segy_opts o = {.dx = 3.0, .dz = 7.0};
  psfwi_model_destroy(r);
  r = psfwi_segy_read_model(path, &o, &e);
  assert_non_null(r);
  assert_true(r->grid.dx == 3.0 && r->grid.dz == 7.0 && r->grid.x0 == 0.0 && r->grid.z0 == 0.0);
  assert_memory_equal(r->vp, m->vp, 37 * 23 * sizeof(float));
  psfwi_model_destroy(r);
  psfwi_model_destroy(m);
}

static void test_roundtrip_large_fields(void **state) {
  (void)state;
  psfwi_error e;
  /* 40000 samples and a 50 m interval overflow signed 16-bit header words;
   * x0 = -20 m, integer metres: scalar 1. */
  psfwi_model *m = test_model(3, 40000, 25.0, 50.0, -20.0, -3.5);
  const char *path = tu_path("big.segy");
  assert_int_equal(psfwi_segy_write_model(path, m, &e), PSFWI_OK);
  psfwi_model *r = psfwi_segy_read_model(path, NULL, &e);
  assert_non_null(r);
  assert_same_model(r, m);
  size_t len;
  unsigned char *b = slurp(path, &len);
  assert_int_equal(get_be_s16(b + 3600 + 70), 1);
  assert_int_equal((int32_t)get_be(b + 3600 + 180, 4), -20);
  assert_int_equal(get_be_s16(b + 3600 + 214), -10); /* time scalar for z0 = -3.5 m */
  assert_int_equal(get_be_s16(b + 3600 + 108), -35);
  free(b);
  psfwi_model_destroy(r);
  psfwi_model_destroy(m);
}

static void test_write_refuses_lossy(void **state) {
  (void)state;
  psfwi_error e;
  const char *path = tu_path("lossy.segy");
  psfwi_model *m = test_model(4, 3, 1.0 / 3.0, 2.0, 0.0, 0.0);
  assert_int_equal(psfwi_segy_write_model(path, m, &e), PSFWI_EUNSUPPORTED);
  assert_non_null(strstr(e.msg, "dx ="));
  m->grid.dx = 2.0;
  m->grid.dz = 0.0005; /* half a millimetre */
  assert_int_equal(psfwi_segy_write_model(path, m, &e), PSFWI_EUNSUPPORTED);
  assert_non_null(strstr(e.msg, "dz ="));
  m->grid.dz = 70.0; /* 70000 "us": beyond 16 bits */
  assert_int_equal(psfwi_segy_write_model(path, m, &e), PSFWI_EUNSUPPORTED);
  m->grid.dz = 2.0;
  m->grid.z0 = 1e-7;
  assert_int_equal(psfwi_segy_write_model(path, m, &e), PSFWI_EUNSUPPORTED);
  assert_non_null(strstr(e.msg, "z0 ="));
  m->grid.z0 = 0.0;
  m->grid.x0 = 3e9; /* beyond 32-bit coordinates */
  assert_int_equal(psfwi_segy_write_model(path, m, &e), PSFWI_EUNSUPPORTED);
  m->grid.x0 = 0.0;
  m->vp[5] = NAN;
  assert_int_equal(psfwi_segy_write_model(path, m, &e), PSFWI_ENONFINITE);
  m->vp[5] = 2000.0f;
  assert_false(tu_exists(path));
  assert_int_equal(tmp_leftovers(), 0);
  /* A folder that does not exist: the error names the file. */
  const char *bad = tu_path("no/such/dir/x.segy");
  assert_int_equal(psfwi_segy_write_model(bad, m, &e), PSFWI_EIO);
  assert_non_null(strstr(e.msg, "no/such/dir/x.segy"));
  /* Writing over an existing file replaces it whole. */
  assert_int_equal(psfwi_segy_write_model(path, m, &e), PSFWI_OK);
  m->vp[0] = 1234.5f;
  assert_int_equal(psfwi_segy_write_model(path, m, &e), PSFWI_OK);
  psfwi_model *r = psfwi_segy_read_model(path, NULL, &e);
  assert_non_null(r);
  assert_same_model(r, m);
  psfwi_model_destroy(r);
  psfwi_model_destroy(m);
}

static void test_read_handmade_ieee_and_ibm(void **state) {
  (void)state;
  psfwi_error e;
  segy_spec s = good_spec();
  psfwi_model *m = psfwi_segy_read_model(write_spec(&s, "good.sgy"), NULL, &e);
  assert_non_null(m);
  assert_int_equal(m->grid.nx, 4);
  assert_int_equal(m->grid.nz, 3);
  assert_true(m->grid.dx == 1.0 && m->grid.dz == 2.5 && m->grid.x0 == 100.0);
  for (size_t t = 0; t < 4; t++)
    for (size_t i = 0; i < 3; i++)
      assert_true(m->vp[i * 4 + t] == 1500.0f + 100.0f * (float)t + 10.5f * (float)i);
  psfwi_model_destroy(m);

  /* IBM float, interval only in the trace header, a positive scalar (x 2). */
  s.fmt = 1;
  s.bin_interval = 0;
  s.tr_interval = 4000;
  for (int t = 0; t < 4; t++) {
    s.scalar[t] = 2;
    s.cdpx[t] = 5 * t;
    for (int i = 0; i < 3; i++) s.word[t][i] = ibm_word(1500.0 + 100.0 * t + 10.5 * i);
  }
  m = psfwi_segy_read_model(write_spec(&s, "ibm.sgy"), NULL, &e);
  assert_non_null(m);
  assert_true(m->grid.dx == 10.0 && m->grid.dz == 4.0 && m->grid.x0 == 0.0);
  for (size_t t = 0; t < 4; t++)
    for (size_t i = 0; i < 3; i++)
      assert_true(m->vp[i * 4 + t] == 1500.0f + 100.0f * (float)t + 10.5f * (float)i);
  psfwi_model_destroy(m);

  /* Samples only in the trace header. */
  s.bin_samples = 0;
  m = psfwi_segy_read_model(write_spec(&s, "ns_tr.sgy"), NULL, &e);
  assert_non_null(m);
  assert_int_equal(m->grid.nz, 3);
  psfwi_model_destroy(m);
}

static void test_read_errors(void **state) {
  (void)state;
  segy_spec s;
  unsigned char *b;
  size_t n;
  psfwi_segy_opts dx_given = {.dx = 5.0};

  expect_fail(tu_path("absent.sgy"), NULL, PSFWI_EIO, "cannot open", NULL);

  tu_write_file(tu_path("tiny.sgy"), "hello", 5);
  expect_fail(tu_path("tiny.sgy"), NULL, PSFWI_EFORMAT, "not a SEG-Y", NULL);

  s = good_spec();
  n = build_segy(&s, &b);
  tu_write_file(tu_path("trunc.sgy"), b, n - 6);
  free(b);
  expect_fail(tu_path("trunc.sgy"), NULL, PSFWI_EFORMAT, "truncated", NULL);

  s = good_spec();
  s.fmt = 3;
  expect_fail(write_spec(&s, "fmt3.sgy"), NULL, PSFWI_EUNSUPPORTED, "format code 3", NULL);
  s.fmt = 0x0500; /* byte-swapped 5 */
  expect_fail(write_spec(&s, "lsb.sgy"), NULL, PSFWI_EUNSUPPORTED, "little-endian", NULL);

  s = good_spec();
  s.bin_samples = 0;
  s.tr_samples = 0;
  expect_fail(write_spec(&s, "ns0.sgy"), NULL, PSFWI_EFORMAT, "sample count", NULL);
  s.bin_samples = 65535; /* absurd: the file is far too small */
  expect_fail(write_spec(&s, "ns_big.sgy"), NULL, PSFWI_EFORMAT, "65535 samples", NULL);

  s = good_spec();
  s.ext = 30000;
  expect_fail(write_spec(&s, "ext.sgy"), NULL, PSFWI_EFORMAT, "extended textual", NULL);
  s.ext = 0xFFFF; /* -1: a variable number, not supported */
  expect_fail(write_spec(&s, "ext_neg.sgy"), NULL, PSFWI_EFORMAT, "extended textual", NULL);
  s.ext = 1; /* one extended header that is not there */
  expect_fail(write_spec(&s, "ext1.sgy"), NULL, PSFWI_EFORMAT, NULL, NULL);
  s.ext_present = 1; /* now it is: the traces follow it */
  psfwi_error e;
  psfwi_model *m = psfwi_segy_read_model(write_spec(&s, "ext_ok.sgy"), NULL, &e);
  assert_non_null(m);
  assert_true(m->grid.nx == 4 && m->grid.nz == 3 && m->vp[2 * 4 + 3] == 1500.0f + 300.0f + 21.0f);
  psfwi_model_destroy(m);

  s = good_spec();
  s.bin_interval = 0;
  const char *p = write_spec(&s, "dt0.sgy");
  expect_fail(p, NULL, PSFWI_EFORMAT, "give dz", NULL);
  psfwi_segy_opts dz_given = {.dz = 6.0};
  m = psfwi_segy_read_model(p, &dz_given, &e);
  assert_non_null(m);
  assert_true(m->grid.dz == 6.0 && m->grid.dx == 1.0);
  psfwi_model_destroy(m);

  s = good_spec();
  for (int t = 0; t < 4; t++) s.cdpx[t] = 0;
  p = write_spec(&s, "nocdp.sgy");
  expect_fail(p, NULL, PSFWI_EFORMAT, "give dx", NULL);
  m = psfwi_segy_read_model(p, &dx_given, &e);
  assert_non_null(m);
  assert_true(m->grid.dx == 5.0 && m->grid.x0 == 0.0);
  psfwi_model_destroy(m);

  s = good_spec();
  s.cdpx[2] = 1025;
  expect_fail(write_spec(&s, "uneven.sgy"), NULL, PSFWI_EFORMAT, "not evenly spaced", NULL);
  s = good_spec();
  s.scalar[2] = -100;
  p = write_spec(&s, "scalars.sgy");
  expect_fail(p, NULL, PSFWI_EUNSUPPORTED, "scalar", NULL);
  m = psfwi_segy_read_model(p, &dx_given, &e);
  assert_non_null(m);
  psfwi_model_destroy(m);

  s = good_spec();
  s.ntr = 1;
  expect_fail(write_spec(&s, "one.sgy"), NULL, PSFWI_EINVAL, "single trace", NULL);

  s = good_spec();
  s.tr_samples = 7;
  expect_fail(write_spec(&s, "trns.sgy"), NULL, PSFWI_EFORMAT, "trace 0 holds 7 samples", NULL);

  s = good_spec();
  s.word[2][1] = 0x7FC00000u; /* NaN */
  expect_fail(write_spec(&s, "nan.sgy"), NULL, PSFWI_ENONFINITE, "ix = 2, iz = 1", NULL);
  s = good_spec();
  s.word[3][2] = ieee_word(-1500.0f);
  expect_fail(write_spec(&s, "neg.sgy"), NULL, PSFWI_ERANGE, "ix = 3, iz = 2", NULL);
  s = good_spec();
  s.fmt = 1;
  for (int t = 0; t < 4; t++)
    for (int i = 0; i < 3; i++) s.word[t][i] = ibm_word(2000.0);
  s.word[1][0] = 0; /* IBM zero */
  expect_fail(write_spec(&s, "zero.sgy"), NULL, PSFWI_ERANGE, "ix = 1, iz = 0", NULL);
}

static void test_shared_segyio_small(void **state) {
  (void)state;
  const char *path = tu_shared("segy/segyio_small.sgy");
  if (path == NULL) skip();
  /* IBM float, no CDP_X: the spacing must be given. */
  expect_fail(path, NULL, PSFWI_EFORMAT, "give dx", NULL);
  psfwi_segy_opts o = {.dx = 10.0};
  psfwi_error e;
  psfwi_model *m = psfwi_segy_read_model(path, &o, &e);
  assert_non_null(m);
  assert_int_equal(m->grid.nx, 25);
  assert_int_equal(m->grid.nz, 50);
  assert_true(m->grid.dx == 10.0 && m->grid.dz == 4.0);
  /* segyio's small.sgy: trace t is inline 1 + t / 5, crossline 20 + t % 5, and
   * sample i holds inline + crossline / 100 + i / 1e5. */
  double maxerr = 0.0;
  for (size_t t = 0; t < 25; t++)
    for (size_t i = 0; i < 50; i++) {
      const double want = (double)(1 + t / 5) + (double)(20 + t % 5) / 100.0 + (double)i * 1e-5;
      const double d = fabs((double)m->vp[i * 25 + t] - want);
      if (d > maxerr) maxerr = d;
    }
  assert_true(maxerr < 2e-6);
  float lo, hi;
  psfwi_model_range(m, &lo, &hi);
  assert_true(fabs((double)lo - 1.2) < 1e-6 && fabs((double)hi - 5.24049) < 2e-6);
  psfwi_model_destroy(m);
  const char *f3 = tu_shared("segy/segyio_f3.sgy");
  if (f3 != NULL) expect_fail(f3, NULL, PSFWI_EUNSUPPORTED, "format code 3", NULL);
}

static void test_shared_marmousi(void **state) {
  (void)state;
  const char *segy = tu_shared("marmousi/marmousi_vp.segy");
  const char *bin = tu_shared("marmousi/marmousi_vp_2301x751_4m_f32le.bin");
  if (segy == NULL || bin == NULL) skip();
  psfwi_error e;
  psfwi_model *m = psfwi_segy_read_model(segy, NULL, &e);
  assert_non_null(m);
  assert_int_equal(m->grid.nx, 2301);
  assert_int_equal(m->grid.nz, 751);
  assert_true(m->grid.dx == 4.0 && m->grid.dz == 4.0 && m->grid.x0 == 0.0 && m->grid.z0 == 0.0);
  float lo, hi;
  psfwi_model_range(m, &lo, &hi);
  assert_true(lo == 1500.0f && hi == 5500.0f);
  psfwi_raw_opts ro = {.nx = 2301,
                       .nz = 751,
                       .dx = 4.0,
                       .dz = 4.0,
                       .order = PSFWI_ORDER_XZ,
                       .endian = PSFWI_ENDIAN_LITTLE,
                       .dtype = PSFWI_DTYPE_F32};
  psfwi_model *raw = psfwi_raw_read_model(bin, &ro, &e);
  assert_non_null(raw);
  assert_same_model(m, raw);
  /* Water on top (1500 m/s at x = 0, z = 0), and the file's first trace is x = 0. */
  assert_true(m->vp[0] == 1500.0f);
  /* Real-size round trip through our writer. */
  const char *out = tu_path("marmousi_rt.segy");
  assert_int_equal(psfwi_segy_write_model(out, m, &e), PSFWI_OK);
  psfwi_model *r = psfwi_segy_read_model(out, NULL, &e);
  assert_non_null(r);
  assert_same_model(r, m);
  psfwi_model_destroy(r);
  psfwi_model_destroy(raw);
  psfwi_model_destroy(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_bit_exact), cmocka_unit_test(test_roundtrip_large_fields),
      cmocka_unit_test(test_write_refuses_lossy), cmocka_unit_test(test_read_handmade_ieee_and_ibm),
      cmocka_unit_test(test_read_errors),         cmocka_unit_test(test_shared_segyio_small),
      cmocka_unit_test(test_shared_marmousi),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
