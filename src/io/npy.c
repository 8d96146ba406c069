/* NumPy .npy and .npz velocity models.
 *
 * .npy: magic "\x93NUMPY", version (1.0: 2-byte header length; 2.0 and 3.0:
 * 4-byte), then a Python dict literal {'descr': ..., 'fortran_order': ...,
 * 'shape': (...)} and the raw array. Only float32/float64 in either byte
 * order are accepted.
 *
 * .npz: a zip archive of .npy members ("key.npy"). The central directory at
 * the end of the archive is the authority on member sizes and offsets (local
 * headers written by a streaming zip writer may hold zeros); zip64 fields
 * are honoured. Members are stored or deflated (raw deflate, zlib), and
 * their CRC-32 is checked. Every offset and length is checked against the
 * file size before it is used, so a malformed file is an error, never a
 * crash or a huge allocation. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <zlib.h>

#include "psfwi_io.h"

#define NPY_MAX_DIMS 32
#define NPY_MAX_HEADER (1u << 20) /* bytes; NumPy itself writes < 100 */

/* ---- Byte sources: a file or a buffer in memory --------------------------- */
typedef struct src {
  const char *where; /* "'file.npy'" or "'file.npz' member 'F.npy'" for messages */
  FILE *f;
  const unsigned char *mem;
  uint64_t size;
} src;

static int src_read(const src *s, uint64_t off, void *buf, size_t len, const char *what,
                    psfwi_error *err) {
  if (off > s->size || len > s->size - off)
    return psfwi_fail(err, PSFWI_EFORMAT,
                      "%s is truncated: %s needs bytes %ju to %ju, the data has %ju", s->where,
                      what, (uintmax_t)off, (uintmax_t)off + (uintmax_t)len, (uintmax_t)s->size);
  if (s->mem != NULL) {
    memcpy(buf, s->mem + off, len);
    return PSFWI_OK;
  }
  if (off > (uint64_t)INT64_MAX || fseeko(s->f, (off_t)off, SEEK_SET) != 0)
    return psfwi_fail(err, PSFWI_EIO, "%s: cannot seek to byte %ju: %s", s->where, (uintmax_t)off,
                      strerror(errno));
  if (fread(buf, 1, len, s->f) != len)
    return psfwi_fail(err, PSFWI_EIO, "%s: cannot read %s (%zu bytes at %ju)", s->where, what, len,
                      (uintmax_t)off);
  return PSFWI_OK;
}

static uint64_t rd_le(const unsigned char *b, int n) {
  uint64_t v = 0;
  for (int k = n - 1; k >= 0; k--) v = (v << 8) | b[k];
  return v;
}

/* ---- The .npy header ------------------------------------------------------- */
typedef struct npy_header {
  int esize; /* 4 or 8 */
  int big;   /* big-endian values */
  int fortran;
  size_t ndim;
  uint64_t shape[NPY_MAX_DIMS];
  uint64_t data_off; /* bytes from the start of the .npy */
  uint64_t count;    /* number of values */
} npy_header;

typedef struct cursor {
  const char *p, *end;
} cursor;

static void skip_ws(cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

/* A quoted Python string without escapes, into out (at most len - 1 chars). */
static int parse_str(cursor *c, char *out, size_t len) {
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return -1;
  const char q = *c->p++;
  size_t n = 0;
  while (c->p < c->end && *c->p != q) {
    if (*c->p == '\\' || n + 1 >= len) return -1;
    out[n++] = *c->p++;
  }
  if (c->p >= c->end) return -1;
  c->p++;
  out[n] = '\0';
  return 0;
}

static int parse_word(cursor *c, const char *word) {
  const size_t n = strlen(word);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) return -1;
  c->p += n;
  return 0;
}

static int parse_shape(cursor *c, npy_header *h) {
  if (c->p >= c->end || *c->p != '(') return -1;
  c->p++;
  h->ndim = 0;
  for (;;) {
    skip_ws(c);
    if (c->p < c->end && *c->p == ')') break;
    if (c->p >= c->end || *c->p < '0' || *c->p > '9') return -1;
    uint64_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
      const uint64_t d = (uint64_t)(*c->p - '0');
      if (v > (UINT64_MAX - d) / 10) return -1;
      v = v * 10 + d;
      c->p++;
    }
    if (c->p < c->end && *c->p == 'L') c->p++; /* Python 2 long */
    if (h->ndim >= NPY_MAX_DIMS) return -1;
    h->shape[h->ndim++] = v;
    skip_ws(c);
    if (c->p < c->end && *c->p == ',') {
      c->p++;
      continue;
    }
    if (c->p < c->end && *c->p == ')') break;
    return -1;
  }
  c->p++; /* ')' */
  return 0;
}

