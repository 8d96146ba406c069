/* SEG-Y shot gathers through segyio's C API.
 *
 * One trace per (shot, receiver): trace k = is * nrec + ir, shots in order,
 * receivers in order, samples it * dt. The headers that carry the gather:
 *  - FIELD_RECORD (byte 9) = is + 1 groups the traces into shots; the
 *    trace number within the field record (byte 13) = ir + 1 and the energy
 *    source point (byte 17) = is + 1 are written for other tools;
 *  - SourceX (73) and GroupX (81) in metres with the coordinate scalar of
 *    byte 71; SourceY and GroupY are 0 (a 2D line along x);
 *  - source depth (49, positive down) and receiver group elevation (41,
 *    positive up, so minus the receiver depth) in metres with the elevation
 *    scalar of byte 69;
 *  - offset (37) = GroupX - SourceX rounded to whole metres (informative:
 *    the reader takes positions from the X fields);
 *  - sample count (115, binary 3221) and interval (117, binary 3217) in us.
 * The writer picks, separately for coordinates and for depths, the coarsest
 * unit among 1 m, 1 dm, 1 cm, 1 mm and 0.1 mm (scalar 1, -10, -100, -1000,
 * -10000) in which every position is a whole number within 32 bits, so the
 * reader, dividing the same way, gets every position back bit for bit. The
 * source wavelet has no place in SEG-Y: it is not stored, and reads as 0. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <segyio/segy.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_io.h"
#include "segy_internal.h"

/* ---- Writing ---------------------------------------------------------------- */

/* Index of the first of the n values sign * v[i] that is not a whole number
 * of 1/s metres within 32 bits (reading back divides by s exactly as here);
 * n when all are. */
static size_t first_inexact(const double *v, size_t n, double sign, double s) {
  for (size_t i = 0; i < n; i++) {
    const double x = sign * v[i];
    const double a = nearbyint(x * s);
    if (!(fabs(a) <= 2147483647.0 && a / s == x)) return i;
  }
  return n;
}

/* The coarsest unit 1/s m (s = 1, 10, ..., 10000) that stores both sets
 * exactly; 0 if none does. */
static int32_t pick_divisor(const double *a, size_t na, double sa, const double *b, size_t nb,
                            double sb) {
  for (int32_t s = 1; s <= 10000; s *= 10)
    if (first_inexact(a, na, sa, (double)s) == na && first_inexact(b, nb, sb, (double)s) == nb)
      return s;
  return 0;
}

/* Refusal of a position set no unit stores: names the first value that
 * fails in the finest unit. */
static int refuse_positions(const char *path, const psfwi_survey *s, int depth, psfwi_error *err) {
  const double *a = depth ? s->sz : s->sx, *b = depth ? s->rz : s->rx;
  const size_t na = s->nshot, nb = s->nshot * s->nrec;
  const size_t ia = first_inexact(a, na, 1.0, 10000.0);
  const size_t ib = ia < na ? nb : first_inexact(b, nb, depth ? -1.0 : 1.0, 10000.0);
  char who[96];
  double v = 0.0;
  if (ia < na) {
    snprintf(who, sizeof who, "source %s of shot %zu", depth ? "depth" : "x", ia);
    v = a[ia];
  } else {
    const size_t i = ib < nb ? ib : 0;
    snprintf(who, sizeof who, "%s of receiver %zu of shot %zu", depth ? "depth" : "x", i % s->nrec,
             i / s->nrec);
    v = b[i];
  }
  return psfwi_fail(err, PSFWI_EUNSUPPORTED,
                    "'%s': the %s, %.17g m, cannot be stored exactly in SEG-Y's 32-bit %s "
                    "(whole units of 1 m down to 0.1 mm with the scalar of byte %d, so at "
                    "most +-214748.3647 m in units of 0.1 mm, one unit for the whole file); "
                    "nothing written",
                    path, who, v, depth ? "depth/elevation fields" : "coordinates",
                    depth ? 69 : 71);
}

