/* NumPy .npy and .npz velocity models.
 *
 * .npy: magic "\x93NUMPY", version (1.0: 2-byte header length; 2.0 and 3.0:
 * 4-byte), then a Python dict literal {'descr': ..., 'fortran_order': ...,
 * 'shape': (...)} and the raw array. Only float32/float64 in either byte
 * order are accepted.
 *
 * .npz: a zip archive of .npy members ("key.npy"), read with libzip
 * (stored or deflated members, zip64, CRC-32 checked); the member is read
 * into memory, bounded by its stated size (see NPZ_MAX_MEMBER), then parsed
 * as a .npy. Every offset and length is checked against the data's size
 * before it is used, so a malformed file is an error, never a crash or an
 * allocation larger than the file could hold. */
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
#include <zip.h>

#include "psfwi_io.h"

#define NPY_MAX_DIMS   32
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
                        "%s: shape %s is absurdly large: its size overflows 64 bits", s->where, sh);
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

/* ---- The zip container (.npz), read through libzip ---------------------------
 * libzip (Debian 12: 1.7.3) replaced a hand-written zip parser: measured on
 * NumPy's savez/savez_compressed output, hand-built zip64 archives and
 * damaged copies (tests/test_io_raw_npy.c), it does all the reader needs:
 * stored and deflated members, zip64, and a CRC-32 check once a member is
 * read to its end. It does not stop a deflated member at its stated size,
 * so reads here are bounded by it and the size limits below are this
 * file's. ZIP_CHECKCONS makes zip_open compare every local header with the
 * central directory and check that the members lie before it: about 3 us
 * per archive plus 2 us per member (docs/ARCHITECTURE.md, Build). Messages
 * name the file and, once one is chosen, the member; libzip's own text
 * follows in parentheses. */
#define NPZ_MAX_MEMBER ((uint64_t)4 << 30)     /* bytes, uncompressed: 4 GiB */
#define NPZ_MAX_RATIO  1032                    /* deflate expands at most ~1032:1 */
#define NPZ_CHUNK      ((zip_uint64_t)1 << 26) /* bytes per zip_fread: 64 MiB */

/* libzip's code -> psfwi status: system errors are I/O, the rest format. */
static int zip_status(int ze) {
  switch (ze) {
    case ZIP_ER_MEMORY: return PSFWI_ENOMEM;
    case ZIP_ER_OPEN:
    case ZIP_ER_READ:
    case ZIP_ER_SEEK:
    case ZIP_ER_TELL: return PSFWI_EIO;
    case ZIP_ER_COMPNOTSUPP:
    case ZIP_ER_ENCRNOTSUPP:
    case ZIP_ER_MULTIDISK: return PSFWI_EUNSUPPORTED;
    default: return PSFWI_EFORMAT;
  }
}

/* What a libzip error means for an .npz, in the words of the messages. */
static const char *zip_meaning(int ze) {
  switch (ze) {
    case ZIP_ER_NOZIP:
      return "not a zip archive, or a damaged one: no usable end-of-central-directory record";
    case ZIP_ER_INCONS:
      return "inconsistent zip archive: the central directory disagrees with a local header or "
             "with itself";
    case ZIP_ER_CRC: return "CRC-32 mismatch: corrupt";
    case ZIP_ER_ZLIB:
    case ZIP_ER_COMPRESSED_DATA: return "corrupt deflate data";
    case ZIP_ER_EOF: return "truncated";
    case ZIP_ER_MULTIDISK: return "multi-part zip archives are not supported";
    case ZIP_ER_COMPNOTSUPP:
      return "compression method not supported (expected stored or deflated)";
    case ZIP_ER_ENCRNOTSUPP: return "encrypted; not supported";
    default: return "cannot read it";
  }
}

static int zip_fail(psfwi_error *err, const char *where, zip_error_t *ze) {
  const int code = zip_error_code_zip(ze);
  return psfwi_fail(err, zip_status(code), "%s: %s (libzip: %s)", where, zip_meaning(code),
                    zip_error_strerror(ze));
}

/* Member i's name without ".npy" (printable, at most 100 bytes) appended to
 * buf as ", name"; for messages listing the keys. */