static void format_shape(const npy_header *h, char *buf, size_t len) {
  size_t used = (size_t)snprintf(buf, len, "(");
  for (size_t i = 0; i < h->ndim && used < len; i++)
    used +=
        (size_t)snprintf(buf + used, len - used, "%s%ju", i ? ", " : "", (uintmax_t)h->shape[i]);
  if (used < len) snprintf(buf + used, len - used, h->ndim == 1 ? ",)" : ")");
}

static int parse_header(const src *s, npy_header *h, psfwi_error *err) {
  unsigned char pre[12];
  if (s->size < 10)
    return psfwi_fail(err, PSFWI_EFORMAT,
                      "%s is not a .npy array: %ju bytes, shorter than the 10-byte preamble",
                      s->where, (uintmax_t)s->size);
  int st = src_read(s, 0, pre, 10, "the preamble", err);
  if (st) return st;
  if (memcmp(pre, "\x93NUMPY", 6) != 0)
    return psfwi_fail(err, PSFWI_EFORMAT,
                      "%s is not a .npy array: it does not start with \"\\x93NUMPY\"", s->where);
  const int major = pre[6], minor = pre[7];
  uint64_t hlen, prefix;
  if (major == 1) {
    hlen = rd_le(pre + 8, 2);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    st = src_read(s, 10, pre + 10, 2, "the header length", err);
    if (st) return st;
    hlen = rd_le(pre + 8, 4);
    prefix = 12;
  } else {
    return psfwi_fail(err, PSFWI_EUNSUPPORTED,
                      "%s: .npy format version %d.%d is not supported (expected 1.0, 2.0 or 3.0)",
                      s->where, major, minor);
  }
  if (hlen > NPY_MAX_HEADER)
    return psfwi_fail(err, PSFWI_EFORMAT, "%s: header length %ju bytes is absurd (at most %u)",
                      s->where, (uintmax_t)hlen, NPY_MAX_HEADER);
  if (hlen > s->size - prefix)
    return psfwi_fail(err, PSFWI_EFORMAT,
                      "%s is truncated: the header claims %ju bytes, the data has %ju after the "
                      "%ju-byte preamble",
                      s->where, (uintmax_t)hlen, (uintmax_t)(s->size - prefix), (uintmax_t)prefix);
  char *text = malloc((size_t)hlen + 1);
  if (text == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "%s: out of memory", s->where);
  st = src_read(s, prefix, text, (size_t)hlen, "the header", err);
  if (st) {
    free(text);
    return st;
  }
  text[hlen] = '\0';
  /* NumPy writes printable ASCII (and the final '\n'): anything else is not
   * a header, and would garble messages quoting keys and dtypes. */
  for (uint64_t i = 0; i < hlen; i++) {
    const unsigned char ch = (unsigned char)text[i];
    if ((ch < 0x20 && ch != '\n' && ch != '\r' && ch != '\t') || ch > 0x7E) {
      free(text);
      return psfwi_fail(err, PSFWI_EFORMAT,
                        "%s: malformed header: byte 0x%02x at offset %ju is not printable ASCII",
                        s->where, ch, (uintmax_t)(prefix + i));
    }
  }
  cursor c = {text, text + hlen};
  char key[64], descr[64] = "";
  int have_descr = 0, have_order = 0, have_shape = 0;
  const char *bad = NULL;
  skip_ws(&c);
  if (c.p >= c.end || *c.p != '{') {
    bad = "the header is not a Python dict";
    goto parsed;
  }
  c.p++;
  for (;;) {
    skip_ws(&c);
    if (c.p < c.end && *c.p == '}') {
      c.p++;
      break;
    }
    if (parse_str(&c, key, sizeof key) != 0) {
      bad = "expected a quoted key in the header dict";
      goto parsed;
    }
    skip_ws(&c);
    if (c.p >= c.end || *c.p != ':') {
      bad = "expected ':' after a key in the header dict";
      goto parsed;
    }
    c.p++;
    skip_ws(&c);
    if (strcmp(key, "descr") == 0) {
      if (c.p < c.end && *c.p == '[') {
        free(text);
        return psfwi_fail(err, PSFWI_EUNSUPPORTED,
                          "%s: structured dtype (a list in 'descr') is not supported; expected "
                          "'<f4', '>f4', '<f8' or '>f8'",
                          s->where);
      }
      if (parse_str(&c, descr, sizeof descr) != 0) {
        bad = "'descr' is not a quoted dtype string";
        goto parsed;
      }
      have_descr = 1;
    } else if (strcmp(key, "fortran_order") == 0) {
      if (parse_word(&c, "True") == 0) {
        h->fortran = 1;
      } else if (parse_word(&c, "False") == 0) {
        h->fortran = 0;
      } else {
        bad = "'fortran_order' is neither True nor False";
        goto parsed;
      }
      have_order = 1;
    } else if (strcmp(key, "shape") == 0) {
      if (parse_shape(&c, h) != 0) {
        bad = "'shape' is not a tuple of at most 32 non-negative integers";
        goto parsed;
      }
      have_shape = 1;
    } else {
      free(text);
      return psfwi_fail(err, PSFWI_EFORMAT,
                        "%s: unexpected key '%s' in the header (expected descr, fortran_order, "
                        "shape)",
                        s->where, key);
    }
    skip_ws(&c);
    if (c.p < c.end && *c.p == ',') {
      c.p++;
      continue;
    }
    if (c.p < c.end && *c.p == '}') {
      c.p++;
      break;
    }
    bad = "expected ',' or '}' in the header dict";
    goto parsed;
  }
  skip_ws(&c);
  if (c.p != c.end) bad = "unexpected text after the header dict";
parsed:
  free(text);
  if (bad != NULL) return psfwi_fail(err, PSFWI_EFORMAT, "%s: malformed header: %s", s->where, bad);
  if (!have_descr || !have_order || !have_shape)
    return psfwi_fail(err, PSFWI_EFORMAT, "%s: the header has no '%s'", s->where,
                      !have_descr   ? "descr"
                      : !have_order ? "fortran_order"
                                    : "shape");
  if (strcmp(descr, "<f4") == 0 || strcmp(descr, ">f4") == 0) {
    h->esize = 4;
  } else if (strcmp(descr, "<f8") == 0 || strcmp(descr, ">f8") == 0) {
    h->esize = 8;
  } else {
    return psfwi_fail(err, PSFWI_EUNSUPPORTED,
                      "%s: dtype '%s' is not supported; expected float32 or float64 ('<f4', "
                      "'>f4', '<f8' or '>f8')",
                      s->where, descr);
  }
  h->big = descr[0] == '>';
  h->data_off = prefix + hlen;
  /* The product of the axes (a zero axis counted as 1, so that strides
   * stay representable) times 8 bytes must fit 64 bits; only then is the
   * byte count compared with the data, before anything is allocated. */
  uint64_t count = 1, span = 1;
  for (size_t i = 0; i < h->ndim; i++) {
    const uint64_t d = h->shape[i] ? h->shape[i] : 1;
    if (span > UINT64_MAX / 8 / d) {
      char sh[256];
      format_shape(h, sh, sizeof sh);
      return psfwi_fail(err, PSFWI_EFORMAT,
                        "%s: shape %s is absurdly large: its size overflows 64 bits", s->where,
                        sh);
    }
    span *= d;
    count *= h->shape[i];
  }
  h->count = count;
  const uint64_t have = s->size - h->data_off, need = count * (uint64_t)h->esize;
  if (have != need) {
    char sh[256];
    format_shape(h, sh, sizeof sh);
    return psfwi_fail(err, PSFWI_EFORMAT,
                      "%s: shape %s of %s needs %ju bytes of data after the header, found %ju%s",
                      s->where, sh, descr, (uintmax_t)need, (uintmax_t)have,
                      have < need ? " (truncated)" : "");
  }
  return PSFWI_OK;
}

