#!/usr/bin/python3
"""Independent SSIM reference values for tests/test_eval_metrics.c.

Computes SSIM with scikit-image (Debian's python3-skimage; not a psfwi
dependency, only used to make these reference numbers) on the same
deterministic test images that the C test builds. Run it to re-derive the
constants hard-coded in the test:  /usr/bin/python3 scripts/reference_ssim.py
"""
import numpy as np
from skimage.metrics import structural_similarity

def images(nx, nz):
    ix = np.arange(nx)[None, :].astype(np.float64)
    iz = np.arange(nz)[:, None].astype(np.float64)
    a = (2000.0 + 500.0 * np.sin(0.3 * ix) * np.cos(0.2 * iz) + 10.0 * iz).astype(np.float32)
    b = (a.astype(np.float64) + 100.0 * np.sin(0.7 * ix + 0.5 * iz)).astype(np.float32)
    c = (0.8 * a.astype(np.float64) + 300.0).astype(np.float32)
    return a, b, c

for nx, nz in [(40, 30), (17, 64)]:
    a, b, c = images(nx, nz)
    L = float(a.max()) - float(a.min())
    for name, other in (("b", b), ("c", c)):
        s = structural_similarity(a.astype(np.float64), other.astype(np.float64), data_range=L,
                                  gaussian_weights=True, sigma=1.5,
                                  use_sample_covariance=False)
        print(f"nx={nx} nz={nz} ssim(a,{name}) = {s:.12f}  (L = {L:.6f})")
