/* SEG-Y velocity models through segyio's C API.
 *
 * A model is one 2D line: trace ix holds the column x = x0 + ix dx, sample iz
 * the depth z = z0 + iz dz. Depth models reuse SEG-Y's time fields:
 *  - dz: the sample interval (binary header byte 3217, else trace header
 *    byte 117) in "microseconds" read as millimetres (4000 = 4 m);
 *  - z0: the delay recording time (byte 109) in "milliseconds" read as
 *    metres, with the time scalar of byte 215 (rev 1);
 *  - x: CDP_X (byte 181) with the coordinate scalar of byte 71 (negative:
 *    divide, positive: multiply, 0: 1); dx from consecutive differences.
 *
 * Reading accepts big-endian IBM float (format 1) and IEEE float (format 5)
 * traces; segyio converts them (segy_to_native). Writing produces rev 1,
 * IEEE float32, big-endian, an EBCDIC textual header, and coordinates in
 * the smallest power-of-ten unit (m, dm, cm, mm, 0.1 mm) that stores x0 and
 * dx exactly, so reading back gives the same grid and values bit for bit.
 * Helpers shared with the shot-gather reader and writer (segy_gather.c),
 * among them psfwi_segy_open_in below, are declared in segy_internal.h. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <segyio/segy.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "psfwi_io.h"
#include "segy_internal.h"

int psfwi_segy_open_in(const char *path, psfwi_segy_in *in, psfwi_error *err) {
  segy_file *fp = NULL;
  int rc;
  struct stat stt;
  memset(in, 0, sizeof *in);
  if (stat(path, &stt) != 0)
    return psfwi_fail(err, PSFWI_EIO, "cannot open '%s': %s", path, strerror(errno));
  const long long fsize = (long long)stt.st_size;
  if (fsize < SEGY_TEXT_HEADER_SIZE + SEGY_BINARY_HEADER_SIZE + SEGY_TRACE_HEADER_SIZE)
    return psfwi_fail(err, PSFWI_EFORMAT,
                      "'%s' is not a SEG-Y file: %lld bytes, less than the 3600-byte file "
                      "headers and one 240-byte trace header",
                      path, fsize);
  fp = segy_open(path, "rb");
  if (fp == NULL) return psfwi_fail(err, PSFWI_EIO, "cannot open '%s': %s", path, strerror(errno));
  char *const bin = in->bin, *const th = in->th0;
  if ((rc = segy_binheader(fp, bin)) != SEGY_OK) {
    psfwi_fail(err, PSFWI_EIO, "'%s': cannot read the binary header: %s", path,
               psfwi_segy_text(rc));
    goto fail;
  }
  /* Sample format: bytes 3225-3226, big-endian. A little-endian file shows a
   * byte-swapped code. */
  const int fmt = segy_format(bin);
  if (fmt != SEGY_IBM_FLOAT_4_BYTE && fmt != SEGY_IEEE_FLOAT_4_BYTE) {
    const int swapped = ((fmt & 0xFF) << 8) | ((fmt >> 8) & 0xFF);
    if (fmt > 0xFF && swapped >= 1 && swapped <= 16)
      psfwi_fail(err, PSFWI_EUNSUPPORTED,
                 "'%s' looks like little-endian SEG-Y (format code %d byte-swapped); only "
                 "big-endian SEG-Y is supported",
                 path, swapped);
    else
      psfwi_fail(err, PSFWI_EUNSUPPORTED,
                 "'%s': sample format code %d (binary header byte 3225) is not supported; "
                 "expected 1 (IBM float) or 5 (IEEE float)",
                 path, fmt);
    goto fail;
  }
  int32_t ext = 0;
  segy_get_bfield(bin, SEGY_BIN_EXT_HEADERS, &ext);
  if (ext < 0 || ext > 1000) {
    psfwi_fail(err, PSFWI_EFORMAT,
               "'%s': %d extended textual headers (binary header byte 3505); expected 0 to 1000",
               path, (int)ext);
    goto fail;
  }
  const long trace0 = segy_trace0(bin);
  if (trace0 + SEGY_TRACE_HEADER_SIZE > fsize) {
    psfwi_fail(err, PSFWI_EFORMAT,
               "'%s': the first trace would start at byte %ld (after %d extended headers), "
               "beyond the file's %lld bytes",
               path, trace0, (int)ext, fsize);
    goto fail;
  }
  /* Samples per trace: binary header, else the first trace header. */
  int ns = psfwi_segy_u16(segy_samples(bin));
  int32_t v = 0;
  if ((rc = segy_traceheader(fp, 0, th, trace0, 0)) != SEGY_OK) {
    psfwi_fail(err, PSFWI_EIO, "'%s': cannot read the first trace header: %s", path,
               psfwi_segy_text(rc));
    goto fail;
  }
  if (ns <= 0) {
    segy_get_field(th, SEGY_TR_SAMPLE_COUNT, &v);
    ns = psfwi_segy_u16(v);
  }
  if (ns <= 0) {
    psfwi_fail(err, PSFWI_EFORMAT,
               "'%s': no sample count in the binary header (byte 3221) or the first trace "
               "header (byte 115)",
               path);
    goto fail;
  }
  const int bsize = segy_trsize(fmt, ns);
  int ntr = 0;
  rc = segy_traces(fp, &ntr, trace0, bsize);
  if (rc != SEGY_OK || ntr < 1) {
    const long long per = SEGY_TRACE_HEADER_SIZE + (long long)bsize;
    psfwi_fail(err, PSFWI_EFORMAT,
               "'%s': %lld bytes is not %ld + k x %lld (240-byte header + %d samples of 4 "
               "bytes per trace): truncated, or a wrong sample count",
               path, fsize, trace0, per, ns);
    goto fail;
  }
  in->fp = fp;
  in->fmt = fmt;
  in->trace0 = trace0;
  in->ns = ns;
  in->bsize = bsize;
  in->ntr = ntr;
  return PSFWI_OK;
