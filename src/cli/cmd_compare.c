/* psfwi compare TRUE.nc MODEL.nc...: metrics of models against a true model. */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage_text[] =
    "usage: psfwi compare TRUE.nc MODEL.nc [MODEL.nc ...] [--format table|csv|json]\n"
    "                     [--window X0:X1,Z0:Z1]\n"
    "--window compares only x in [X0, X1], z in [Z0, Z1] (metres; e.g. around faults).\n"
    "Per model: RMSE and MAE (m/s), relative L2 error (%), SSIM (Gaussian 11x11\n"
    "window, sigma 1.5, C1 = (0.01 L)^2, C2 = (0.03 L)^2, L = data range of the true\n"
    "model) and PSNR (dB, peak = L). Models must be on the true model's grid.\n";

static void json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') putchar('\\');
    putchar(*s);
  }
  putchar('"');
}

int cmd_compare(int argc, char **argv) {
  static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                       {"window", required_argument, NULL, 'w'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *format = "table";
  const char *window = NULL;
  double wx0 = 0, wx1 = 0, wz0 = 0, wz1 = 0;
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "hf:w:", opts, NULL)) != -1) {
    if (c == 'h') {
      fputs(usage_text, stdout);
      return 0;
    }
    if (c == 'f')
      format = optarg;
    else if (c == 'w') {
      window = optarg;
      char tail;
      if (sscanf(optarg, "%lf:%lf,%lf:%lf%c", &wx0, &wx1, &wz0, &wz1, &tail) != 4 || !(wx1 > wx0) ||
          !(wz1 > wz0))
        return cli_usage_error("compare",
                               "--window '%s'; expected X0:X1,Z0:Z1 in metres with "
                               "X0 < X1 and Z0 < Z1",
                               optarg);
    } else
      return cli_usage_error("compare", "unknown option or missing value '%s'", argv[optind - 1]);
  }
  if (strcmp(format, "table") && strcmp(format, "csv") && strcmp(format, "json"))
    return cli_usage_error("compare", "--format '%s'; expected table, csv or json", format);
  if (argc - optind < 2)
    return cli_usage_error("compare", "needs a true model and at least one model");

  psfwi_error err = {0};
  psfwi_model *truth = psfwi_nc_read_model(argv[optind], NULL, &err);
  if (truth == NULL) return cli_error(&err);
  if (window) { /* every model cut to the window */
    psfwi_model *t = psfwi_model_crop(truth, wx0, wx1, wz0, wz1, &err);
    psfwi_model_destroy(truth);
    if ((truth = t) == NULL) return cli_error(&err);
  }
  const int nmodels = argc - optind - 1;
  psfwi_metrics met[256];
  if (nmodels > 256) return cli_usage_error("compare", "at most 256 models");
  size_t width = 5;
  for (int i = 0; i < nmodels; i++) {
    const char *path = argv[optind + 1 + i];
    psfwi_model *m = psfwi_nc_read_model(path, NULL, &err);
    if (m && window) {
      psfwi_model *cut = psfwi_model_crop(m, wx0, wx1, wz0, wz1, &err);
      psfwi_model_destroy(m);
      m = cut;
    }
    int st = m ? psfwi_compare(truth, m, &met[i], &err) : err.status;
    psfwi_model_destroy(m);
    if (st != PSFWI_OK) {
      psfwi_model_destroy(truth);
      psfwi_error_prefix(&err, "comparing '%s' with '%s'", path, argv[optind]);
      return cli_error(&err);
    }
    if (strlen(path) > width) width = strlen(path);
  }
  psfwi_model_destroy(truth);

  /* SSIM needs a data range: a constant true model has none (its SSIM is
   * undefined, shown as "n/a" in the table and null in JSON). */
  int undefined_ssim = 0;
  for (int i = 0; i < nmodels; i++) undefined_ssim |= !isfinite(met[i].ssim);
  if (!strcmp(format, "table")) {
    printf("true model: %s", argv[optind]);
    if (window) printf(" (window x %g..%g m, z %g..%g m)", wx0, wx1, wz0, wz1);
    printf("\n");
    printf("%-*s  %10s  %10s  %9s  %7s  %9s\n", (int)width, "model", "RMSE m/s", "MAE m/s",
           "rel. L2 %", "SSIM", "PSNR dB");
    for (int i = 0; i < nmodels; i++) {
      char ssim[16], psnr[16];
      if (isfinite(met[i].ssim))
        snprintf(ssim, sizeof ssim, "%7.4f", met[i].ssim);
      else
        snprintf(ssim, sizeof ssim, "%7s", "n/a");
      if (isfinite(met[i].psnr) || isinf(met[i].psnr))
        snprintf(psnr, sizeof psnr, "%9.2f", met[i].psnr);
      else
        snprintf(psnr, sizeof psnr, "%9s", "n/a");
      printf("%-*s  %10.2f  %10.2f  %9.3f  %s  %s\n", (int)width, argv[optind + 1 + i], met[i].rmse,
             met[i].mae, met[i].rel_l2, ssim, psnr);
    }
    if (undefined_ssim)
      printf(
          "n/a: the true model is constant, so SSIM (which needs its data range "
          "max - min > 0) is undefined\n");
  } else if (!strcmp(format, "csv")) {
    printf("model,rmse_m_per_s,mae_m_per_s,rel_l2_percent,ssim,psnr_db\n");
    for (int i = 0; i < nmodels; i++)
      printf("%s,%.6g,%.6g,%.6g,%.6g,%.6g\n", argv[optind + 1 + i], met[i].rmse, met[i].mae,
             met[i].rel_l2, met[i].ssim, met[i].psnr);
  } else {
    printf("{\"true\": ");
    json_string(argv[optind]);
    printf(", \"models\": [");
    for (int i = 0; i < nmodels; i++) {
      printf("%s\n  {\"model\": ", i ? "," : "");
      json_string(argv[optind + 1 + i]);
      /* JSON has no NaN or infinity: an undefined value (SSIM of a constant
       * true model) or an infinite one (PSNR of identical models) is null. */
      const char *const names[] = {"rmse", "mae", "rel_l2", "ssim", "psnr"};
      const double vals[] = {met[i].rmse, met[i].mae, met[i].rel_l2, met[i].ssim, met[i].psnr};
      for (size_t k = 0; k < 5; k++) {
        if (isfinite(vals[k]))
          printf(", \"%s\": %.9g", names[k], vals[k]);
        else
          printf(", \"%s\": null", names[k]);
      }
      printf("}");
    }
    printf("\n]");
    if (undefined_ssim)
      printf(", \"note\": \"ssim is null: the true model is constant (no data range)\"");
    printf("}\n");
  }
  return 0;
}