static float decode(const unsigned char *b, int esize, int big) {
  if (esize == 4) {
    uint32_t u = 0;
    for (int k = 0; k < 4; k++) u |= (uint32_t)b[k] << (big ? 8 * (3 - k) : 8 * k);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
  }
  uint64_t u = 0;
  for (int k = 0; k < 8; k++) u |= (uint64_t)b[k] << (big ? 8 * (7 - k) : 8 * k);
  double d;
  memcpy(&d, &u, sizeof d);
  /* Out-of-range doubles become +-inf (then rejected by the model check). */
  if (d > (double)FLT_MAX) return HUGE_VALF;
  if (d < -(double)FLT_MAX) return -HUGE_VALF;
  return (float)d;
}

/* Pick the 2D model out of the array described by h and read it. */
static psfwi_model *read_array(const src *s, const npy_header *h, const psfwi_npy_opts *opts,
                               psfwi_error *err) {
  char sh[256];
  format_shape(h, sh, sizeof sh);
  uint64_t stride[NPY_MAX_DIMS];
  for (size_t i = 0; i < h->ndim; i++) {
    const size_t a = h->fortran ? i : h->ndim - 1 - i; /* fastest axis first */
    const size_t prev = h->fortran ? a - 1 : a + 1;
    stride[a] = i == 0 ? 1 : stride[prev] * h->shape[prev];
  }
  /* Axes that make the model: both of a 2D array; otherwise those longer than
   * 1, the first of three picked by `index`. */
  size_t axes[NPY_MAX_DIMS], na = 0;
  for (size_t i = 0; i < h->ndim; i++)
    if (h->ndim == 2 || h->shape[i] != 1) axes[na++] = i;
  uint64_t base = 0;
  if (na == 3 && !opts->has_index) {
    /* Taking model 0 silently would hide a forgotten index. */
    psfwi_fail(err, PSFWI_EINVAL,
               "%s: array of shape %s holds %ju models; choose one with --index I (0..%ju)",
               s->where, sh, (uintmax_t)h->shape[axes[0]],
               (uintmax_t)(h->shape[axes[0]] ? h->shape[axes[0]] - 1 : 0));
    return NULL;
  }
  if (na == 3) {
    if (opts->index >= h->shape[axes[0]]) {
      psfwi_fail(err, PSFWI_ERANGE,
                 "%s: index %zu is out of range: shape %s holds %ju models (index 0 to %ju)",
                 s->where, opts->index, sh, (uintmax_t)h->shape[axes[0]],
                 (uintmax_t)(h->shape[axes[0]] ? h->shape[axes[0]] - 1 : 0));
      return NULL;
    }
    base = (uint64_t)opts->index * stride[axes[0]];
    axes[0] = axes[1];
    axes[1] = axes[2];
  } else if (na == 2) {
    if (opts->has_index && opts->index != 0) {
      psfwi_fail(err, PSFWI_ERANGE,
                 "%s: index %zu given, but shape %s holds a single model (index 0)", s->where,
                 opts->index, sh);
      return NULL;
    }
  } else {
    psfwi_fail(err, PSFWI_EFORMAT,
               "%s: shape %s is not a model: expected 2 axes (after dropping axes of length 1), "
               "or 3 with the model picked by index along the first",
               s->where, sh);
    return NULL;
  }
  const int zx = opts->order == PSFWI_ORDER_ZX;
  const size_t az = zx ? axes[0] : axes[1], ax = zx ? axes[1] : axes[0];
  psfwi_grid g = {.nx = (size_t)h->shape[ax],
                  .nz = (size_t)h->shape[az],
                  .dx = opts->dx,
                  .dz = opts->dz > 0.0 ? opts->dz : opts->dx};
  if (psfwi_grid_check(&g, s->where, err) != PSFWI_OK) return NULL;
  const size_t nx = g.nx, nz = g.nz;
  const uint64_t sx = stride[ax], sz = stride[az];
  const uint64_t last = base + (uint64_t)(nz - 1) * sz + (uint64_t)(nx - 1) * sx;
  const uint64_t span = (last - base + 1) * (uint64_t)h->esize;
  if (span > SIZE_MAX) {
    psfwi_fail(err, PSFWI_ERANGE, "%s: the model spans %ju bytes, too many", s->where,
               (uintmax_t)span);
    return NULL;
  }
  unsigned char *buf = malloc((size_t)span);
  psfwi_model *m = psfwi_model_create(&g, err);
  if (buf == NULL || m == NULL) {
    free(buf);
    psfwi_model_destroy(m);
    if (m != NULL) psfwi_fail(err, PSFWI_ENOMEM, "%s: out of memory", s->where);
    return NULL;
  }
  if (src_read(s, h->data_off + base * (uint64_t)h->esize, buf, (size_t)span, "the array", err) !=
      PSFWI_OK) {
    free(buf);
    psfwi_model_destroy(m);
    return NULL;
  }
  const size_t es = (size_t)h->esize;
  for (size_t iz = 0; iz < nz; iz++)
    for (size_t ix = 0; ix < nx; ix++)
      m->vp[iz * nx + ix] = decode(buf + ((size_t)(iz * sz + ix * sx)) * es, h->esize, h->big);
  free(buf);
  if (psfwi_model_check(m, s->where, err) != PSFWI_OK) {
    psfwi_model_destroy(m);
    return NULL;
  }
  return m;
}

