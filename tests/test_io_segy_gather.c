/* io: SEG-Y shot gathers through segyio. Round trips are bit-exact for the
 * samples, the positions (centimetre, millimetre, 0.1 mm) and dt; every
 * header the writer promises is checked in the file's raw bytes without
 * segyio (big-endian words at 3600 + 240 k + (byte - 1) plus the samples);
 * IBM files made from written ones exercise the conversion; hand-edited
 * files provoke every reader error; unsorted files and irregular spreads
 * read as shots padded with zero-weight traces; segyio's shot-gather.sgy
 * (shots of 10, 12, 13 and 26 traces) reads as 4 padded shots, and its
 * first two shots cut to 10 traces each with its IBM samples exact. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_io.h"
#include "testutil.h"

/* ---- Bytes ------------------------------------------------------------------ */
static void put_be(unsigned char *p, uint32_t v, int n) {
  for (int k = 0; k < n; k++) p[k] = (unsigned char)(v >> (8 * (n - 1 - k)));
}
static uint32_t get_be(const unsigned char *p, int n) {
  uint32_t v = 0;
  for (int k = 0; k < n; k++) v = (v << 8) | p[k];
  return v;
}
static int32_t get_s32(const unsigned char *p) { return (int32_t)get_be(p, 4); }
static int32_t get_s16(const unsigned char *p) { return (int16_t)get_be(p, 2); }
static uint32_t ieee_word(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
/* IBM hexadecimal float of v (|v| with a mantissa that fits 24 bits). */
static uint32_t ibm_word(double v) {
  if (v == 0.0) return 0;
  const uint32_t sign = v < 0.0 ? 0x80000000u : 0u;
  v = fabs(v);
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
  return sign | ((uint32_t)(64 + e) << 24) | (uint32_t)mant;
}
/* Value of an IBM word, exactly (24-bit mantissa). */
static double ibm_value(uint32_t w) {
  const double m = (double)(w & 0xFFFFFFu) / 16777216.0;
  const double v = ldexp(m, 4 * ((int)((w >> 24) & 0x7F) - 64));
  return (w & 0x80000000u) ? -v : v;
}

/* The ASCII text in EBCDIC (cp037) for the characters the headers use. */
static void ebcdic(const char *s, unsigned char *out) {
  for (; *s; s++, out++) {
    const char c = *s;
    if (c >= '0' && c <= '9')
      *out = (unsigned char)(0xF0 + (c - '0'));
    else if (c >= 'A' && c <= 'I')
      *out = (unsigned char)(0xC1 + (c - 'A'));
    else if (c >= 'J' && c <= 'R')
      *out = (unsigned char)(0xD1 + (c - 'J'));
    else if (c >= 'S' && c <= 'Z')
      *out = (unsigned char)(0xE2 + (c - 'S'));
    else if (c == ' ')
      *out = 0x40;
    else if (c == '.')
      *out = 0x4B;
    else if (c == '(')
      *out = 0x4D;
    else if (c == ')')
      *out = 0x5D;
    else if (c == '-')
      *out = 0x60;
    else if (c == ',')
      *out = 0x6B;
    else if (c == ':')
      *out = 0x7A;
    else if (c == '=')
      *out = 0x7E;
    else
      fail_msg("no EBCDIC for '%c'", c);
  }
}
/* 1 if the textual header (3200 bytes) holds the ASCII text s in EBCDIC. */
static int text_has(const unsigned char *t, const char *s) {
  unsigned char e[128];
  const size_t n = strlen(s);
  assert_true(n < sizeof e);
  ebcdic(s, e);
  for (size_t i = 0; i + n <= 3200; i++)
    if (memcmp(t + i, e, n) == 0) return 1;
  return 0;
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

/* Trace header k of a file of traces with nt samples. */
static unsigned char *trh(unsigned char *b, size_t nt, size_t k) {
  return b + 3600 + k * (240 + 4 * nt);
}

/* ---- Gathers ------------------------------------------------------------------ */
/* Positions in whole centimetres (read back as cm / 100):
 *   source x = 100.25 + 37.5 is, source depth = 10.07 + 0.03 is;
 *   receiver x = source x - 22.5 + 12.5 ir + 0.07 is (offsets -22.5, -10, 2.5,
 *   15, 27.5 in shot 0: halves of both signs, odd and even);
 *   receiver depth 0 for ir = 0, else 5 + 0.11 ir + 0.01 is. */
static int64_t sx_cm(size_t is) { return 10025 + 3750 * (int64_t)is; }
static int64_t sz_cm(size_t is) { return 1007 + 3 * (int64_t)is; }
static int64_t off_cm(size_t is, size_t ir) { return -2250 + 1250 * (int64_t)ir + 7 * (int64_t)is; }
static int64_t rx_cm(size_t is, size_t ir) { return sx_cm(is) + off_cm(is, ir); }
static int64_t rz_cm(size_t is, size_t ir) {
  return ir == 0 ? 0 : 500 + 11 * (int64_t)ir + (int64_t)is;
}

static psfwi_gather *make_gather(size_t nshot, size_t nrec, size_t nt, double dt) {
  psfwi_survey *s = psfwi_survey_create(nshot, nrec, NULL);
  assert_non_null(s);
  for (size_t is = 0; is < nshot; is++) {
    s->sx[is] = (double)sx_cm(is) / 100.0;
    s->sz[is] = (double)sz_cm(is) / 100.0;
    for (size_t ir = 0; ir < nrec; ir++) {
      s->rx[is * nrec + ir] = (double)rx_cm(is, ir) / 100.0;
      s->rz[is * nrec + ir] = (double)rz_cm(is, ir) / 100.0;
    }
  }
  psfwi_error e;
  psfwi_gather *g = psfwi_gather_create(s, nt, dt, &e);
  psfwi_survey_destroy(s);
  assert_non_null(g);
  /* Full float mantissas, signs, zeros, extremes and a subnormal. */
  const size_t n = nshot * nrec * nt;
  for (size_t i = 0; i < n; i++)
    g->data[i] = (float)(sin(0.37 * (double)i + 0.1) * pow(10.0, (double)(i % 7) - 3.0));
  if (n > 8) {
    g->data[1] = -0.0f;
    g->data[2] = FLT_MAX;
    g->data[3] = -FLT_MIN;
    g->data[4] = 1e-40f; /* subnormal */
    g->data[5] = 0.0f;
  }
  for (size_t it = 0; it < nt; it++) g->wavelet[it] = 1.0f; /* not stored */
  return g;
}

static void assert_same_gather(const psfwi_gather *a, const psfwi_gather *b) {
  const psfwi_survey *sa = a->survey, *sb = b->survey;
  assert_int_equal(sa->nshot, sb->nshot);
  assert_int_equal(sa->nrec, sb->nrec);
  assert_int_equal(a->nt, b->nt);
  assert_true(a->dt == b->dt);
  const size_t ntr = sa->nshot * sa->nrec;
  assert_memory_equal(sa->sx, sb->sx, sa->nshot * sizeof(double));
  assert_memory_equal(sa->sz, sb->sz, sa->nshot * sizeof(double));
  assert_memory_equal(sa->rx, sb->rx, ntr * sizeof(double));
  assert_memory_equal(sa->rz, sb->rz, ntr * sizeof(double));
  assert_memory_equal(a->data, b->data, ntr * a->nt * sizeof(float));
}

/* Read expecting failure with status st and the texts in the message. */
static void expect_fail(const char *path, int st, const char *t1, const char *t2) {
  psfwi_error e;
  psfwi_error_clear(&e);
  psfwi_gather *g = psfwi_segy_read_gather(path, &e);
  if (g != NULL || e.status != st || strstr(e.msg, path) == NULL ||
      (t1 && strstr(e.msg, t1) == NULL) || (t2 && strstr(e.msg, t2) == NULL))
    fprintf(stderr, "unexpected: status %d (wanted %d), message: %s\n", e.status, st, e.msg);
  assert_null(g);
  assert_int_equal(e.status, st);
  assert_non_null(strstr(e.msg, path));
  if (t1) assert_non_null(strstr(e.msg, t1));
  if (t2) assert_non_null(strstr(e.msg, t2));
}

/* Write expecting refusal with status st, text t1, and nothing written. */
static void expect_refused(const char *path, const psfwi_gather *g, int st, const char *t1) {
  psfwi_error e;
  psfwi_error_clear(&e);
  const int r = psfwi_segy_write_gather(path, g, &e);
  if (r != st || (t1 && strstr(e.msg, t1) == NULL))
    fprintf(stderr, "unexpected: status %d (wanted %d), message: %s\n", r, st, e.msg);
  assert_int_equal(r, st);
  assert_int_equal(e.status, st);
  assert_non_null(strstr(e.msg, path));
  if (t1) assert_non_null(strstr(e.msg, t1));
  assert_false(tu_exists(path));
  assert_int_equal(tmp_leftovers(), 0);
}

/* ---- Tests ------------------------------------------------------------------------ */
static void test_roundtrip_and_headers(void **state) {
  (void)state;
  const size_t nshot = 3, nrec = 5, nt = 17, ntr = 15;
  psfwi_gather *g = make_gather(nshot, nrec, nt, 0.00025);
  const char *path = tu_path("rt.sgy");
  psfwi_error e;
  assert_int_equal(psfwi_segy_write_gather(path, g, &e), PSFWI_OK);
  assert_int_equal(tmp_leftovers(), 0);
  psfwi_gather *r = psfwi_segy_read_gather(path, &e);
  assert_non_null(r);
  assert_same_gather(r, g);
  for (size_t it = 0; it < nt; it++) assert_true(r->wavelet[it] == 0.0f); /* not in SEG-Y */
  /* Spot values, against the cm integers rather than the gather itself. */
  assert_true(r->survey->sx[2] == 175.25 && r->survey->sz[1] == 10.1);
  assert_true(r->survey->rx[1 * nrec + 3] == 152.82 && r->survey->rz[2 * nrec + 4] == 5.46);
  assert_true(r->survey->rz[0] == 0.0 && !signbit(r->survey->rz[0]));
  psfwi_gather_destroy(r);

  /* The bytes, read without segyio. */
  size_t len;
  unsigned char *b = slurp(path, &len);
  assert_int_equal(len, 3600 + ntr * (240 + 4 * nt));
  assert_true(text_has(b, "C 1 PSFWI"));
  assert_true(text_has(b, "3 SHOTS IN ORDER"));
  assert_true(text_has(b, "5 RECEIVERS PER SHOT"));
  assert_true(text_has(b, "17 SAMPLES PER TRACE, DT = 0.00025 S = 250 US"));
  assert_true(text_has(b, "SCALAR -100 (BYTE 71)"));
  assert_true(text_has(b, "C39 SEG Y REV1"));
  assert_int_equal(get_be(b + 3212, 2), nrec);   /* traces per ensemble */
  assert_int_equal(get_be(b + 3216, 2), 250);    /* sample interval, us */
  assert_int_equal(get_be(b + 3218, 2), 250);    /* original interval */
  assert_int_equal(get_be(b + 3220, 2), nt);     /* samples per trace */
  assert_int_equal(get_be(b + 3224, 2), 5);      /* IEEE float */
  assert_int_equal(get_be(b + 3254, 2), 1);      /* metres */
  assert_int_equal(get_be(b + 3500, 2), 0x0100); /* rev 1 */
  assert_int_equal(get_be(b + 3502, 2), 1);      /* fixed-length traces */
  assert_int_equal(get_be(b + 3504, 2), 0);      /* no extended headers */
  for (size_t k = 0; k < ntr; k++) {
    const size_t is = k / nrec, ir = k % nrec;
    const unsigned char *h = trh(b, nt, k);
    assert_int_equal(get_s32(h + 0), k + 1);   /* TRACE_SEQUENCE_LINE */
    assert_int_equal(get_s32(h + 4), k + 1);   /* TRACE_SEQUENCE_FILE */
    assert_int_equal(get_s32(h + 8), is + 1);  /* FIELD_RECORD */
    assert_int_equal(get_s32(h + 12), ir + 1); /* TRACF */
    assert_int_equal(get_s32(h + 16), is + 1); /* ENERGY_SOURCE_POINT */
    /* Offset in whole metres, halves away from zero. */
    const int64_t oc = off_cm(is, ir);
    const int64_t om = (oc < 0 ? -1 : 1) * ((oc < 0 ? -oc : oc) + 50) / 100;
    assert_int_equal(get_s32(h + 36), (int32_t)om);
    assert_int_equal(get_s32(h + 40), (int32_t)-rz_cm(is, ir)); /* elevation, cm */
    assert_int_equal(get_s32(h + 48), (int32_t)sz_cm(is));      /* source depth, cm */
    assert_int_equal(get_s16(h + 68), -100);                    /* elevation scalar */
    assert_int_equal(get_s16(h + 70), -100);                    /* coordinate scalar */
    assert_int_equal(get_s32(h + 72), (int32_t)sx_cm(is));      /* SourceX */
    assert_int_equal(get_s32(h + 76), 0);                       /* SourceY */
    assert_int_equal(get_s32(h + 80), (int32_t)rx_cm(is, ir));  /* GroupX */
    assert_int_equal(get_s32(h + 84), 0);                       /* GroupY */
    assert_int_equal(get_be(h + 114, 2), nt);
    assert_int_equal(get_be(h + 116, 2), 250);
    for (size_t it = 0; it < nt; it++)
      assert_int_equal(get_be(h + 240 + 4 * it, 4), ieee_word(g->data[k * nt + it]));
  }
  /* A few offsets by hand: shot 0 has -22.5, -10, 2.5, 15, 27.5 m. */
  assert_int_equal(get_s32(trh(b, nt, 0) + 36), -23);
  assert_int_equal(get_s32(trh(b, nt, 2) + 36), 3);
  assert_int_equal(get_s32(trh(b, nt, 4) + 36), 28);
  free(b);

  /* Writing over an existing file replaces it whole. */
  g->data[7] = 42.0f;
  assert_int_equal(psfwi_segy_write_gather(path, g, &e), PSFWI_OK);
  r = psfwi_segy_read_gather(path, &e);
  assert_non_null(r);
  assert_true(r->data[7] == 42.0f);
  assert_same_gather(r, g);
  psfwi_gather_destroy(r);
  psfwi_gather_destroy(g);
}

/* Positions with coordinate unit c (m) and depth unit z: scalars written. */
static void roundtrip_units(const char *name, int64_t cdiv, int64_t zdiv, int xsc, int zsc) {
  psfwi_gather *g = make_gather(2, 3, 4, 0.004);
  psfwi_survey *s = g->survey;
  for (size_t is = 0; is < 2; is++) {
    s->sx[is] = (double)(123457 + 1000 * (int64_t)is) / (double)cdiv;
    s->sz[is] = (double)(31 + (int64_t)is) / (double)zdiv;
    for (size_t ir = 0; ir < 3; ir++) {
      s->rx[is * 3 + ir] = (double)(-98761 + 777 * (int64_t)ir) / (double)cdiv;
      s->rz[is * 3 + ir] = (double)(7 * (int64_t)ir + 1) / (double)zdiv;
    }
  }
  const char *path = tu_path(name);
  psfwi_error e;
  assert_int_equal(psfwi_segy_write_gather(path, g, &e), PSFWI_OK);
  psfwi_gather *r = psfwi_segy_read_gather(path, &e);
  assert_non_null(r);
  assert_same_gather(r, g);
  assert_true(r->dt == 0.004);
  size_t len;
  unsigned char *b = slurp(path, &len);
  const unsigned char *h = trh(b, 4, 4); /* shot 1, receiver 1 */
  assert_int_equal(get_s16(h + 70), xsc);
  assert_int_equal(get_s16(h + 68), zsc);
  assert_int_equal(get_s32(h + 72), 124457 * (xsc == 1 ? 1 : -xsc) / cdiv);
  assert_int_equal(get_s32(h + 80), (-98761 + 777) * (xsc == 1 ? 1 : -xsc) / cdiv);
  assert_int_equal(get_s32(h + 48), 32 * (zsc == 1 ? 1 : -zsc) / zdiv);
  assert_int_equal(get_s32(h + 40), -8 * (zsc == 1 ? 1 : -zsc) / zdiv);
  free(b);
  psfwi_gather_destroy(r);
  psfwi_gather_destroy(g);
}

static const char *edited(const unsigned char *b, size_t len, const char *name);

static void test_scalars(void **state) {
  (void)state;
  /* The coarsest unit that holds every position is chosen, separately for
   * coordinates (byte 71) and depths (byte 69). */
  roundtrip_units("mm_dm.sgy", 1000, 10, -1000, -10);
  roundtrip_units("tenth_mm_m.sgy", 10000, 1, -10000, 1);
  roundtrip_units("m_cm.sgy", 1, 100, 1, -100);

  /* Mixed units: each trace's own scalar counts. One shot of 3 receivers
   * written in centimetres, trace 0 rewritten in metres (scalar 1) and trace
   * 1 in decimetres (-10): the same gather. */
  {
    psfwi_gather *m3 = make_gather(1, 3, 4, 0.004);
    m3->survey->sx[0] = 100.0;
    m3->survey->rx[0] = 10.0;
    m3->survey->rx[1] = 20.5;
    m3->survey->rx[2] = 30.25;
    const char *mp = tu_path("mixed.sgy");
    psfwi_error e;
    assert_int_equal(psfwi_segy_write_gather(mp, m3, &e), PSFWI_OK);
    size_t len;
    unsigned char *b = slurp(mp, &len);
    assert_int_equal(get_s16(trh(b, 4, 0) + 70), -100);
    put_be(trh(b, 4, 0) + 70, 1, 2);
    put_be(trh(b, 4, 0) + 72, 100, 4);
    put_be(trh(b, 4, 0) + 80, 10, 4);
    put_be(trh(b, 4, 1) + 70, (uint32_t)(uint16_t)-10, 2);
    put_be(trh(b, 4, 1) + 72, 1000, 4);
    put_be(trh(b, 4, 1) + 80, 205, 4);
    psfwi_gather *r = psfwi_segy_read_gather(edited(b, len, "mixed2.sgy"), &e);
    assert_non_null(r);
    assert_same_gather(r, m3);
    psfwi_gather_destroy(r);
    psfwi_gather_destroy(m3);
    free(b);
  }

  /* Positions no unit holds: refused, nothing written. */
  const char *path = tu_path("lossy.sgy");
  psfwi_gather *g = make_gather(2, 3, 4, 0.004);
  const double rx = g->survey->rx[4];
  g->survey->rx[4] = 1.0 / 3.0;
  expect_refused(path, g, PSFWI_EUNSUPPORTED, "x of receiver 1 of shot 1");
  g->survey->rx[4] = rx;
  g->survey->sz[1] = 2.00005; /* 0.05 mm */
  expect_refused(path, g, PSFWI_EUNSUPPORTED, "source depth of shot 1");
  g->survey->sz[1] = 2.0;
  g->survey->sx[0] = 3e9; /* beyond 32 bits in any unit */
  expect_refused(path, g, PSFWI_EUNSUPPORTED, "source x of shot 0");
  /* Each alone fits some unit, but no unit fits both: 1e6 m needs >= 1 mm,
   * 0.1 mm needs 0.1 mm. */
  g->survey->sx[0] = 1e6;
  g->survey->rx[2] = 0.0001;
  expect_refused(path, g, PSFWI_EUNSUPPORTED, "coordinates");
  psfwi_gather_destroy(g);
}

static void test_write_refusals(void **state) {
  (void)state;
  const char *path = tu_path("w.sgy");
  psfwi_error e;
  psfwi_gather *g = make_gather(2, 3, 6, 0.0000005); /* half a microsecond */
  expect_refused(path, g, PSFWI_EUNSUPPORTED, "dt = ");
  g->dt = 0.07; /* 70000 us: beyond 16 bits */
  expect_refused(path, g, PSFWI_EUNSUPPORTED, "whole number of microseconds");
  g->dt = 0.0010000001;
  expect_refused(path, g, PSFWI_EUNSUPPORTED, "whole number of microseconds");
  /* 65535 us is the largest interval; it reads back as a count, not -1. */
  g->dt = 0.065535;
  assert_int_equal(psfwi_segy_write_gather(path, g, &e), PSFWI_OK);
  psfwi_gather *r = psfwi_segy_read_gather(path, &e);
  assert_non_null(r);
  assert_true(r->dt == 0.065535);
  psfwi_gather_destroy(r);
  remove(path);
  /* Intervals whose k * 1e-6 is not the double nearest k us: still exact. */
  const double dts[] = {5e-6, 19e-6, 38e-6, 60e-6, 0.00025, 0.004};
  for (size_t i = 0; i < sizeof dts / sizeof dts[0]; i++) {
    g->dt = dts[i];
    assert_int_equal(psfwi_segy_write_gather(path, g, &e), PSFWI_OK);
    r = psfwi_segy_read_gather(path, &e);
    assert_non_null(r);
    assert_true(r->dt == dts[i]);
    psfwi_gather_destroy(r);
  }
  remove(path);
  /* The last bits of a computed dt are forgiven: it reads back as 1 ms. */
  g->dt = 0.001 * (1.0 + 1e-13);
  assert_true(g->dt != 0.001);
  assert_int_equal(psfwi_segy_write_gather(path, g, &e), PSFWI_OK);
  r = psfwi_segy_read_gather(path, &e);
  assert_non_null(r);
  assert_true(r->dt == 0.001);
  psfwi_gather_destroy(r);
  remove(path);

  /* Non-finite samples or positions. */
  g->data[(1 * 3 + 2) * 6 + 3] = NAN;
  expect_refused(path, g, PSFWI_ENONFINITE, "shot 1, receiver 2, sample 3 (trace 5)");
  g->data[(1 * 3 + 2) * 6 + 3] = 0.0f;
  g->data[0] = -INFINITY;
  expect_refused(path, g, PSFWI_ENONFINITE, "shot 0, receiver 0, sample 0");
  g->data[0] = 0.0f;
  g->survey->rz[1] = NAN;
  expect_refused(path, g, PSFWI_ENONFINITE, "receiver 1 of shot 0");
  g->survey->rz[1] = 1.0;
  g->survey->sx[1] = INFINITY;
  expect_refused(path, g, PSFWI_ENONFINITE, "source of shot 1");
  g->survey->sx[1] = 0.0;
  psfwi_gather_destroy(g);

  /* More samples than SEG-Y counts. */
  g = make_gather(1, 1, 65536, 0.001);
  expect_refused(path, g, PSFWI_EUNSUPPORTED, "65535");
  psfwi_gather_destroy(g);
  expect_refused(path, NULL, PSFWI_EINVAL, "no gather");

  /* A folder that does not exist: the error names the file. */
  g = make_gather(1, 2, 3, 0.001);
  const char *bad = tu_path("no/such/dir/x.sgy");
  assert_int_equal(psfwi_segy_write_gather(bad, g, &e), PSFWI_EIO);
  assert_non_null(strstr(e.msg, "no/such/dir/x.sgy"));
  psfwi_gather_destroy(g);
}

static void test_read_ibm(void **state) {
  (void)state;
  /* A written file turned into IBM float: format code 1, every sample an
   * IBM word. Values are exact in both formats. */
  const size_t nshot = 2, nrec = 3, nt = 5, ntr = 6;
  psfwi_gather *g = make_gather(nshot, nrec, nt, 0.002);
  for (size_t i = 0; i < ntr * nt; i++)
    g->data[i] = (float)((double)((int)(i * 37 % 101) - 50) * 0.375);
  g->data[3] = 1.0f / 1024.0f;
  g->data[4] = 3e7f;
  const char *path = tu_path("ieee.sgy");
  psfwi_error e;
  assert_int_equal(psfwi_segy_write_gather(path, g, &e), PSFWI_OK);
  size_t len;
  unsigned char *b = slurp(path, &len);
  put_be(b + 3224, 1, 2);
  for (size_t k = 0; k < ntr; k++)
    for (size_t it = 0; it < nt; it++)
      put_be(trh(b, nt, k) + 240 + 4 * it, ibm_word((double)g->data[k * nt + it]), 4);
  const char *ibm = tu_path("ibm.sgy");
  tu_write_file(ibm, b, len);
  free(b);
  psfwi_gather *r = psfwi_segy_read_gather(ibm, &e);
  assert_non_null(r);
  assert_same_gather(r, g);
  psfwi_gather_destroy(r);
  psfwi_gather_destroy(g);
}

/* A written file of nshot x nrec x 4 samples with every source at x = 50 m
 * (so FIELD_RECORD edits do not move sources), as bytes. */
static unsigned char *written(size_t nshot, size_t nrec, size_t *len) {
  psfwi_gather *g = make_gather(nshot, nrec, 4, 0.001);
  for (size_t is = 0; is < nshot; is++) g->survey->sx[is] = 50.0;
  for (size_t is = 0; is < nshot; is++) g->survey->sz[is] = 5.0;
  const char *path = tu_path("base.sgy");
  psfwi_error e;
  assert_int_equal(psfwi_segy_write_gather(path, g, &e), PSFWI_OK);
  psfwi_gather_destroy(g);
  return slurp(path, len);
}

static const char *edited(const unsigned char *b, size_t len, const char *name) {
  const char *path = tu_path(name);
  tu_write_file(path, b, len);
  return path;
}

static void test_read_errors(void **state) {
  (void)state;
  size_t len;
  unsigned char *b;
  char p[512];

  expect_fail(tu_path("absent.sgy"), PSFWI_EIO, "cannot open", NULL);
  tu_write_file(tu_path("tiny.sgy"), "hello", 5);
  expect_fail(tu_path("tiny.sgy"), PSFWI_EFORMAT, "not a SEG-Y", NULL);

  /* Truncated: the last trace lacks 6 bytes. */
  b = written(2, 3, &len);
  expect_fail(edited(b, len - 6, "trunc.sgy"), PSFWI_EFORMAT, "truncated", NULL);
  free(b);

  /* Scalars outside the standard's +-10000 (byte 71 coordinates, 69
   * elevations) are refused with the trace; 0 means 1. */
  b = written(2, 3, &len);
  put_be(trh(b, 4, 4) + 70, (uint32_t)(uint16_t)-32768, 2);
  expect_fail(edited(b, len, "scal71.sgy"), PSFWI_EFORMAT, "trace 4 has scalar -32768 in byte 71",
              "+-1 to +-10000");
  free(b);
  b = written(2, 3, &len);
  put_be(trh(b, 4, 1) + 68, 20000, 2);
  expect_fail(edited(b, len, "scal69.sgy"), PSFWI_EFORMAT, "trace 1 has scalar 20000 in byte 69",
              NULL);
  free(b);
  b = written(1, 2, &len);
  for (size_t k = 0; k < 2; k++) {
    const int32_t cs = get_s16(trh(b, 4, k) + 70);
    const int32_t gx = get_s32(trh(b, 4, k) + 80);
    /* whole metres with scalar 0 read as scalar 1 */
    put_be(trh(b, 4, k) + 70, 0, 2);
    put_be(trh(b, 4, k) + 80, (uint32_t)(cs < 0 ? gx / -cs : gx * cs), 4);
    put_be(trh(b, 4, k) + 72, 50, 4);
  }
  {
    psfwi_error e;
    psfwi_gather *z = psfwi_segy_read_gather(edited(b, len, "scal0.sgy"), &e);
    assert_non_null(z);
    assert_true(z->survey->sx[0] == 50.0);
    psfwi_gather_destroy(z);
  }
  free(b);

  /* A source that moves within a shot (a FIELD_RECORD edit in a file whose
   * shots have different sources). */
  psfwi_gather *g = make_gather(2, 3, 4, 0.001);
  psfwi_error e;
  snprintf(p, sizeof p, "%s", tu_path("moving.sgy"));
  assert_int_equal(psfwi_segy_write_gather(p, g, &e), PSFWI_OK);
  psfwi_gather_destroy(g);
  b = slurp(p, &len);
  put_be(trh(b, 4, 3) + 8, 1, 4);
  expect_fail(edited(b, len, "moving.sgy"), PSFWI_EFORMAT, "trace 3 (FIELD_RECORD 1)",
              "one source position per shot");
  free(b);

  /* A trace with another sample count or interval. */
  b = written(2, 3, &len);
  put_be(trh(b, 4, 2) + 114, 5, 2);
  expect_fail(edited(b, len, "ns.sgy"), PSFWI_EFORMAT, "trace 2 holds 5 samples (byte 115)",
              "expected 4");
  free(b);
  b = written(2, 3, &len);
  put_be(trh(b, 4, 5) + 116, 500, 2);
  expect_fail(edited(b, len, "dt.sgy"), PSFWI_EFORMAT,
              "trace 5 has a sample interval of 500 us (byte 117); expected 1000 us",
              "binary header byte 3217");
  /* Counts and intervals only in the binary header (0 in the traces, as in
   * segyio's files) are fine. */
  for (size_t k = 0; k < 6; k++) {
    put_be(trh(b, 4, k) + 114, 0, 2);
    put_be(trh(b, 4, k) + 116, 0, 2);
  }
  g = psfwi_segy_read_gather(edited(b, len, "bin_only.sgy"), &e);
  assert_non_null(g);
  assert_true(g->dt == 0.001 && g->nt == 4 && g->survey->nshot == 2 && g->survey->nrec == 3);
  psfwi_gather_destroy(g);
  /* ... and no interval anywhere is an error. */
  put_be(b + 3216, 0, 2);
  expect_fail(edited(b, len, "no_dt.sgy"), PSFWI_EFORMAT, "no sample interval", NULL);
  free(b);

  /* Unsupported sample format; a NaN sample in an IEEE file. */
  b = written(2, 3, &len);
  put_be(b + 3224, 3, 2);
  expect_fail(edited(b, len, "fmt3.sgy"), PSFWI_EUNSUPPORTED, "format code 3", NULL);
  put_be(b + 3224, 5, 2);
  put_be(trh(b, 4, 4) + 240 + 4 * 2, 0x7FC00000u, 4);
  expect_fail(edited(b, len, "nan.sgy"), PSFWI_ENONFINITE,
              "sample 2 of trace 4 (FIELD_RECORD 2, receiver 1)", NULL);
  free(b);
}

/* The file of g's traces in the order `order` (n of them, trace k = is *
 * nrec + ir of g), FIELD_RECORD as written (is + 1) or `record` if >= 0. */
static const char *reordered(const psfwi_gather *g, const size_t *order, size_t n, int record,
                             const char *name) {
  psfwi_error e;
  const char *full = tu_path("full.sgy");
  assert_int_equal(psfwi_segy_write_gather(full, g, &e), PSFWI_OK);
  size_t len;
  unsigned char *b = slurp(full, &len);
  const size_t per = 240 + 4 * g->nt;
  unsigned char *o = malloc(3600 + n * per);
  assert_non_null(o);
  memcpy(o, b, 3600);
  for (size_t i = 0; i < n; i++) {
    memcpy(o + 3600 + i * per, b + 3600 + order[i] * per, per);
    if (record >= 0) put_be(o + 3600 + i * per + 8, (uint32_t)record, 4);
  }
  const char *path = edited(o, 3600 + n * per, name);
  free(o);
  free(b);
  return path;
}

/* Trace j of r is trace k of g: samples and positions bit for bit. */
static void assert_trace(const psfwi_gather *r, size_t j, const psfwi_gather *g, size_t k) {
  const size_t nt = g->nt, rn = r->survey->nrec, gn = g->survey->nrec;
  assert_memory_equal(r->data + j * nt, g->data + k * nt, nt * sizeof(float));
  assert_true(r->survey->rx[j] == g->survey->rx[k] && r->survey->rz[j] == g->survey->rz[k]);
  assert_true(r->survey->sx[j / rn] == g->survey->sx[k / gn]);
  assert_true(r->survey->sz[j / rn] == g->survey->sz[k / gn]);
}

/* Unsorted traces and irregular spreads: shots in the order of their first
 * trace, traces in file order, short shots padded (live 0) at their last
 * receiver; the padded gather written again (SEG-Y: padding left out;
 * NetCDF: trace_live) reads back the same; one FIELD_RECORD for the whole
 * file groups by source position. */
static void test_irregular(void **state) {
  (void)state;
  psfwi_gather *g = make_gather(3, 4, 5, 0.002);
  psfwi_error e;
  /* shot 1 keeps traces 5 and 4 (in that order), shot 0 all, shot 2 all in
   * the order 8, 9, 11, 10; the file starts with shot 1 */
  const size_t order[] = {5, 0, 8, 1, 9, 2, 3, 11, 10, 4};
  const char *path = reordered(g, order, 10, -1, "irregular.sgy");
  psfwi_gather *r = psfwi_segy_read_gather(path, &e);
  assert_non_null(r);
  assert_int_equal(r->survey->nshot, 3);
  assert_int_equal(r->survey->nrec, 4);
  assert_non_null(r->live);
  const size_t expect[12] = {5, 4, 4, 4, 0, 1, 2, 3, 8, 9, 11, 10};
  const unsigned char live[12] = {1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
  assert_memory_equal(r->live, live, 12);
  for (size_t j = 0; j < 12; j++) {
    if (live[j]) {
      assert_trace(r, j, g, expect[j]);
      continue;
    }
    for (size_t it = 0; it < 5; it++) assert_true(r->data[j * 5 + it] == 0.0f);
    assert_true(r->survey->rx[j] == g->survey->rx[4] && r->survey->rz[j] == g->survey->rz[4]);
  }
  /* SEG-Y again: 10 traces (padding not written), the same gather */
  const char *again = tu_path("irregular2.sgy");
  assert_int_equal(psfwi_segy_write_gather(again, r, &e), PSFWI_OK);
  size_t len;
  unsigned char *b = slurp(again, &len);
  free(b);
  assert_int_equal(len, 3600 + 10 * (240 + 4 * 5));
  psfwi_gather *r2 = psfwi_segy_read_gather(again, &e);
  assert_non_null(r2);
  assert_same_gather(r2, r);
  assert_memory_equal(r2->live, r->live, 12);
  psfwi_gather_destroy(r2);
  /* NetCDF: trace_live */
  const char *nc = tu_path("irregular.nc");
  assert_int_equal(psfwi_nc_write_gather(nc, r, NULL, &e), PSFWI_OK);
  r2 = psfwi_nc_read_gather(nc, &e);
  assert_non_null(r2);
  assert_same_gather(r2, r);
  assert_non_null(r2->live);
  assert_memory_equal(r2->live, r->live, 12);
  psfwi_gather_destroy(r2);
  psfwi_gather_destroy(r);

  /* FIELD_RECORD 0 everywhere (sources differ): shots by source position,
   * here in reverse file order */
  const size_t back[] = {8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3};
  r = psfwi_segy_read_gather(reordered(g, back, 12, 0, "by_source.sgy"), &e);
  assert_non_null(r);
  assert_int_equal(r->survey->nshot, 3);
  assert_int_equal(r->survey->nrec, 4);
  assert_null(r->live);
  for (size_t j = 0; j < 12; j++) assert_trace(r, j, g, back[j]);
  psfwi_gather_destroy(r);
  /* a regular file reads without live */
  const size_t all[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  r = psfwi_segy_read_gather(reordered(g, all, 12, -1, "regular.sgy"), &e);
  assert_non_null(r);
  assert_null(r->live);
  assert_same_gather(r, g);
  psfwi_gather_destroy(r);
  psfwi_gather_destroy(g);

  /* FIELD_RECORD 1 coming back after 2 (3 shots of 2, the third relabelled
   * 1, every source at one place): shots of 4 and 2, the second padded */
  b = written(3, 2, &len);
  put_be(trh(b, 4, 4) + 8, 1, 4);
  put_be(trh(b, 4, 5) + 8, 1, 4);
  r = psfwi_segy_read_gather(edited(b, len, "runs.sgy"), &e);
  free(b);
  assert_non_null(r);
  assert_int_equal(r->survey->nshot, 2);
  assert_int_equal(r->survey->nrec, 4);
  const unsigned char live2[8] = {1, 1, 1, 1, 1, 1, 0, 0};
  assert_memory_equal(r->live, live2, 8);
  psfwi_gather_destroy(r);
}

static void test_shared_shot_gather(void **state) {
  (void)state;
  const char *shared = tu_shared("segy/segyio_shot-gather.sgy");
  if (shared == NULL) skip();
  char path[1024];
  snprintf(path, sizeof path, "%s", shared);
  /* 61 traces of 25 IBM samples at 1 ms; FIELD_RECORD 2, 3, 5, 8 with 10,
   * 12, 13 and 26 traces (the first sample of each is its FIELD_RECORD):
   * 4 shots of 26, the first three padded. */
  {
    psfwi_error e;
    psfwi_gather *g = psfwi_segy_read_gather(path, &e);
    assert_non_null(g);
    assert_int_equal(g->survey->nshot, 4);
    assert_int_equal(g->survey->nrec, 26);
    assert_non_null(g->live);
    const size_t count[4] = {10, 12, 13, 26};
    const float rec[4] = {2.0f, 3.0f, 5.0f, 8.0f};
    for (size_t is = 0; is < 4; is++)
      for (size_t ir = 0; ir < 26; ir++) {
        const size_t j = is * 26 + ir;
        assert_int_equal(g->live[j], ir < count[is]);
        assert_true(g->data[j * 25] == (ir < count[is] ? rec[is] : 0.0f));
      }
    psfwi_gather_destroy(g);
  }

  /* Its first 20 traces (FIELD_RECORD 2, and the first 10 of 3) are two
   * shots of 10: read them, IBM samples converted exactly. */
  size_t len;
  unsigned char *b = slurp(path, &len);
  const size_t per = 240 + 4 * 25;
  assert_int_equal(len, 3600 + 61 * per);
  const char *cut = tu_path("shot_gather_cut.sgy");
  tu_write_file(cut, b, 3600 + 20 * per);
  psfwi_error e;
  psfwi_gather *g = psfwi_segy_read_gather(cut, &e);
  assert_non_null(g);
  assert_int_equal(g->survey->nshot, 2);
  assert_int_equal(g->survey->nrec, 10);
  assert_int_equal(g->nt, 25);
  assert_true(g->dt == 0.001);
  for (size_t k = 0; k < 20; k++) {
    const unsigned char *h = b + 3600 + k * per;
    assert_true(g->data[k * 25] == (k < 10 ? 2.0f : 3.0f)); /* first sample = FIELD_RECORD */
    for (size_t it = 0; it < 25; it++)
      assert_true((double)g->data[k * 25 + it] == ibm_value(get_be(h + 240 + 4 * it, 4)));
    assert_true(g->survey->rx[k] == 0.0 && g->survey->rz[k] == 0.0);
  }
  psfwi_gather_destroy(g);
  free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_and_headers), cmocka_unit_test(test_scalars),
      cmocka_unit_test(test_write_refusals),        cmocka_unit_test(test_read_ibm),
      cmocka_unit_test(test_read_errors),           cmocka_unit_test(test_irregular),
      cmocka_unit_test(test_shared_shot_gather),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