static void list_keys(zip_t *za, zip_uint64_t n, char *buf, size_t len) {
  size_t used = 0;
  buf[0] = '\0';
  for (zip_uint64_t i = 0; i < n && used + 1 < len; i++) {
    const char *name = zip_get_name(za, i, ZIP_FL_ENC_RAW);
    if (name == NULL) name = "?";
    size_t nl = strlen(name);
    if (nl > 4 && strcmp(name + nl - 4, ".npy") == 0) nl -= 4;
    if (nl > 100) nl = 100;
    used += (size_t)snprintf(buf + used, len - used, "%s%.*s", i ? ", " : "", (int)nl, name);
  }
  if (used + 1 >= len && len > 4) memcpy(buf + len - 4, "...", 4);
}

static int name_is(const char *name, const char *key) {
  const size_t k = strlen(key);
  return strncmp(name, key, k) == 0 && (name[k] == '\0' || strcmp(name + k, ".npy") == 0);
}

/* Member i (stored or deflated) into a new buffer of *size bytes (caller
 * frees). Sizes are checked before anything is allocated: at most the
 * member's stated uncompressed size, which must be at most 4 GiB and possible
 * for the archive's size (stored: equal to the compressed size; deflated: at
 * most 1032 times it). The member is read to its end, so libzip checks its
 * CRC-32 and length. */
static unsigned char *npz_extract(zip_t *za, zip_uint64_t i, const char *where, uint64_t *size,
                                  psfwi_error *err) {
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(za, i, 0, &st) != 0) {
    zip_fail(err, where, zip_get_error(za));
    return NULL;
  }
  const zip_uint64_t need =
      ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD | ZIP_STAT_ENCRYPTION_METHOD;
  if ((st.valid & need) != need) {
    psfwi_fail(err, PSFWI_EINTERNAL, "%s: libzip gives no sizes for it", where);
    return NULL;
  }
  if (st.encryption_method != ZIP_EM_NONE) {
    psfwi_fail(err, PSFWI_EUNSUPPORTED, "%s is encrypted; not supported", where);
    return NULL;
  }
  if (st.comp_method != ZIP_CM_STORE && st.comp_method != ZIP_CM_DEFLATE) {
    psfwi_fail(err, PSFWI_EUNSUPPORTED,
               "%s uses zip compression method %d; supported: 0 (stored) and 8 (deflated)", where,
               (int)st.comp_method);
    return NULL;
  }
  const uint64_t us = st.size, cs = st.comp_size;
  if (us > NPZ_MAX_MEMBER || us > SIZE_MAX - 1) {
    psfwi_fail(err, PSFWI_ERANGE,
               "%s holds %ju bytes uncompressed, above the reader's limit of 4 GiB (%ju bytes)",
               where, (uintmax_t)us, (uintmax_t)NPZ_MAX_MEMBER);
    return NULL;
  }
  /* ZIP_CHECKCONS has made sure the compressed bytes lie before the central
   * directory, so cs is below the archive's size. */
  if (st.comp_method == ZIP_CM_STORE && cs != us) {
    psfwi_fail(err, PSFWI_EFORMAT, "%s is stored but its sizes differ (%ju and %ju bytes): corrupt",
               where, (uintmax_t)cs, (uintmax_t)us);
    return NULL;
  }
  if (st.comp_method == ZIP_CM_DEFLATE && us > cs * NPZ_MAX_RATIO + 1024) {
    psfwi_fail(err, PSFWI_EFORMAT,
               "%s claims %ju bytes from %ju compressed bytes, impossible for deflate: corrupt",
               where, (uintmax_t)us, (uintmax_t)cs);
    return NULL;
  }
  unsigned char *out = malloc((size_t)us + 1);
  if (out == NULL) {
    psfwi_fail(err, PSFWI_ENOMEM, "%s: out of memory for %ju bytes", where, (uintmax_t)us);
    return NULL;
  }
  zip_file_t *zf = zip_fopen_index(za, i, 0);
  if (zf == NULL) {
    zip_fail(err, where, zip_get_error(za));
    free(out);
    return NULL;
  }
  /* Bounded reads up to the stated size, then one more (which must find the
   * end: reaching it makes libzip compare the CRC-32 and the length). */
  uint64_t got = 0;
  zip_int64_t r = 0;
  while (got < us) {
    const zip_uint64_t want = us - got < NPZ_CHUNK ? us - got : NPZ_CHUNK;
    r = zip_fread(zf, out + got, want);
    if (r <= 0) break;
    got += (uint64_t)r;
  }
  unsigned char extra;
  if (got == us) r = zip_fread(zf, &extra, 1);
  int st_ = PSFWI_OK;
  if (r < 0)
    st_ = zip_fail(err, where, zip_file_get_error(zf));
  else if (got < us)
    st_ = psfwi_fail(err, PSFWI_EFORMAT,
                     "%s: the data ends after %ju bytes, short of its declared size of %ju bytes: "
                     "corrupt",
                     where, (uintmax_t)got, (uintmax_t)us);
  else if (r > 0)
    st_ = psfwi_fail(err, PSFWI_EFORMAT,
                     "%s: the data runs past its declared size of %ju bytes: corrupt", where,
                     (uintmax_t)us);
  zip_fclose(zf);
  if (st_ != PSFWI_OK) {
    free(out);
    return NULL;
  }
  *size = us;
  return out;
}