static psfwi_model *read_npy(const src *s, const psfwi_npy_opts *opts, psfwi_error *err) {
  npy_header h;
  memset(&h, 0, sizeof h);
  if (parse_header(s, &h, err) != PSFWI_OK) return NULL;
  return read_array(s, &h, opts, err);
}

/* ---- The zip container (.npz) ---------------------------------------------- */
typedef struct zip_entry {
  const char *name; /* into the central directory buffer, not terminated */
  size_t nlen;
  unsigned method, flags;
  uint32_t crc;
  uint64_t csize, usize, lho;
} zip_entry;

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOC64 0x07064b50u

/* Locate and read the central directory. On success *cd (caller frees) holds
 * its bytes and *ents (caller frees) its n entries. */
static int zip_directory(const src *s, unsigned char **cd_out, zip_entry **ents_out, size_t *n_out,
                         psfwi_error *err) {
  *cd_out = NULL;
  *ents_out = NULL;
  const uint64_t tail_len = s->size < 22 + 65535 ? s->size : 22 + 65535;
  if (s->size < 22)
    return psfwi_fail(err, PSFWI_EFORMAT,
                      "%s is not a zip archive (.npz): %ju bytes, too short for one", s->where,
                      (uintmax_t)s->size);
  unsigned char *tail = malloc((size_t)tail_len);
  if (tail == NULL) return psfwi_fail(err, PSFWI_ENOMEM, "%s: out of memory", s->where);
  int st = src_read(s, s->size - tail_len, tail, (size_t)tail_len, "the zip trailer", err);
  if (st) {
    free(tail);
    return st;
  }
  /* The end-of-central-directory record: the last signature whose comment
   * length reaches no further than the end of the file. */
  int64_t at = -1;
  for (int64_t i = (int64_t)tail_len - 22; i >= 0; i--) {
    const unsigned char *p = tail + i;
    if (rd_le(p, 4) == SIG_EOCD && (uint64_t)i + 22 + rd_le(p + 20, 2) <= tail_len) {
      at = i;
      break;
    }
  }
  if (at < 0) {
    free(tail);
    return psfwi_fail(err, PSFWI_EFORMAT,
                      "%s is not a zip archive (.npz): no end-of-central-directory record",
                      s->where);
  }
  const unsigned char *e = tail + at;
  const uint64_t eocd_pos = s->size - tail_len + (uint64_t)at;
  uint64_t disk = rd_le(e + 4, 2), cd_disk = rd_le(e + 6, 2), n = rd_le(e + 10, 2);
  uint64_t cd_size = rd_le(e + 12, 4), cd_off = rd_le(e + 16, 4);
  const int need64 = n == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu;
  free(tail);
  if (need64) {
    unsigned char loc[20], z[56];
    if (eocd_pos < 20)
      return psfwi_fail(err, PSFWI_EFORMAT, "%s: zip64 locator missing before the end record",
                        s->where);
    st = src_read(s, eocd_pos - 20, loc, 20, "the zip64 locator", err);
    if (st) return st;
    if (rd_le(loc, 4) != SIG_LOC64)
      return psfwi_fail(err, PSFWI_EFORMAT, "%s: zip64 locator missing before the end record",
                        s->where);
    st = src_read(s, rd_le(loc + 8, 8), z, 56, "the zip64 end record", err);
    if (st) return st;
    if (rd_le(z, 4) != SIG_EOCD64)
      return psfwi_fail(err, PSFWI_EFORMAT, "%s: bad zip64 end-of-central-directory record",
                        s->where);
    disk = rd_le(z + 16, 4);
    cd_disk = rd_le(z + 20, 4);
    n = rd_le(z + 32, 8);
    cd_size = rd_le(z + 40, 8);
    cd_off = rd_le(z + 48, 8);
  }
  if (disk != 0 || cd_disk != 0)
    return psfwi_fail(err, PSFWI_EUNSUPPORTED, "%s: multi-part zip archives are not supported",
                      s->where);
  if (cd_off > s->size || cd_size > s->size - cd_off)
    return psfwi_fail(err, PSFWI_EFORMAT,
                      "%s: central directory (%ju bytes at %ju) lies beyond the end of the file "
                      "(%ju bytes)",
                      s->where, (uintmax_t)cd_size, (uintmax_t)cd_off, (uintmax_t)s->size);
  if (n == 0) return psfwi_fail(err, PSFWI_EFORMAT, "%s: the archive holds no arrays", s->where);
  if (n > cd_size / 46)
    return psfwi_fail(err, PSFWI_EFORMAT, "%s: %ju entries cannot fit a %ju-byte central directory",
                      s->where, (uintmax_t)n, (uintmax_t)cd_size);
  unsigned char *cd = malloc((size_t)cd_size);
  zip_entry *ents = calloc((size_t)n, sizeof *ents);
  if (cd == NULL || ents == NULL) {
    free(cd);
    free(ents);
    return psfwi_fail(err, PSFWI_ENOMEM, "%s: out of memory", s->where);
  }
  st = src_read(s, cd_off, cd, (size_t)cd_size, "the central directory", err);
  size_t pos = 0;
  for (size_t i = 0; st == PSFWI_OK && i < n; i++) {
    const unsigned char *p = cd + pos;
    if (cd_size - pos < 46 || rd_le(p, 4) != SIG_CENTRAL) {
      st = psfwi_fail(err, PSFWI_EFORMAT, "%s: central directory entry %zu is malformed", s->where,
                      i);
      break;
    }
    zip_entry *z = &ents[i];
    z->flags = (unsigned)rd_le(p + 8, 2);
    z->method = (unsigned)rd_le(p + 10, 2);
    z->crc = (uint32_t)rd_le(p + 16, 4);
    z->csize = rd_le(p + 20, 4);
    z->usize = rd_le(p + 24, 4);
    const size_t nlen = (size_t)rd_le(p + 28, 2), xlen = (size_t)rd_le(p + 30, 2),
                 clen = (size_t)rd_le(p + 32, 2);
    z->lho = rd_le(p + 42, 4);
    if (cd_size - pos - 46 < (uint64_t)nlen + xlen + clen) {
      st = psfwi_fail(err, PSFWI_EFORMAT, "%s: central directory entry %zu is truncated", s->where,
                      i);
      break;
    }
    z->name = (const char *)p + 46;
    z->nlen = nlen;
    /* zip64 extra field: 8-byte sizes/offset for the fields that hold 0xFFFFFFFF. */
    const unsigned char *x = p + 46 + nlen, *xend = x + xlen;
    while (xend - x >= 4) {
      const unsigned id = (unsigned)rd_le(x, 2);
      const size_t len = (size_t)rd_le(x + 2, 2);
      if ((size_t)(xend - x - 4) < len) break;
      if (id == 0x0001) {
        const unsigned char *q = x + 4, *qend = x + 4 + len;
        uint64_t *fields[3] = {&z->usize, &z->csize, &z->lho};
        for (int k = 0; k < 3; k++) {
          if (*fields[k] != 0xFFFFFFFFu) continue;
          if (qend - q < 8) break;
          *fields[k] = rd_le(q, 8);
          q += 8;
        }
      }
      x += 4 + len;
    }
    if (z->csize == 0xFFFFFFFFu || z->usize == 0xFFFFFFFFu || z->lho == 0xFFFFFFFFu) {
      st = psfwi_fail(err, PSFWI_EFORMAT,
                      "%s: entry '%.*s' needs zip64 sizes but has no zip64 field", s->where,
                      (int)(nlen > 200 ? 200 : nlen), z->name);
      break;
    }
    pos += 46 + nlen + xlen + clen;
  }
  if (st != PSFWI_OK) {
    free(cd);
    free(ents);
    return st;
  }
  *cd_out = cd;
  *ents_out = ents;
  *n_out = (size_t)n;
  return PSFWI_OK;
}