/* Textual header describing the gather. */
static void gather_text(char *t, const psfwi_gather *g, long us, int32_t xscalar, int32_t zscalar) {
  const psfwi_survey *s = g->survey;
  char l[8][100];
  const char *lines[40] = {0};
  snprintf(l[0], sizeof l[0], "PSFWI %s SHOT GATHERS (ACOUSTIC PRESSURE)", PSFWI_VERSION_STRING);
  snprintf(l[1], sizeof l[1], "%zu SHOTS IN ORDER: FIELD_RECORD (BYTE 9) FROM 1", s->nshot);
  snprintf(l[2], sizeof l[2], "%zu RECEIVERS PER SHOT: TRACE NUMBER IN RECORD (BYTE 13) FROM 1",
           s->nrec);
  snprintf(l[3], sizeof l[3], "%zu SAMPLES PER TRACE, DT = %.10g S = %ld US (BYTE 3217)", g->nt,
           g->dt, us);
  snprintf(l[4], sizeof l[4], "SOURCE X (BYTE 73), GROUP X (BYTE 81) IN M, SCALAR %d (BYTE 71)",
           (int)xscalar);
  snprintf(l[5], sizeof l[5], "SOURCE DEPTH (49), GROUP ELEVATION = -DEPTH (41), SCALAR %d (69)",
           (int)zscalar);
  snprintf(l[6], sizeof l[6], "OFFSET (BYTE 37) = GROUP X - SOURCE X IN WHOLE M");
  snprintf(l[7], sizeof l[7], "IEEE FLOAT32 (FORMAT 5), BIG-ENDIAN; NO SOURCE WAVELET STORED");
  for (int i = 0; i < 8; i++) lines[i] = l[i];
  lines[38] = "SEG Y REV1";
  lines[39] = "END TEXTUAL HEADER";
  psfwi_segy_cards(t, lines);
}