/* Opening failed with ZIP_ER_INCONS under ZIP_CHECKCONS: say which members
 * the archive claims, read without the check, so the message names them. */
static int npz_incons(const char *path, const char *fwhere, zip_error_t *ze, psfwi_error *err) {
  char keys[400] = "";
  zip_t *za = zip_open(path, ZIP_RDONLY, NULL);
  if (za != NULL) {
    const zip_int64_t n = zip_get_num_entries(za, 0);
    if (n > 0) list_keys(za, (zip_uint64_t)n, keys, sizeof keys);
    zip_discard(za);
  }
  return psfwi_fail(err, PSFWI_EFORMAT, "%s: %s (libzip: %s); members: %s", fwhere,
                    zip_meaning(ZIP_ER_INCONS), zip_error_strerror(ze),
                    keys[0] ? keys : "none readable");
}

static psfwi_model *read_npz(const char *path, const char *fwhere, const psfwi_npy_opts *opts,
                             psfwi_error *err) {
  int code = 0;
  zip_t *za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &code);
  if (za == NULL) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, code);
    if (code == ZIP_ER_INCONS)
      npz_incons(path, fwhere, &ze, err);
    else
      zip_fail(err, fwhere, &ze);
    zip_error_fini(&ze);
    return NULL;
  }
  psfwi_model *m = NULL;
  unsigned char *member = NULL;
  char keys[400];
  const zip_int64_t n64 = zip_get_num_entries(za, 0);
  const zip_uint64_t n = n64 > 0 ? (zip_uint64_t)n64 : 0;
  zip_uint64_t pick = n;
  if (n == 0) {
    psfwi_fail(err, PSFWI_EFORMAT, "%s is an empty zip archive: no arrays", fwhere);
    goto done;
  }
  const char *want = opts->key != NULL ? opts->key : n == 1 ? NULL : "vp";
  for (zip_uint64_t i = 0; i < n && pick == n; i++) {
    const char *name = zip_get_name(za, i, ZIP_FL_ENC_RAW);
    if (name != NULL && (want == NULL || name_is(name, want))) pick = i;
  }
  if (pick == n) {
    list_keys(za, n, keys, sizeof keys);
    if (opts->key != NULL)
      psfwi_fail(err, PSFWI_EKEY, "%s has no array '%s'; available: %s", fwhere, opts->key, keys);
    else
      psfwi_fail(err, PSFWI_EKEY,
                 "%s holds %ju arrays and none is 'vp': name one with a key; available: %s", fwhere,
                 (uintmax_t)n, keys);
    goto done;
  }
  char where[832]; /* fwhere (< 600) + " member '" + at most 200 + "'" */
  snprintf(where, sizeof where, "%s member '%.200s'", fwhere,
           zip_get_name(za, pick, ZIP_FL_ENC_RAW));
  uint64_t size = 0;
  member = npz_extract(za, pick, where, &size, err);
  if (member == NULL) goto done;
  const src msrc = {.where = where, .f = NULL, .mem = member, .size = size};
  m = read_npy(&msrc, opts, err);
done:
  free(member);
  zip_discard(za); /* read-only: nothing to write back */
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
    m = read_npz(path, where, opts, err);
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
  if (f == NULL)
    return psfwi_fail(err, PSFWI_EIO, "cannot create '%s' (temporary '%s'): %s", path, tmp,
                      strerror(errno));
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
    return psfwi_fail(err, PSFWI_EIO, "cannot write '%s': %s", path, strerror(e));
  }
  return psfwi_commit_file(tmp, path, err);
}