static int name_is(const zip_entry *z, const char *key) {
  const size_t k = strlen(key);
  if (z->nlen == k && memcmp(z->name, key, k) == 0) return 1;
  return z->nlen == k + 4 && memcmp(z->name, key, k) == 0 && memcmp(z->name + k, ".npy", 4) == 0;
}

/* "a, b, c": member names without ".npy", for messages. */
static void list_keys(const zip_entry *ents, size_t n, char *buf, size_t len) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < n && used + 1 < len; i++) {
    size_t nl = ents[i].nlen;
    if (nl > 4 && memcmp(ents[i].name + nl - 4, ".npy", 4) == 0) nl -= 4;
    if (nl > 100) nl = 100;
    used +=
        (size_t)snprintf(buf + used, len - used, "%s%.*s", i ? ", " : "", (int)nl, ents[i].name);
  }
  if (used + 1 >= len && len > 4) memcpy(buf + len - 4, "...", 4);
}

/* Read member z (stored or deflated) into a new buffer of z->usize bytes. */
static unsigned char *zip_extract(const src *s, const zip_entry *z, const char *where,
                                  psfwi_error *err) {
  unsigned char loc[30];
  if (z->flags & 1u) {
    psfwi_fail(err, PSFWI_EUNSUPPORTED, "%s is encrypted; not supported", where);
    return NULL;
  }
  if (z->method != 0 && z->method != 8) {
    psfwi_fail(err, PSFWI_EUNSUPPORTED,
               "%s uses zip compression method %u; supported: 0 (stored) and 8 (deflated)", where,
               z->method);
    return NULL;
  }
  if (src_read(s, z->lho, loc, 30, "a local zip header", err) != PSFWI_OK) return NULL;
  if (rd_le(loc, 4) != SIG_LOCAL) {
    psfwi_fail(err, PSFWI_EFORMAT, "%s: no local zip header at byte %ju", where, (uintmax_t)z->lho);
    return NULL;
  }
  const uint64_t data = z->lho + 30 + rd_le(loc + 26, 2) + rd_le(loc + 28, 2);
  if (data > s->size || z->csize > s->size - data) {
    psfwi_fail(err, PSFWI_EFORMAT,
               "%s: %ju compressed bytes at byte %ju lie beyond the end of the file (%ju bytes)",
               where, (uintmax_t)z->csize, (uintmax_t)data, (uintmax_t)s->size);
    return NULL;
  }
  if (z->method == 0 && z->csize != z->usize) {
    psfwi_fail(err, PSFWI_EFORMAT, "%s is stored but its sizes differ (%ju and %ju bytes)", where,
               (uintmax_t)z->csize, (uintmax_t)z->usize);
    return NULL;
  }
  /* Deflate never expands more than about 1032:1: a larger claim is corrupt
   * (and must not make us allocate gigabytes). */
  if (z->method == 8 && z->usize > z->csize * 1032 + 1024) {
    psfwi_fail(err, PSFWI_EFORMAT,
               "%s claims %ju bytes from %ju compressed bytes, impossible for deflate", where,
               (uintmax_t)z->usize, (uintmax_t)z->csize);
    return NULL;
  }
  if (z->usize > SIZE_MAX - 1 || z->csize > SIZE_MAX - 1) {
    psfwi_fail(err, PSFWI_ERANGE, "%s is too large (%ju bytes)", where, (uintmax_t)z->usize);
    return NULL;
  }
  unsigned char *out = malloc((size_t)z->usize + 1);
  if (out == NULL) {
    psfwi_fail(err, PSFWI_ENOMEM, "%s: out of memory for %ju bytes", where, (uintmax_t)z->usize);
    return NULL;
  }
  if (z->method == 0) {
    if (src_read(s, data, out, (size_t)z->usize, "a stored member", err) != PSFWI_OK) {
      free(out);
      return NULL;
    }
  } else {
    unsigned char *in = malloc((size_t)z->csize + 1);
    if (in == NULL) {
      free(out);
      psfwi_fail(err, PSFWI_ENOMEM, "%s: out of memory", where);
      return NULL;
    }
    if (src_read(s, data, in, (size_t)z->csize, "a deflated member", err) != PSFWI_OK) {
      free(in);
      free(out);
      return NULL;
    }
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    int zr = inflateInit2(&zs, -15); /* raw deflate: zip has no zlib header */
    if (zr != Z_OK) {
      free(in);
      free(out);
      psfwi_fail(err, PSFWI_EINTERNAL, "%s: inflateInit2 failed (%d)", where, zr);
      return NULL;
    }
    /* avail_in/avail_out are 32-bit: feed and drain in chunks. */
    const uInt chunk = 1u << 30;
    size_t in_left = (size_t)z->csize, out_left = (size_t)z->usize;
    zs.next_in = in;
    zs.next_out = out;
    do {
      if (zs.avail_in == 0 && in_left > 0) {
        zs.avail_in = in_left > chunk ? chunk : (uInt)in_left;
        in_left -= zs.avail_in;
      }
      if (zs.avail_out == 0 && out_left > 0) {
        zs.avail_out = out_left > chunk ? chunk : (uInt)out_left;
        out_left -= zs.avail_out;
      }
      zr = inflate(&zs, Z_NO_FLUSH);
    } while (zr == Z_OK);
    const uint64_t produced = (uint64_t)(zs.next_out - out);
    inflateEnd(&zs);
    free(in);
    if (zr != Z_STREAM_END || produced != z->usize) {
      free(out);
      if (zr == Z_STREAM_END || zr == Z_BUF_ERROR)
        psfwi_fail(err, PSFWI_EFORMAT,
                   "%s: deflate data does not match its declared size of %ju bytes (%s)", where,
                   (uintmax_t)z->usize, zr == Z_STREAM_END ? "ends early" : "truncated or longer");
      else
        psfwi_fail(err, PSFWI_EFORMAT, "%s: corrupt deflate data (%s)", where,
                   zs.msg ? zs.msg : "zlib error");
      return NULL;
    }
  }
  /* CRC-32 over the uncompressed bytes, in 1 GiB steps (uInt lengths). */
  uLong crc = crc32(0L, Z_NULL, 0);
  for (size_t off = 0; off < (size_t)z->usize;) {
    const size_t len = (size_t)z->usize - off > (1u << 30) ? (1u << 30) : (size_t)z->usize - off;
    crc = crc32(crc, out + off, (uInt)len);
    off += len;
  }
  if ((uint32_t)crc != z->crc) {
    free(out);
    psfwi_fail(err, PSFWI_EFORMAT, "%s: CRC-32 mismatch (stored %08x, computed %08x): corrupt",
               where, (unsigned)z->crc, (unsigned)(uint32_t)crc);
    return NULL;
  }
  return out;
}

