/* psfwi info: a human-readable summary of any (psfwi) NetCDF file. The
 * file is pre-checked before libnetcdf sees it, every nc_ call is checked,
 * and variable statistics are read only for variables of at most
 * INFO_MAX_VALUES values, so a corrupt huge dimension never allocates
 * gigabytes. */
#include <math.h>
#include <netcdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io_internal.h"
#include "psfwi_io.h"

/* Largest variable (values) whose range psfwi info reads: 64 Mi values,
 * 512 MiB as double. Larger ones are listed without statistics. */
#define INFO_MAX_VALUES ((size_t)1 << 26)
/* Largest attribute psfwi info prints (bytes or values). */
#define INFO_MAX_ATT    ((size_t)1 << 20)

static void print_att(FILE *out, int nc, int var, const char *name, const char *indent) {
  nc_type type;
  size_t len;
  if (nc_inq_att(nc, var, name, &type, &len) != NC_NOERR) return;
  fprintf(out, "%s%s = ", indent, name);
  if (len > INFO_MAX_ATT) {
    fprintf(out, "(%zu values, not shown)\n", len);
    return;
  }
  if (type == NC_CHAR) {
    char *txt = malloc(len + 1);
    if (txt == NULL) return;
    if (nc_get_att_text(nc, var, name, txt) != NC_NOERR) len = 0;
    txt[len] = '\0';
    /* Multi-line text (a stored configuration) is indented below. */
    if (strchr(txt, '\n')) {
      fprintf(out, "\n");
      char *line = txt, *nl;
      while ((nl = strchr(line, '\n')) != NULL) {
        *nl = '\0';
        fprintf(out, "%s    %s\n", indent, line);
        line = nl + 1;
      }
      if (*line) fprintf(out, "%s    %s\n", indent, line);
    } else {
      fprintf(out, "\"%s\"\n", txt);
    }
    free(txt);
  } else if (type == NC_STRING || type > NC_MAX_ATOMIC_TYPE) {
    fprintf(out, "(%s, not shown)\n", type == NC_STRING ? "strings" : "user type");
  } else {
    double *v = malloc((len ? len : 1) * sizeof *v);
    if (v == NULL) return;
    if (nc_get_att_double(nc, var, name, v) != NC_NOERR) len = 0;
    for (size_t i = 0; i < len && i < 8; i++) fprintf(out, "%s%g", i ? ", " : "", v[i]);
    fprintf(out, "%s\n", len > 8 ? ", ..." : "");
    free(v);
  }
}

static const char *type_name(nc_type t) {
  switch (t) {
    case NC_BYTE: return "byte";
    case NC_CHAR: return "char";
    case NC_SHORT: return "short";
    case NC_INT: return "int";
    case NC_FLOAT: return "float";
    case NC_DOUBLE: return "double";
    case NC_UBYTE: return "ubyte";
    case NC_INT64: return "int64";
    case NC_UINT64: return "uint64";
    default: return "other";
  }
}