int psfwi_segy_write_gather(const char *path, const psfwi_gather *g, psfwi_error *err) {
  if (g == NULL || g->survey == NULL || g->data == NULL)
    return psfwi_fail(err, PSFWI_EINVAL, "'%s': no gather to write", path);
  const psfwi_survey *s = g->survey;
  const size_t nshot = s->nshot, nrec = s->nrec, nt = g->nt;
  if (nshot < 1 || nrec < 1 || nt < 1)
    return psfwi_fail(err, PSFWI_EINVAL,
                      "'%s': gather of %zu shots x %zu receivers x %zu samples; expected at "
                      "least 1 of each",
                      path, nshot, nrec, nt);
  if (nt > 65535 || nrec > (size_t)(INT32_MAX - 1) / nshot)
    return psfwi_fail(err, PSFWI_EUNSUPPORTED,
                      "'%s': %zu shots x %zu receivers x %zu samples: SEG-Y holds at most 65535 "
                      "samples per trace, and segyio at most 2^31 - 1 traces",
                      path, nshot, nrec, nt);
  /* dt as whole microseconds in a 16-bit field. A relative slack of 1e-9
   * forgives the last bits of a computed dt (reading gives us / 1e6). */
  const double us = g->dt * 1e6, k = nearbyint(us);
  if (!(k >= 1.0 && k <= 65535.0 && fabs(us - k) <= 1e-9 * k))
    return psfwi_fail(err, PSFWI_EUNSUPPORTED,
                      "'%s': dt = %.17g s is not a whole number of microseconds from 1 to 65535 "
                      "(SEG-Y's 16-bit sample interval, bytes 3217 and 117); resample the "
                      "gather; nothing written",
                      path, g->dt);
  const long interval = (long)k;
  const size_t ntr = nshot * nrec;
  for (size_t i = 0; i < ntr * nt; i++)
    if (!isfinite(g->data[i]))
      return psfwi_fail(err, PSFWI_ENONFINITE,
                        "'%s': pressure at shot %zu, receiver %zu, sample %zu (trace %zu) is "
                        "not finite; nothing written",
                        path, i / nt / nrec, (i / nt) % nrec, i % nt, i / nt);
  for (size_t is = 0; is < nshot; is++)
    if (!isfinite(s->sx[is]) || !isfinite(s->sz[is]))
      return psfwi_fail(err, PSFWI_ENONFINITE,
                        "'%s': source of shot %zu at (%g, %g) m is not finite; nothing written",
                        path, is, s->sx[is], s->sz[is]);
  for (size_t i = 0; i < ntr; i++)
    if (!isfinite(s->rx[i]) || !isfinite(s->rz[i]))
      return psfwi_fail(err, PSFWI_ENONFINITE,
                        "'%s': receiver %zu of shot %zu at (%g, %g) m is not finite; nothing "
                        "written",
                        path, i % nrec, i / nrec, s->rx[i], s->rz[i]);
  /* Units: coordinates for SourceX/GroupX; depths for source depth and
   * group elevation (= -receiver depth). */
  const int32_t xdiv = pick_divisor(s->sx, nshot, 1.0, s->rx, ntr, 1.0);
  if (xdiv == 0) return refuse_positions(path, s, 0, err);
  const int32_t zdiv = pick_divisor(s->sz, nshot, 1.0, s->rz, ntr, -1.0);
  if (zdiv == 0) return refuse_positions(path, s, 1, err);
  for (size_t i = 0; i < ntr; i++) {
    const double off = round(s->rx[i] - s->sx[i / nrec]);
    if (!(fabs(off) <= 2147483647.0))
      return psfwi_fail(err, PSFWI_EUNSUPPORTED,
                        "'%s': offset of receiver %zu of shot %zu, %.17g m, does not fit the "
                        "32-bit offset field (byte 37); nothing written",
                        path, i % nrec, i / nrec, off);
  }
  const int32_t xscalar = xdiv == 1 ? 1 : -xdiv, zscalar = zdiv == 1 ? 1 : -zdiv;

  char text[SEGY_TEXT_HEADER_SIZE + 1], bin[SEGY_BINARY_HEADER_SIZE], th[SEGY_TRACE_HEADER_SIZE];
  gather_text(text, g, interval, xscalar, zscalar);
  memset(bin, 0, sizeof bin);
  segy_set_bfield(bin, SEGY_BIN_TRACES, nrec <= 65535 ? (int32_t)nrec : 0); /* per ensemble */
  segy_set_bfield(bin, SEGY_BIN_SORTING_CODE, 1); /* as recorded: shot gathers */
  psfwi_segy_out o;
  int st = psfwi_segy_out_open(&o, path, nt, text, bin, (int32_t)interval, err);
  if (st != PSFWI_OK) return st;
  size_t tr = 0; /* traces written (padding, g->live[i] = 0, is not) */
  for (size_t i = 0; i < ntr && o.rc == SEGY_OK; i++) {
    if (g->live != NULL && !g->live[i]) continue;
    const size_t is = i / nrec, ir = i % nrec;
    const double sx = s->sx[is], rx = s->rx[i];
    memset(th, 0, sizeof th);
    segy_set_field(th, SEGY_TR_SEQ_LINE, (int32_t)(tr + 1));
    segy_set_field(th, SEGY_TR_SEQ_FILE, (int32_t)(tr + 1));
    segy_set_field(th, SEGY_TR_FIELD_RECORD, (int32_t)(is + 1));
    segy_set_field(th, SEGY_TR_NUMBER_ORIG_FIELD, (int32_t)(ir + 1));
    segy_set_field(th, SEGY_TR_ENERGY_SOURCE_POINT, (int32_t)(is + 1));
    segy_set_field(th, SEGY_TR_TRACE_ID, 1); /* seismic data */
    segy_set_field(th, SEGY_TR_DATA_USE, 1); /* production */
    segy_set_field(th, SEGY_TR_OFFSET, (int32_t)round(rx - sx));
    segy_set_field(th, SEGY_TR_RECV_GROUP_ELEV, (int32_t)nearbyint(-s->rz[i] * (double)zdiv));
    segy_set_field(th, SEGY_TR_SOURCE_DEPTH, (int32_t)nearbyint(s->sz[is] * (double)zdiv));
    segy_set_field(th, SEGY_TR_ELEV_SCALAR, zscalar);
    segy_set_field(th, SEGY_TR_SOURCE_GROUP_SCALAR, xscalar);
    segy_set_field(th, SEGY_TR_SOURCE_X, (int32_t)nearbyint(sx * (double)xdiv));
    segy_set_field(th, SEGY_TR_SOURCE_Y, 0);
    segy_set_field(th, SEGY_TR_GROUP_X, (int32_t)nearbyint(rx * (double)xdiv));
    segy_set_field(th, SEGY_TR_GROUP_Y, 0);
    segy_set_field(th, SEGY_TR_COORD_UNITS, 1); /* length (metres) */
    segy_set_field(th, SEGY_TR_SAMPLE_COUNT, (int32_t)nt);
    segy_set_field(th, SEGY_TR_SAMPLE_INTER, (int32_t)interval);
    memcpy(o.trace, g->data + i * nt, nt * sizeof *o.trace);
    psfwi_segy_out_trace(&o, tr, th);
    tr++;
  }
  return psfwi_segy_out_close(&o, path, err);
}