static psfwi_model *read_npz(const src *file, const psfwi_npy_opts *opts, psfwi_error *err) {
  unsigned char *cd = NULL, *member = NULL;
  zip_entry *ents = NULL;
  size_t n = 0;
  psfwi_model *m = NULL;
  char keys[400];
  if (zip_directory(file, &cd, &ents, &n, err) != PSFWI_OK) return NULL;
  const zip_entry *z = NULL;
  if (opts->key != NULL) {
    for (size_t i = 0; i < n && z == NULL; i++)
      if (name_is(&ents[i], opts->key)) z = &ents[i];
    if (z == NULL) {
      list_keys(ents, n, keys, sizeof keys);
      psfwi_fail(err, PSFWI_EKEY, "%s has no array '%s'; available: %s", file->where, opts->key,
                 keys);
      goto done;
    }
  } else if (n == 1) {
    z = &ents[0];
  } else {
    for (size_t i = 0; i < n && z == NULL; i++)
      if (name_is(&ents[i], "vp")) z = &ents[i];
    if (z == NULL) {
      list_keys(ents, n, keys, sizeof keys);
      psfwi_fail(err, PSFWI_EKEY,
                 "%s holds %zu arrays and none is 'vp': name one with a key; available: %s",
                 file->where, n, keys);
      goto done;
    }
  }
  char where[700];
  snprintf(where, sizeof where, "%s member '%.*s'", file->where,
           (int)(z->nlen > 200 ? 200 : z->nlen), z->name);
  member = zip_extract(file, z, where, err);
  if (member == NULL) goto done;
  const src msrc = {.where = where, .f = NULL, .mem = member, .size = z->usize};
  m = read_npy(&msrc, opts, err);
done:
  free(member);
  free(ents);
  free(cd);
  return m;
}