fail:
  segy_close(fp);
  return err ? err->status : PSFWI_EFORMAT;
}

psfwi_model *psfwi_segy_read_model(const char *path, const psfwi_segy_opts *opts,
                                   psfwi_error *err) {
  const double dx_opt = opts != NULL && opts->dx > 0.0 ? opts->dx : 0.0;
  const double dz_opt = opts != NULL && opts->dz > 0.0 ? opts->dz : 0.0;
  psfwi_model *m = NULL;
  int32_t *cdpx = NULL;
  float *trace = NULL;
  int rc;
  psfwi_segy_in in;
  if (psfwi_segy_open_in(path, &in, err) != PSFWI_OK) return NULL;
  segy_file *fp = in.fp;
  const char *const bin = in.bin;
  char th[SEGY_TRACE_HEADER_SIZE];
  memcpy(th, in.th0, sizeof th);
  const int fmt = in.fmt, ns = in.ns, bsize = in.bsize, ntr = in.ntr;
  const long trace0 = in.trace0;
  int32_t v = 0;
  /* Sample interval: binary header, else the first trace header. */
  double dz = dz_opt;
  if (dz <= 0.0) {
    segy_get_bfield(bin, SEGY_BIN_INTERVAL, &v);
    int32_t interval = psfwi_segy_u16(v);
    if (interval == 0) {
      segy_get_field(th, SEGY_TR_SAMPLE_INTER, &v);
      interval = psfwi_segy_u16(v);
    }
    if (interval == 0) {
      psfwi_fail(err, PSFWI_EFORMAT,
                 "'%s': no sample interval in the binary header (byte 3217) or the first trace "
                 "header (byte 117); give dz",
                 path);
      goto fail;
    }
    dz = (double)interval / 1000.0; /* microseconds read as mm -> m */
  }
  psfwi_grid g = {.nx = (size_t)ntr, .nz = (size_t)ns, .dx = dx_opt > 0.0 ? dx_opt : 1.0, .dz = dz};
  m = psfwi_model_create(&g, err);
  cdpx = malloc((size_t)ntr * sizeof *cdpx);
  trace = malloc((size_t)bsize);
  if (m == NULL || cdpx == NULL || trace == NULL) {
    if (m != NULL) psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory", path);
    goto fail;
  }
  int32_t scalar0 = 0, delay = 0, tscalar = 0;
  const size_t nx = (size_t)ntr, nz = (size_t)ns;
  for (int it = 0; it < ntr; it++) {
    if ((rc = segy_traceheader(fp, it, th, trace0, bsize)) != SEGY_OK ||
        (rc = segy_readtrace(fp, it, trace, trace0, bsize)) != SEGY_OK) {
      psfwi_fail(err, PSFWI_EIO, "'%s': cannot read trace %d: %s", path, it, psfwi_segy_text(rc));
      goto fail;
    }
    int32_t scalar = 0, count = 0;
    segy_get_field(th, SEGY_TR_CDP_X, &cdpx[it]);
    segy_get_field(th, SEGY_TR_SOURCE_GROUP_SCALAR, &scalar);
    segy_get_field(th, SEGY_TR_SAMPLE_COUNT, &count);
    if (dx_opt <= 0.0 && psfwi_segy_scalar_check(path, it, 71, scalar, err) != PSFWI_OK) goto fail;
    if (it == 0) {
      scalar0 = scalar;
      segy_get_field(th, SEGY_TR_DELAY_REC_TIME, &delay);
      segy_get_field(th, SEGY_TR_SCALAR_TRACE_HEADER, &tscalar);
      if (dz_opt <= 0.0 && psfwi_segy_scalar_check(path, it, 215, tscalar, err) != PSFWI_OK)
        goto fail;
    } else if (dx_opt <= 0.0 && scalar != scalar0) {
      psfwi_fail(err, PSFWI_EUNSUPPORTED,
                 "'%s': trace %d has coordinate scalar %d (byte 71) but trace 0 has %d; give dx",
                 path, it, (int)scalar, (int)scalar0);
      goto fail;
    }
    if (count != 0 && psfwi_segy_u16(count) != ns) {
      psfwi_fail(err, PSFWI_EFORMAT,
                 "'%s': trace %d holds %d samples (byte 115) but the file has %d per trace", path,
                 it, (int)psfwi_segy_u16(count), ns);
      goto fail;
    }
    segy_to_native(fmt, ns, trace);
    for (size_t iz = 0; iz < nz; iz++) m->vp[iz * nx + (size_t)it] = trace[iz];
  }
  if (dx_opt > 0.0) {
    m->grid.dx = dx_opt;
  } else {
    if (ntr < 2) {
      psfwi_fail(err, PSFWI_EINVAL, "'%s' holds a single trace: its spacing is unknown; give dx",
                 path);
      goto fail;
    }
    /* Consecutive CDP_X differences, in header units, must be equal (within one
     * unit of rounding) and positive. */
    const double span = (double)cdpx[ntr - 1] - (double)cdpx[0];
    const double mean = span / (double)(ntr - 1);
    if (!(mean > 0.0)) {
      psfwi_fail(err, PSFWI_EFORMAT,
                 "'%s': CDP_X (byte 181) does not increase from trace to trace (first %g m, "
                 "last %g m): the trace spacing is unknown; give dx",
                 path, psfwi_segy_scaled(cdpx[0], scalar0),
                 psfwi_segy_scaled(cdpx[ntr - 1], scalar0));
      goto fail;
    }
    for (int it = 1; it < ntr; it++) {
      const double d = (double)cdpx[it] - (double)cdpx[it - 1];
      if (fabs(d - mean) > 1.0 + 1e-9 * mean) {
        psfwi_fail(err, PSFWI_EFORMAT,
                   "'%s': CDP_X (byte 181) steps by %g m from trace %d to %d but by %g m on "
                   "average: traces are not evenly spaced; give dx",
                   path, psfwi_segy_scaled(d, scalar0), it - 1, it,
                   psfwi_segy_scaled(mean, scalar0));
        goto fail;
      }
    }
    /* Exactly k / |scalar| (or k * scalar) when the steps are one integer k. */
    const int64_t step = (int64_t)cdpx[1] - (int64_t)cdpx[0];
    const int exact = (int64_t)cdpx[ntr - 1] - (int64_t)cdpx[0] == step * (int64_t)(ntr - 1);
    m->grid.dx =
        exact ? psfwi_segy_scaled((double)step, scalar0) : psfwi_segy_scaled(mean, scalar0);
    m->grid.x0 = psfwi_segy_scaled(cdpx[0], scalar0);
  }
  if (dz_opt <= 0.0) m->grid.z0 = psfwi_segy_scaled(delay, tscalar);
  if (segy_close(fp) != SEGY_OK) {
    fp = NULL;
    psfwi_fail(err, PSFWI_EIO, "'%s': error closing the file", path);
    goto fail;
  }
  fp = NULL;
  free(cdpx);
  free(trace);
  if (psfwi_model_check(m, path, err) != PSFWI_OK) {
    psfwi_model_destroy(m);
    return NULL;
  }
  return m;
fail:
  if (fp != NULL) segy_close(fp);
  free(cdpx);
  free(trace);
  psfwi_model_destroy(m);
  return NULL;
}