int psfwi_nc_describe(const char *path, void *outp, psfwi_error *err) {
  FILE *out = outp;
  int nc = -1, ndims, nvars, ngatts, unlim;
  double *val = NULL;
  if (psfwi_nc_open_checked_(path, NULL, &nc, err) != PSFWI_OK)
    return err ? err->status : PSFWI_EIO;
  NCX(nc_inq(nc, &ndims, &nvars, &ngatts, &unlim), "inquiring the file");
  fprintf(out, "%s\n  dimensions:\n", path);
  for (int d = 0; d < ndims; d++) {
    char name[PSFWI_NC_NAME_BUF] = "";
    size_t len;
    NCX(nc_inq_dim(nc, d, name, &len), "inquiring a dimension");
    fprintf(out, "    %-10s %zu%s\n", name, len, d == unlim ? " (unlimited)" : "");
  }
  fprintf(out, "  variables:\n");
  for (int v = 0; v < nvars; v++) {
    char name[PSFWI_NC_NAME_BUF] = "", units[128] = "";
    nc_type type;
    int nd, dims[NC_MAX_VAR_DIMS], natts;
    NCX(nc_inq_varndims(nc, v, &nd), "inquiring a variable");
    if (nd < 0 || nd > NC_MAX_VAR_DIMS) {
      psfwi_fail(err, PSFWI_EFORMAT, "'%s': variable %d has %d dimensions; expected 0..%d", path, v,
                 nd, NC_MAX_VAR_DIMS);
      goto fail;
    }
    NCX(nc_inq_var(nc, v, name, &type, &nd, dims, &natts), "inquiring a variable");
    size_t ulen;
    if (nc_inq_attlen(nc, v, "units", &ulen) == NC_NOERR && ulen < sizeof units &&
        nc_get_att_text(nc, v, "units", units) == NC_NOERR)
      units[ulen] = '\0';
    else
      units[0] = '\0';
    size_t n = 1;
    int huge = 0;
    char shape[512] = "";
    for (int i = 0; i < nd; i++) {
      char dn[PSFWI_NC_NAME_BUF] = "";
      size_t len;
      NCX(nc_inq_dim(nc, dims[i], dn, &len), "inquiring a dimension of a variable");
      if (len != 0 && n > INFO_MAX_VALUES / len) huge = 1;
      n = huge ? 0 : n * len;
      size_t used = strlen(shape);
      /* a shape longer than the buffer is cut short (the return value is
       * checked so that gcc -O1 knows the cut is meant) */
      if (snprintf(shape + used, sizeof shape - used, "%s%s", i ? ", " : "", dn) < 0) break;
    }
    fprintf(out, "    %s %s(%s)", type_name(type), name, shape);
    if (units[0]) fprintf(out, " [%s]", units);
    if (huge) fprintf(out, "  (more than %zu values: range not read)", INFO_MAX_VALUES);
    if (!huge && type != NC_CHAR && type != NC_STRING && type <= NC_MAX_ATOMIC_TYPE && n > 0) {
      val = malloc(n * sizeof *val);
      if (val == NULL) {
        psfwi_fail(err, PSFWI_ENOMEM, "'%s': out of memory for the %zu values of '%s'", path, n,
                   name);
        goto fail;
      }
      NCX(nc_get_var_double(nc, v, val), "reading a variable");
      double lo = INFINITY, hi = -INFINITY;
      size_t nonfinite = 0;
      for (size_t i = 0; i < n; i++) {
        if (!isfinite(val[i])) {
          nonfinite++;
          continue;
        }
        if (val[i] < lo) lo = val[i];
        if (val[i] > hi) hi = val[i];
      }
      fprintf(out, "  range %g .. %g", lo, hi);
      if (nd == 1 && n > 1) {
        const double step = (val[n - 1] - val[0]) / (double)(n - 1);
        int even = 1;
        for (size_t i = 1; i < n && even; i++)
          even = fabs(val[i] - (val[0] + (double)i * step)) <= 1e-6 * fabs(step) + 1e-12;
        if (even) fprintf(out, "  step %g", step);
      }
      if (nonfinite) fprintf(out, "  (%zu non-finite values)", nonfinite);
      free(val);
      val = NULL;
    }
    fprintf(out, "\n");
    char lname[256];
    size_t llen;
    if (nc_inq_attlen(nc, v, "long_name", &llen) == NC_NOERR && llen < sizeof lname &&
        nc_get_att_text(nc, v, "long_name", lname) == NC_NOERR) {
      lname[llen] = '\0';
      fprintf(out, "        %s\n", lname);
    }
  }
  fprintf(out, "  global attributes:\n");
  for (int a = 0; a < ngatts; a++) {
    char name[PSFWI_NC_NAME_BUF] = "";
    NCX(nc_inq_attname(nc, NC_GLOBAL, a, name), "inquiring a global attribute");
    print_att(out, nc, NC_GLOBAL, name, "    ");
  }
  return psfwi_nc_close_(nc, path, err);
fail:
  free(val);
  if (nc >= 0) psfwi_nc_close_(nc, path, NULL);
  return err ? err->status : PSFWI_EIO;
}