/* ---- Public entry points --------------------------------------------------------- */
psfwi_model *psfwi_npy_read_model(const char *path, const psfwi_npy_opts *opts, psfwi_error *err) {
  if (opts == NULL || !(opts->dx > 0.0)) {
    psfwi_fail(err, PSFWI_EINVAL,
               "'%s': NumPy arrays carry no grid spacing: give dx > 0 (and dz, or dz = dx)", path);
    return NULL;
  }
  if (opts->order != PSFWI_ORDER_XZ && opts->order != PSFWI_ORDER_ZX) {
    psfwi_fail(err, PSFWI_EINVAL, "'%s': unknown axis order %d", path, (int)opts->order);
    return NULL;
  }
  char where[600];
  snprintf(where, sizeof where, "'%s'", path);
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    psfwi_fail(err, PSFWI_EIO, "cannot open '%s': %s", path, strerror(errno));
    return NULL;
  }
  psfwi_model *m = NULL;
  off_t size = -1;
  unsigned char magic[6] = {0};
  if (fseeko(f, 0, SEEK_END) != 0 || (size = ftello(f)) < 0 || fseeko(f, 0, SEEK_SET) != 0) {
    psfwi_fail(err, PSFWI_EIO, "'%s': cannot find the file size: %s", path, strerror(errno));
    goto done;
  }
  const src s = {.where = where, .f = f, .mem = NULL, .size = (uint64_t)size};
  const size_t got = fread(magic, 1, sizeof magic, f);
  if (got >= 4 && memcmp(magic, "PK\x03\x04", 4) == 0) {
    m = read_npz(&s, opts, err);
  } else if (got >= 4 && memcmp(magic, "PK\x05\x06", 4) == 0) {
    psfwi_fail(err, PSFWI_EFORMAT, "%s is an empty zip archive: no arrays", where);
  } else {
    m = read_npy(&s, opts, err);
  }
