/* psfwi info FILE...: summary of psfwi NetCDF files. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_info(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    fputs(
        "usage: psfwi info FILE [FILE ...]\n"
        "Dimensions, coordinate spacing, value ranges with units, and attributes of\n"
        "psfwi NetCDF files (models, shot gathers, inversion histories, gradients).\n",
        argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  int status = 0;
  for (int i = 1; i < argc; i++) {
    psfwi_error err = {0};
    if (psfwi_nc_describe(argv[i], stdout, &err) != PSFWI_OK) status = cli_error(&err);
  }
  return status;
}
