/* psfwi gradient -c CONFIG.ini [--set section.key=value ...]: the data misfit
 * and its exact gradient with respect to the velocity model, as NetCDF. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_invert.h"

static const char usage_text[] =
    "usage: psfwi gradient -c CONFIG.ini [--set section.key=value ...]\n"
    "Evaluate the data misfit J ([inversion] misfit, in the first band of [inversion]\n"
    "bands, with low_cut) at [model] vp and its exact discrete-adjoint gradient dJ/dv,\n"
    "and write [output] gradient: objective (scalar), gradient(z, x) per m/s and the\n"
    "source illumination(z, x). Keys as for psfwi fwi (the [regularization] keys are\n"
    "not used here).\n";

static const psfwi_config_key keys[] = {
    CLI_KEYS_MODEL_SURVEY,
    CLI_KEYS_INVERT,
    CLI_KEYS_INVERT_OUTPUT,
};

int cmd_gradient(int argc, char **argv) {
  psfwi_error err = {0};
  cli_problem P;
  memset(&P, 0, sizeof P);
  if (psfwi_comm_init(&argc, &argv, &P.comm, &err) != PSFWI_OK) return cli_error(&err);
  int code;
  psfwi_config *cfg = cli_config_from_args("gradient", usage_text, keys,
                                           sizeof keys / sizeof keys[0], argc, argv, &code);
  if (cfg == NULL) {
    psfwi_comm_finalize(&P.comm);
    return code;
  }
  const int rank0 = P.comm.rank == 0;
  int st = PSFWI_OK;
  double *grad = NULL, *illum = NULL;
  psfwi_filter *flt = NULL;
  psfwi_misfit *mf = NULL;
  const char *out = psfwi_config_require(cfg, "output", "gradient", &err);
  if (out == NULL) st = err.status;
  static const char *const outputs[] = {"output.gradient", NULL};
  if (st == PSFWI_OK) st = cli_check_run_files(cfg, cli_invert_inputs, outputs, NULL, 0, &err);
  if (st == PSFWI_OK) st = cli_problem_setup(&P, cfg, &err);
  st = psfwi_comm_agree(&P.comm, st);
  double J = 0.0;
  psfwi_gradient_stats stats;
  if (st == PSFWI_OK) {
    const size_t nxz = P.model->grid.nx * P.model->grid.nz;
    grad = calloc(nxz, sizeof *grad);
    illum = calloc(nxz, sizeof *illum);
    if (grad == NULL || illum == NULL) st = psfwi_fail(&err, PSFWI_ENOMEM, "out of memory");
    if (st == PSFWI_OK)
      st = psfwi_fwi_make_misfit(&P.fwi, 0, P.obs->nt, P.obs->dt, &flt, &mf, &err);
    if (st == PSFWI_OK)
      st = psfwi_gradient(P.w, P.model, P.local, P.obs->wavelet, P.obs->nt, P.d_local, mf,
                          &P.fwi.grad, &J, grad, illum, NULL, &stats, &err);
  }
  if (st == PSFWI_OK && rank0) {
    fprintf(stderr,
            "gradient: J = %.9e in %.2f s (%zu forward and %zu backward steps, %.1f MiB "
            "of stored wavefields per shot)\n",
            J, stats.seconds, stats.fwd_steps, stats.bwd_steps,
            (double)stats.bytes_storage / 1048576.0);
    const psfwi_nc_field fields[] = {
        {"gradient", "1/(m/s)", "derivative of the objective with respect to vp", grad},
        {"illumination", "Pa2 s", "source illumination (pseudo-Hessian diagonal)", illum},
    };
    const psfwi_nc_scalar scalars[] = {
        {"objective", "1", "data misfit J of the first band", J},
    };
    psfwi_meta meta = cli_meta("psfwi objective and gradient");
    meta.config = P.cfg_text;
    st = psfwi_nc_write_fields(out, &P.model->grid, 2, fields, 1, scalars, &meta, &err);
    if (st == PSFWI_OK) printf("objective = %.9e\nwrote %s\n", J, out);
  }
  if (st != PSFWI_OK && rank0) cli_error(&err);
  free(grad);
  free(illum);
  psfwi_filter_destroy(flt);
  psfwi_misfit_destroy(mf);
  cli_problem_free(&P);
  psfwi_config_destroy(cfg);
  psfwi_comm_finalize(&P.comm);
  return st == PSFWI_OK ? 0 : 1;
}
