/* psfwi info: a human-readable summary of any (psfwi) NetCDF file. */
#include <math.h>
#include <netcdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psfwi_io.h"

static void print_att(FILE *out, int nc, int var, const char *name, const char *indent) {
  nc_type type;
  size_t len;
  if (nc_inq_att(nc, var, name, &type, &len) != NC_NOERR) return;
  fprintf(out, "%s%s = ", indent, name);
  if (type == NC_CHAR) {
    char *txt = malloc(len + 1);
    if (txt == NULL) return;
    nc_get_att_text(nc, var, name, txt);
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
  } else {
    double *v = malloc((len ? len : 1) * sizeof *v);
    if (v == NULL) return;
    nc_get_att_double(nc, var, name, v);
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
    default: return "other";
  }
}

int psfwi_nc_describe(const char *path, void *outp, psfwi_error *err) {
  FILE *out = outp;
  int nc, ndims, nvars, ngatts, unlim;
  int st = nc_open(path, NC_NOWRITE, &nc);
  if (st != NC_NOERR)
    return psfwi_fail(err, PSFWI_EIO, "'%s': cannot open as NetCDF: %s", path, nc_strerror(st));
  nc_inq(nc, &ndims, &nvars, &ngatts, &unlim);
  fprintf(out, "%s\n  dimensions:\n", path);
  for (int d = 0; d < ndims; d++) {
    char name[NC_MAX_NAME + 1];
    size_t len;
    nc_inq_dim(nc, d, name, &len);
    fprintf(out, "    %-10s %zu%s\n", name, len, d == unlim ? " (unlimited)" : "");
  }
  fprintf(out, "  variables:\n");
  for (int v = 0; v < nvars; v++) {
    char name[NC_MAX_NAME + 1], units[128] = "";
    nc_type type;
    int nd, dims[NC_MAX_VAR_DIMS], natts;
    nc_inq_var(nc, v, name, &type, &nd, dims, &natts);
    size_t ulen;
    if (nc_inq_attlen(nc, v, "units", &ulen) == NC_NOERR && ulen < sizeof units) {
      nc_get_att_text(nc, v, "units", units);
      units[ulen] = '\0';
    }
    size_t n = 1;
    char shape[512] = "";
    for (int i = 0; i < nd; i++) {
      char dn[NC_MAX_NAME + 1];
      size_t len;
      nc_inq_dim(nc, dims[i], dn, &len);
      n *= len;
      size_t used = strlen(shape);
      snprintf(shape + used, sizeof shape - used, "%s%s", i ? ", " : "", dn);
    }
    fprintf(out, "    %s %s(%s)", type_name(type), name, shape);
    if (units[0]) fprintf(out, " [%s]", units);
    if (type != NC_CHAR && n > 0) {
      double *val = malloc(n * sizeof *val);
      if (val && nc_get_var_double(nc, v, val) == NC_NOERR) {
        double lo = INFINITY, hi = -INFINITY;
        size_t nonfinite = 0;
        for (size_t i = 0; i < n; i++) {
          if (!isfinite(val[i])) { nonfinite++; continue; }
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
      }
      free(val);
    }
    fprintf(out, "\n");
    char lname[256];
    size_t llen;
    if (nc_inq_attlen(nc, v, "long_name", &llen) == NC_NOERR && llen < sizeof lname) {
      nc_get_att_text(nc, v, "long_name", lname);
      lname[llen] = '\0';
      fprintf(out, "        %s\n", lname);
    }
  }
  fprintf(out, "  global attributes:\n");
  for (int a = 0; a < ngatts; a++) {
    char name[NC_MAX_NAME + 1];
    nc_inq_attname(nc, NC_GLOBAL, a, name);
    print_att(out, nc, NC_GLOBAL, name, "    ");
  }
  nc_close(nc);
  return PSFWI_OK;
}