done:
  fclose(f);
  return m;
}

int psfwi_npy_write_model(const char *path, const psfwi_model *m, psfwi_error *err) {
  int st = psfwi_model_check(m, path, err);
  if (st != PSFWI_OK) return st;
  char tmp[4096], head[256];
  if (psfwi_tmp_path(path, tmp, sizeof tmp) == NULL)
    return psfwi_fail(err, PSFWI_EINVAL, "'%s': file name too long", path);
  /* Version 1.0; the whole header (preamble, dict, padding, '\n') is a
   * multiple of 64 bytes, as NumPy writes it. */
  const int dict = snprintf(head + 10, sizeof head - 10,
                            "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }",
                            m->grid.nz, m->grid.nx);
  size_t total = 10 + (size_t)dict + 1;
  total = (total + 63) / 64 * 64;
  memset(head + 10 + dict, ' ', total - 10 - (size_t)dict - 1);
  head[total - 1] = '\n';
  memcpy(head, "\x93NUMPY\x01\x00", 8);
  head[8] = (char)((total - 10) & 0xFF);
  head[9] = (char)((total - 10) >> 8);

  FILE *f = fopen(tmp, "wb");
  if (f == NULL) return psfwi_fail(err, PSFWI_EIO, "cannot create '%s': %s", tmp, strerror(errno));
  int ok = fwrite(head, 1, total, f) == total;
  unsigned char buf[65536];
  const size_t n = psfwi_grid_size(&m->grid), per = sizeof buf / 4;
  for (size_t i = 0; ok && i < n; i += per) {
    const size_t k = n - i < per ? n - i : per;
    for (size_t j = 0; j < k; j++) {
      uint32_t u;
      memcpy(&u, &m->vp[i + j], 4);
      for (int b = 0; b < 4; b++) buf[4 * j + (size_t)b] = (unsigned char)(u >> (8 * b));
    }
    ok = fwrite(buf, 4, k, f) == k;
  }
  if (fclose(f) != 0) ok = 0;
  if (!ok) {
    const int e = errno;
    remove(tmp);
    return psfwi_fail(err, PSFWI_EIO, "cannot write '%s': %s", tmp, strerror(e));
  }
  return psfwi_commit_file(tmp, path, err);
}
