/* psfwi: pseudo-spectral seismic full-waveform inversion. Umbrella header:
 * include this to use the whole library (link with pkg-config psfwi). */
#ifndef PSFWI_H
#define PSFWI_H
#include "psfwi_core.h"
#include "psfwi_comm.h"
#include "psfwi_model.h"
#include "psfwi_io.h"
#include "psfwi_config.h"
#include "psfwi_eval.h"
#include "psfwi_wave.h"
#include "psfwi_regularize.h"
#include "psfwi_optim.h"
#include "psfwi_invert.h"
#include "psfwi_learn.h"
#endif
