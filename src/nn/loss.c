/* psfwi nn: losses on n values, their mean in double and dL/dy. */
#include <math.h>

#include "nn_internal.h"

double psfwi_nn_loss_eval(int loss, double delta, const psfwi_nn_real *y, const psfwi_nn_real *t,
                          size_t n, double scale, psfwi_nn_real *dy) {
  if (n == 0) return 0.0;
  const double inv = 1.0 / (double)n;
  double s = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double r = (double)y[i] - (double)t[i];
    double v, d;
    switch (loss) {
      case PSFWI_NN_L1:
        v = fabs(r);
        d = r > 0 ? 1.0 : (r < 0 ? -1.0 : 0.0);
        break;
      case PSFWI_NN_HUBER: /* delta <= 0: the L1 limit, as PyTorch's beta = 0 */
        if (delta > 0 && fabs(r) <= delta) {
          v = 0.5 * r * r / delta;
          d = r / delta;
        } else {
          v = fabs(r) - (delta > 0 ? 0.5 * delta : 0.0);
          d = r > 0 ? 1.0 : (r < 0 ? -1.0 : 0.0);
        }
        break;
      default: /* MSE */
        v = r * r;
        d = 2.0 * r;
        break;
    }
    s += v;
    if (dy) dy[i] = (psfwi_nn_real)(scale * d * inv);
  }
  return s * inv;
}
