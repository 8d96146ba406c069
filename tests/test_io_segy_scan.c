/* psfwi_segy_scan_file (src/io/segy_scan.c): the geometry of a SEG-Y file
 * from its trace headers alone, on files psfwi's reader refuses:
 *  - a file written by psfwi, then rewritten byte by byte with its shots
 *    out of order, one trace of the first shot moved to the end (a shot
 *    that is not contiguous), two traces of another shot left out (an
 *    irregular spread), one offset (byte 37) wrong and one coordinate
 *    scalar 0: every trace's record, positions and offset come back, and
 *    the notes name the wrong offset and the zero scalar;
 *  - a scalar of -32768 is an error naming the trace and byte. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_io.h"
#include "testutil.h"

enum { NSHOT = 3, NREC = 6, NT = 50, HDR = 3600, TH = 240 };

static void put16(unsigned char *p, int v) {
  p[0] = (unsigned char)((v >> 8) & 0xff);
  p[1] = (unsigned char)(v & 0xff);
}
static void put32(unsigned char *p, int32_t v) {
  const uint32_t u = (uint32_t)v;
  p[0] = (unsigned char)(u >> 24), p[1] = (unsigned char)(u >> 16);
  p[2] = (unsigned char)(u >> 8), p[3] = (unsigned char)u;
}

static unsigned char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc(*n);
  assert_int_equal(fread(b, 1, *n, f), *n);
  fclose(f);
  return b;
}

static void test_scan_irregular(void **state) {
  (void)state;
  psfwi_error e;
  psfwi_survey *s = psfwi_survey_create(NSHOT, NREC, &e);
  assert_non_null(s);
  for (size_t is = 0; is < NSHOT; is++) {
    s->sx[is] = 100.0 + 250.0 * (double)is;
    s->sz[is] = 6.0;
    for (size_t ir = 0; ir < NREC; ir++) {
      s->rx[is * NREC + ir] = 20.0 * (double)ir + 50.0 * (double)is;
      s->rz[is * NREC + ir] = 3.0;
    }
  }
  psfwi_gather *g = psfwi_gather_create(s, NT, 0.004, &e);
  assert_non_null(g);
  for (size_t k = 0; k < NSHOT * NREC * NT; k++) g->data[k] = (float)(k % 17) - 8.0f;
  const char *regular = tu_path("scan_regular.segy"), *odd = tu_path("scan_odd.segy");
  assert_int_equal(psfwi_segy_write_gather(regular, g, &e), PSFWI_OK);
  size_t n;
  unsigned char *b = slurp(regular, &n);
  const size_t tb = TH + 4 * NT;
  assert_int_equal(n, HDR + NSHOT * NREC * tb);
  /* the new order of the original traces: shot 2, shot 1 without receivers
   * 1 and 4, shot 0 without receiver 0, then shot 0's receiver 0 */
  size_t order[NSHOT * NREC], m = 0;
  for (size_t ir = 0; ir < NREC; ir++) order[m++] = 2 * NREC + ir;
  for (size_t ir = 0; ir < NREC; ir++)
    if (ir != 1 && ir != 4) order[m++] = NREC + ir;
  for (size_t ir = 1; ir < NREC; ir++) order[m++] = ir;
  order[m++] = 0;
  FILE *f = fopen(odd, "wb");
  assert_non_null(f);
  fwrite(b, 1, HDR, f);
  for (size_t j = 0; j < m; j++) {
    unsigned char t[TH + 4 * NT];
    memcpy(t, b + HDR + order[j] * tb, tb);
    if (j == 3) put32(t + 36, 999); /* a wrong offset (byte 37) */
    if (j == 7) put16(t + 70, 0);   /* coordinate scalar 0 (byte 71): means 1 */
    fwrite(t, 1, tb, f);
  }
  fclose(f);
  psfwi_segy_scan sc;
  assert_int_equal(psfwi_segy_scan_file(odd, &sc, &e), PSFWI_OK);
  assert_int_equal(sc.ntrace, m);
  assert_int_equal(sc.ns, NT);
  assert_true(sc.dt == 0.004);
  for (size_t j = 0; j < m; j++) {
    const size_t k = order[j], is = k / NREC;
    assert_int_equal(sc.record[j], (int32_t)is + 1);
    assert_true(sc.sx[j] == s->sx[is] && sc.sz[j] == s->sz[is]);
    assert_true(sc.rx[j] == s->rx[k] && sc.rz[j] == s->rz[k]);
    if (j != 3) assert_int_equal(sc.offset[j], (int32_t)(s->rx[k] - s->sx[is]));
  }
  printf("  notes:\n%s", sc.notes ? sc.notes : "(none)\n");
  assert_non_null(sc.notes);
  assert_non_null(strstr(sc.notes, "trace 3: offset 999 m"));
  assert_non_null(strstr(sc.notes, "coordinate scalar 0"));
  psfwi_segy_scan_free(&sc);
  /* the gather reader takes the same file: shots 2, 1, 0 in the order of
   * their first trace, traces in file order, shot 1 padded with 2 traces */
  psfwi_gather *rd = psfwi_segy_read_gather(odd, &e);
  assert_non_null(rd);
  assert_int_equal(rd->survey->nshot, NSHOT);
  assert_int_equal(rd->survey->nrec, NREC);
  assert_non_null(rd->live);
  size_t j = 0;
  for (size_t js = 0; js < NSHOT; js++) {
    const size_t is = NSHOT - 1 - js;
    assert_true(rd->survey->sx[js] == s->sx[is]);
    for (size_t ir = 0; ir < NREC; ir++) {
      const size_t slot = js * NREC + ir;
      const int pad = is == 1 && ir >= NREC - 2;
      assert_int_equal(rd->live[slot], !pad);
      if (pad) continue;
      const size_t k = order[j++];
      assert_true(rd->survey->rx[slot] == s->rx[k]);
      assert_memory_equal(rd->data + slot * NT, g->data + k * NT, NT * sizeof(float));
    }
  }
  assert_int_equal(j, m);
  psfwi_gather_destroy(rd);
  /* a scalar beyond the standard: an error naming the trace and byte */
  f = fopen(odd, "r+b");
  assert_non_null(f);
  unsigned char sc2[2];
  put16(sc2, 0x8000); /* -32768 */
  fseek(f, (long)(HDR + 5 * tb + 70), SEEK_SET);
  fwrite(sc2, 1, 2, f);
  fclose(f);
  assert_int_equal(psfwi_segy_scan_file(odd, &sc, &e), PSFWI_EFORMAT);
  assert_non_null(strstr(e.msg, "trace 5 has scalar -32768 in byte 71"));
  free(b);
  psfwi_gather_destroy(g);
  psfwi_survey_destroy(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_scan_irregular)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