/* ---- Reading ---------------------------------------------------------------- */

/* A trace's shot key and its place in the file. */
typedef struct trace_key {
  int32_t rec;
  int by_source; /* group by source position too */
  double sx, sz;
  size_t k;
} trace_key;

static int cmp_trace(const void *pa, const void *pb) {
  const trace_key *a = pa, *b = pb;
  if (a->rec != b->rec) return a->rec < b->rec ? -1 : 1;
  if (a->by_source) {
    if (a->sx != b->sx) return a->sx < b->sx ? -1 : 1;
    if (a->sz != b->sz) return a->sz < b->sz ? -1 : 1;
  }
  return a->k < b->k ? -1 : (a->k > b->k ? 1 : 0);
}

static int cmp_size(const void *pa, const void *pb) {
  const size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
  return a < b ? -1 : (a > b ? 1 : 0);
}

/* The shots of n traces with records rec and source positions sx, sz:
 * traces grouped by FIELD_RECORD, or by source position when every trace
 * has the same FIELD_RECORD but the sources differ; shots in the order of
 * their first trace, traces in file order within a shot. Fills shot[k] and
 * slot[k] (the trace's place within its shot), first[is] (the shot's first
 * trace), *nshot and *nrec (the most traces of any shot); a source that
 * moves within a FIELD_RECORD is PSFWI_EFORMAT naming the trace. */
static int group_traces(const char *path, size_t n, const int32_t *rec, const double *sx,
                        const double *sz, size_t *shot, size_t *slot, size_t *first, size_t *nshot,
                        size_t *nrec, psfwi_error *err) {
  int one_record = 1, one_source = 1;
  for (size_t k = 1; k < n; k++) {
    one_record &= rec[k] == rec[0];
    one_source &= sx[k] == sx[0] && sz[k] == sz[0];
  }
  const int by_source = one_record && !one_source;
  trace_key *key = malloc(n * sizeof *key);
  size_t *order = malloc(n * sizeof *order);
  int st = key && order
               ? PSFWI_OK
               : psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory for %zu traces", path, n);
  size_t ng = 0;
  for (size_t k = 0; st == PSFWI_OK && k < n; k++)
    key[k] = (trace_key){.rec = rec[k], .by_source = by_source, .sx = sx[k], .sz = sz[k], .k = k};
  if (st == PSFWI_OK) qsort(key, n, sizeof *key, cmp_trace);
  /* runs of one key: group g starts at key[order[g]]; its first trace is
   * key[..].k (the run is sorted by trace) */
  for (size_t i = 0; st == PSFWI_OK && i < n; i++) {
    const trace_key *a = &key[i], *r = ng ? &key[order[ng - 1]] : NULL;
    if (r == NULL ||
        cmp_trace(
            &(trace_key){
                .rec = a->rec, .by_source = by_source, .sx = a->sx, .sz = a->sz, .k = r->k},
            r) != 0)
      order[ng++] = i;
    else if (!by_source && (a->sx != r->sx || a->sz != r->sz))
      st = psfwi_fail(err, PSFWI_EFORMAT,
                      "'%s': trace %zu (FIELD_RECORD %d) has its source at x = %.10g m, depth "
                      "%.10g m (bytes 73, 49) but the shot's first trace %zu has x = %.10g m, "
                      "depth %.10g m; expected one source position per shot",
                      path, a->k, (int)a->rec, a->sx, a->sz, r->k, r->sx, r->sz);
  }
  if (st == PSFWI_OK) {
    /* shots in the order of their first trace */
    for (size_t g = 0; g < ng; g++) first[g] = key[order[g]].k;
    qsort(first, ng, sizeof *first, cmp_size);
    size_t most = 0;
    for (size_t g = 0; g < ng; g++) {
      const size_t i0 = order[g], i1 = g + 1 < ng ? order[g + 1] : n;
      const size_t *at = bsearch(&key[i0].k, first, ng, sizeof *first, cmp_size);
      const size_t is = (size_t)(at - first);
      for (size_t i = i0; i < i1; i++) {
        shot[key[i].k] = is;
        slot[key[i].k] = i - i0;
      }
      most = i1 - i0 > most ? i1 - i0 : most;
    }
    *nshot = ng;
    *nrec = most;
  }
  free(key);
  free(order);
  return st;
}