/* ---- Writing --------------------------------------------------------------- */

int psfwi_segy_out_open(psfwi_segy_out *o, const char *path, size_t ns, const char *text, char *bin,
                        int32_t interval, psfwi_error *err) {
  memset(o, 0, sizeof *o);
  if (psfwi_tmp_path(path, o->tmp, sizeof o->tmp) == NULL)
    return psfwi_fail(err, PSFWI_EINVAL, "'%s': file name too long", path);
  o->ns = ns;
  o->trace = malloc(ns * sizeof *o->trace);
  if (o->trace == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory", path);
  o->fp = segy_open(o->tmp, "w+b");
  if (o->fp == NULL) {
    const int e = errno;
    free(o->trace);
    return psfwi_fail(err, PSFWI_EIO, "cannot create '%s' (temporary '%s'): %s", path, o->tmp,
                      strerror(e));
  }
  o->rc = segy_set_format(o->fp, SEGY_IEEE_FLOAT_4_BYTE);
  if (o->rc == SEGY_OK) o->rc = segy_write_textheader(o->fp, 0, text);
  segy_set_bfield(bin, SEGY_BIN_JOB_ID, 1);
  segy_set_bfield(bin, SEGY_BIN_LINE_NUMBER, 1);
  segy_set_bfield(bin, SEGY_BIN_REEL_NUMBER, 1);
  segy_set_bfield(bin, SEGY_BIN_INTERVAL, interval);
  segy_set_bfield(bin, SEGY_BIN_INTERVAL_ORIG, interval);
  segy_set_bfield(bin, SEGY_BIN_SAMPLES, (int32_t)ns);
  segy_set_bfield(bin, SEGY_BIN_SAMPLES_ORIG, (int32_t)ns);
  segy_set_bfield(bin, SEGY_BIN_FORMAT, SEGY_IEEE_FLOAT_4_BYTE);
  segy_set_bfield(bin, SEGY_BIN_MEASUREMENT_SYSTEM, 1); /* metres */
  segy_set_bfield(bin, SEGY_BIN_SEGY_REVISION, 0x0100); /* rev 1.0 */
  segy_set_bfield(bin, SEGY_BIN_TRACE_FLAG, 1);         /* fixed-length traces */
  segy_set_bfield(bin, SEGY_BIN_EXT_HEADERS, 0);
  if (o->rc == SEGY_OK) o->rc = segy_write_binheader(o->fp, bin);
  return PSFWI_OK;
}

void psfwi_segy_out_trace(psfwi_segy_out *o, size_t k, const char *th) {
  if (o->rc != SEGY_OK) return;
  const long trace0 = SEGY_TEXT_HEADER_SIZE + SEGY_BINARY_HEADER_SIZE;
  const int bsize = (int)(4 * o->ns);
  segy_from_native(SEGY_IEEE_FLOAT_4_BYTE, (long long)o->ns, o->trace);
  o->rc = segy_write_traceheader(o->fp, (int)k, th, trace0, bsize);
  if (o->rc == SEGY_OK) o->rc = segy_writetrace(o->fp, (int)k, o->trace, trace0, bsize);
}

int psfwi_segy_out_close(psfwi_segy_out *o, const char *path, psfwi_error *err) {
  free(o->trace);
  o->trace = NULL;
  int rc = o->rc;
  int saved = rc != SEGY_OK ? errno : 0;
  errno = 0;
  const int rc_close = segy_close(o->fp);
  o->fp = NULL;
  if (rc_close != SEGY_OK && saved == 0) saved = errno;
  if (rc == SEGY_OK) rc = rc_close;
  if (rc != SEGY_OK) return psfwi_segy_write_failed(path, o->tmp, rc, saved, err);
  return psfwi_commit_file(o->tmp, path, err);
}

/* The smallest power-of-ten divisor s (1 .. 10000) such that a = round(x s)
 * and b = round(dx s) give back x = a / s and dx = b / s exactly (the reader
 * divides the same way) and a + (n - 1) b stays within +-limit. 0: none. */
static int32_t pick_divisor(double x, double dx, size_t n, double limit) {
  for (int32_t s = 1; s <= 10000; s *= 10) {
    const double a = nearbyint(x * (double)s), b = nearbyint(dx * (double)s);
    const double last = a + (double)(n - 1) * b;
    if (a / (double)s == x && (n < 2 || b / (double)s == dx) && fabs(a) <= limit &&
        fabs(last) <= limit)
      return s;
  }
  return 0;
}

/* 40 lines of 80 columns, "C 1 ...", converted to EBCDIC by segyio. */
static void text_header(char *t, const psfwi_model *m) {
  const psfwi_grid *g = &m->grid;
  float vmin, vmax;
  psfwi_model_range(m, &vmin, &vmax);
  const char *lines[40] = {0};
  char l1[100], l2[100], l3[100], l4[100], l5[100], l6[100];
  snprintf(l1, sizeof l1, "PSFWI %s P-WAVE VELOCITY MODEL (M/S)", PSFWI_VERSION_STRING);
  snprintf(l2, sizeof l2, "NX = %zu TRACES ALONG X, DX = %.10g M, X0 = %.10g M (CDP_X, BYTE 181)",
           g->nx, g->dx, g->x0);
  snprintf(l3, sizeof l3, "NZ = %zu SAMPLES ALONG Z, DZ = %.10g M, Z0 = %.10g M", g->nz, g->dz,
           g->z0);
  snprintf(l4, sizeof l4, "DZ IN MM AS SAMPLE INTERVAL (BYTE 3217), Z0 IN M AS DELAY (BYTE 109)");
  snprintf(l5, sizeof l5, "VELOCITY %.6g TO %.6g M/S", (double)vmin, (double)vmax);
  snprintf(l6, sizeof l6, "IEEE FLOAT32 (FORMAT 5), BIG-ENDIAN");
  lines[0] = l1;
  lines[1] = l2;
  lines[2] = l3;
  lines[3] = l4;
  lines[4] = l5;
  lines[5] = l6;
  lines[38] = "SEG Y REV1";
  lines[39] = "END TEXTUAL HEADER";
  psfwi_segy_cards(t, lines);
}

int psfwi_segy_write_model(const char *path, const psfwi_model *m, psfwi_error *err) {
  int st = psfwi_model_check(m, path, err);
  if (st != PSFWI_OK) return st;
  const psfwi_grid *g = &m->grid;
  const size_t nx = g->nx, nz = g->nz;
  if (nz > 65535 || nx > (size_t)INT32_MAX - 1)
    return psfwi_fail(err, PSFWI_EUNSUPPORTED,
                      "'%s': %zu x %zu model: SEG-Y holds at most 65535 samples per trace", path,
                      nx, nz);
  /* dz as whole millimetres in a 16-bit field. */
  const double interval = nearbyint(g->dz * 1000.0);
  if (interval < 1.0 || interval > 65535.0 || interval / 1000.0 != g->dz)
    return psfwi_fail(err, PSFWI_EUNSUPPORTED,
                      "'%s': dz = %.17g m is not a whole number of millimetres from 1 to 65535 "
                      "(SEG-Y's sample interval field); resample the model",
                      path, g->dz);
  /* x0 and dx in a power-of-ten unit that stores them exactly (32-bit), z0
   * likewise in the 16-bit delay field. */
  const int32_t xdiv = pick_divisor(g->x0, g->dx, nx, 2147483647.0);
  const int32_t zdiv = pick_divisor(g->z0, 0.0, 1, 32767.0);
  if (xdiv == 0)
    return psfwi_fail(err, PSFWI_EUNSUPPORTED,
                      "'%s': x0 = %.17g m, dx = %.17g m cannot be stored exactly as SEG-Y "
                      "coordinates (32-bit integers with a scalar of 1 to 1/10000)",
                      path, g->x0, g->dx);
  if (zdiv == 0)
    return psfwi_fail(err, PSFWI_EUNSUPPORTED,
                      "'%s': z0 = %.17g m cannot be stored exactly in SEG-Y's 16-bit delay field "
                      "(with a scalar of 1 to 1/10000)",
                      path, g->z0);
  const int64_t c0 = (int64_t)nearbyint(g->x0 * (double)xdiv);
  const int64_t step = (int64_t)nearbyint(g->dx * (double)xdiv);

  char text[SEGY_TEXT_HEADER_SIZE + 1], bin[SEGY_BINARY_HEADER_SIZE], th[SEGY_TRACE_HEADER_SIZE];
  text_header(text, m);
  memset(bin, 0, sizeof bin);
  segy_set_bfield(bin, SEGY_BIN_TRACES, nx <= 32767 ? (int32_t)nx : 0);
  segy_set_bfield(bin, SEGY_BIN_ENSEMBLE_FOLD, 1);
  segy_set_bfield(bin, SEGY_BIN_SORTING_CODE, 4); /* horizontally stacked */
  psfwi_segy_out o;
  st = psfwi_segy_out_open(&o, path, nz, text, bin, (int32_t)interval, err);
  if (st != PSFWI_OK) return st;
  const int32_t zdelay = (int32_t)nearbyint(g->z0 * (double)zdiv);
  for (size_t ix = 0; ix < nx && o.rc == SEGY_OK; ix++) {
    const int32_t n1 = (int32_t)(ix + 1);
    const int32_t x = (int32_t)(c0 + (int64_t)ix * step);
    memset(th, 0, sizeof th);
    segy_set_field(th, SEGY_TR_SEQ_LINE, n1);
    segy_set_field(th, SEGY_TR_SEQ_FILE, n1);
    segy_set_field(th, SEGY_TR_FIELD_RECORD, 1);
    segy_set_field(th, SEGY_TR_NUMBER_ORIG_FIELD, n1);
    segy_set_field(th, SEGY_TR_ENSEMBLE, n1); /* CDP number */
    segy_set_field(th, SEGY_TR_NUM_IN_ENSEMBLE, 1);
    segy_set_field(th, SEGY_TR_TRACE_ID, 1);
    segy_set_field(th, SEGY_TR_DATA_USE, 1);
    segy_set_field(th, SEGY_TR_OFFSET, 0);
    segy_set_field(th, SEGY_TR_ELEV_SCALAR, 1);
    segy_set_field(th, SEGY_TR_SOURCE_GROUP_SCALAR, xdiv == 1 ? 1 : -xdiv);
    segy_set_field(th, SEGY_TR_SOURCE_X, x);
    segy_set_field(th, SEGY_TR_GROUP_X, x);
    segy_set_field(th, SEGY_TR_COORD_UNITS, 1); /* length (metres) */
    segy_set_field(th, SEGY_TR_DELAY_REC_TIME, zdelay);
    segy_set_field(th, SEGY_TR_SAMPLE_COUNT, (int32_t)nz);
    segy_set_field(th, SEGY_TR_SAMPLE_INTER, (int32_t)interval);
    segy_set_field(th, SEGY_TR_CDP_X, x);
    segy_set_field(th, SEGY_TR_CDP_Y, 0);
    segy_set_field(th, SEGY_TR_INLINE, 1);
    segy_set_field(th, SEGY_TR_CROSSLINE, n1);
    segy_set_field(th, SEGY_TR_SCALAR_TRACE_HEADER, zdiv == 1 ? 1 : -zdiv);
    for (size_t iz = 0; iz < nz; iz++) o.trace[iz] = m->vp[iz * nx + ix];
    psfwi_segy_out_trace(&o, ix, th);
  }
  return psfwi_segy_out_close(&o, path, err);
}
