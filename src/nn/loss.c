/* psfwi nn: losses on n values, their mean in double and dL/dy. Sums run
 * over LANES interleaved partial sums (a fixed order the compiler can
 * vectorise). */
#include <math.h>

#include "nn_internal.h"

#define LANES 8

/* The loss of one residual r and its derivative. */
static inline double loss_one(int loss, double delta, double r, double *d) {
  switch (loss) {
    case PSFWI_NN_L1: *d = r > 0 ? 1.0 : (r < 0 ? -1.0 : 0.0); return fabs(r);
    case PSFWI_NN_HUBER: /* delta <= 0: the L1 limit, as PyTorch's beta = 0 */
      if (delta > 0 && fabs(r) <= delta) {
        *d = r / delta;
        return 0.5 * r * r / delta;
      }
      *d = r > 0 ? 1.0 : (r < 0 ? -1.0 : 0.0);
      return fabs(r) - (delta > 0 ? 0.5 * delta : 0.0);
    default: /* MSE */ *d = 2.0 * r; return r * r;
  }
}

double psfwi_nn_loss_eval(int loss, double delta, const psfwi_nn_real *y, const psfwi_nn_real *t,
                          size_t n, double scale, psfwi_nn_real *dy) {
  if (n == 0) return 0.0;
  const double inv = 1.0 / (double)n, k = scale * inv;
  double acc[LANES] = {0}, s = 0.0;
  size_t i = 0;
  if (loss == PSFWI_NN_MSE && dy != NULL) { /* the common case, vectorised */
    for (; i + LANES <= n; i += LANES)
      for (size_t j = 0; j < LANES; j++) {
        const double r = (double)y[i + j] - (double)t[i + j];
        acc[j] += r * r;
        dy[i + j] = (psfwi_nn_real)(2.0 * k * r);
      }
  } else {
    for (; i + LANES <= n; i += LANES)
      for (size_t j = 0; j < LANES; j++) {
        double d;
        acc[j] += loss_one(loss, delta, (double)y[i + j] - (double)t[i + j], &d);
        if (dy) dy[i + j] = (psfwi_nn_real)(k * d);
      }
  }
  for (; i < n; i++) {
    double d;
    s += loss_one(loss, delta, (double)y[i] - (double)t[i], &d);
    if (dy) dy[i] = (psfwi_nn_real)(k * d);
  }
  for (size_t j = 0; j < LANES; j++) s += acc[j];
  return s * inv;
}