psfwi_gather *psfwi_segy_read_gather(const char *path, psfwi_error *err) {
  psfwi_segy_in in;
  if (psfwi_segy_open_in(path, &in, err) != PSFWI_OK) return NULL;
  segy_file *fp = in.fp;
  const int ns = in.ns, ntr = in.ntr;
  const size_t nt = (size_t)ns, n = (size_t)ntr;
  psfwi_gather *g = NULL;
  psfwi_survey *s = NULL;
  int32_t *rec = NULL;
  size_t *shot = NULL, *slot = NULL, *first = NULL, *count = NULL;
  double *rx = NULL, *rz = NULL, *tsx = NULL, *tsz = NULL;
  char th[SEGY_TRACE_HEADER_SIZE];
  int rc;

  /* Sample interval: binary header, else the first trace header. */
  int32_t v = 0;
  const char *iwhere = "binary header byte 3217";
  segy_get_bfield(in.bin, SEGY_BIN_INTERVAL, &v);
  int32_t interval = psfwi_segy_u16(v);
  if (interval == 0) {
    segy_get_field(in.th0, SEGY_TR_SAMPLE_INTER, &v);
    interval = psfwi_segy_u16(v);
    iwhere = "byte 117 of trace 0";
  }
  if (interval == 0) {
    psfwi_fail(err, PSFWI_EFORMAT,
               "'%s': no sample interval in the binary header (byte 3217) or the first trace "
               "header (byte 117); expected the time step in microseconds",
               path);
    goto fail;
  }

  /* Pass 1: headers. */
  rec = malloc(n * sizeof *rec);
  shot = malloc(n * sizeof *shot);
  slot = malloc(n * sizeof *slot);
  first = malloc(n * sizeof *first);
  rx = malloc(n * sizeof *rx);
  rz = malloc(n * sizeof *rz);
  tsx = malloc(n * sizeof *tsx);
  tsz = malloc(n * sizeof *tsz);
  if (!rec || !shot || !slot || !first || !rx || !rz || !tsx || !tsz) {
    psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory for the headers of %d traces", path, ntr);
    goto fail;
  }
  for (int k = 0; k < ntr; k++) {
    const size_t i = (size_t)k;
    if ((rc = segy_traceheader(fp, k, th, in.trace0, in.bsize)) != SEGY_OK) {
      psfwi_fail(err, PSFWI_EIO, "'%s': cannot read the header of trace %d: %s", path, k,
                 psfwi_segy_text(rc));
      goto fail;
    }
    const psfwi_segy_words w = psfwi_segy_read_words(th);
    const int32_t cnt = w.count, inter = w.interval, cs = w.coord_scalar, es = w.elev_scalar;
    if (cnt != 0 && psfwi_segy_u16(cnt) != ns) {
      psfwi_fail(err, PSFWI_EFORMAT,
                 "'%s': trace %d holds %d samples (byte 115); expected %d, as in the rest of "
                 "the file",
                 path, k, (int)psfwi_segy_u16(cnt), ns);
      goto fail;
    }
    if (inter != 0 && psfwi_segy_u16(inter) != interval) {
      psfwi_fail(err, PSFWI_EFORMAT,
                 "'%s': trace %d has a sample interval of %d us (byte 117); expected %d us, "
                 "as in %s",
                 path, k, (int)psfwi_segy_u16(inter), (int)interval, iwhere);
      goto fail;
    }
    if (psfwi_segy_scalar_check(path, k, 71, cs, err) != PSFWI_OK ||
        psfwi_segy_scalar_check(path, k, 69, es, err) != PSFWI_OK)
      goto fail;
    rec[i] = w.record;
    tsx[i] = psfwi_segy_scaled(w.sx, cs);
    tsz[i] = psfwi_segy_scaled(w.sdepth, es);
    rx[i] = psfwi_segy_scaled(w.gx, cs);
    rz[i] = 0.0 - psfwi_segy_scaled(w.gelev, es); /* elevation, up; 0.0 - keeps +0 */
  }
  size_t nshot = 0, nrec = 0;
  if (group_traces(path, n, rec, tsx, tsz, shot, slot, first, &nshot, &nrec, err) != PSFWI_OK)
    goto fail;

  /* The gather: shot is's trace j at is * nrec + j; a shot with fewer
   * traces than nrec is padded with traces of zeros at its last receiver,
   * marked not live. */
  if ((count = calloc(nshot, sizeof *count)) == NULL ||
      (s = psfwi_survey_create(nshot, nrec, err)) == NULL) {
    if (count == NULL) psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory", path);
    goto fail;
  }
  for (size_t is = 0; is < nshot; is++) {
    s->sx[is] = tsx[first[is]];
    s->sz[is] = tsz[first[is]];
  }
  for (size_t k = 0; k < n; k++) {
    const size_t j = shot[k] * nrec + slot[k];
    s->rx[j] = rx[k];
    s->rz[j] = rz[k];
    count[shot[k]]++;
  }
  g = psfwi_gather_create(s, nt, (double)interval / 1e6, err);
  if (g == NULL) goto fail;
  if (n < nshot * nrec) {
    if ((g->live = malloc(nshot * nrec)) == NULL) {
      psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory", path);
      goto fail;
    }
    for (size_t is = 0; is < nshot; is++)
      for (size_t j = 0; j < nrec; j++) {
        const size_t last = is * nrec + count[is] - 1;
        g->live[is * nrec + j] = j < count[is];
        if (j >= count[is]) {
          g->survey->rx[is * nrec + j] = g->survey->rx[last];
          g->survey->rz[is * nrec + j] = g->survey->rz[last];
        }
      }
  }
  for (int k = 0; k < ntr; k++) {
    const size_t j = shot[k] * nrec + slot[k];
    float *t = g->data + j * nt;
    if ((rc = segy_readtrace(fp, k, t, in.trace0, in.bsize)) != SEGY_OK) {
      psfwi_fail(err, PSFWI_EIO, "'%s': cannot read the samples of trace %d: %s", path, k,
                 psfwi_segy_text(rc));
      goto fail;
    }
    segy_to_native(in.fmt, ns, t);
    for (size_t it = 0; it < nt; it++)
      if (!isfinite(t[it])) {
        psfwi_fail(err, PSFWI_ENONFINITE,
                   "'%s': sample %zu of trace %d (FIELD_RECORD %d, receiver %zu) is not "
                   "finite; expected finite pressure",
                   path, it, k, (int)rec[k], slot[k]);
        goto fail;
      }
  }
  rc = segy_close(fp);
  fp = NULL;
  if (rc != SEGY_OK) {
    psfwi_fail(err, PSFWI_EIO, "'%s': error closing the file", path);
    goto fail;
  }
  goto done;
fail:
  if (fp != NULL) segy_close(fp);
  psfwi_gather_destroy(g);
  g = NULL;
done:
  psfwi_survey_destroy(s);
  free(rec);
  free(shot);
  free(slot);
  free(first);
  free(count);
  free(rx);
  free(rz);
  free(tsx);
  free(tsz);
  return g;
}
