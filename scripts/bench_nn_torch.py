#!/usr/bin/python3
"""PyTorch peer of bench/bench_nn.c (docs/BENCHMARKS.md, "NN engine").

The "issue-12 default" hourglass Conv1D network, float32, one training step
= forward + MSE + backward + Adam, batch B of input (80, 72) and target
(70, 72). Prints the median samples/s over --reps rounds of --steps steps.
Only a benchmark peer: torch is never a psfwi dependency.

    /usr/bin/python3 scripts/bench_nn_torch.py --threads 1 --batch 64 --reps 7
"""
import argparse
import os
import time

# Debian's torch calls OpenBLAS (pthreads) from inside its OpenMP threads:
# with OpenBLAS's own threads on top, 2 torch threads ran at 46 samples/s
# instead of ~1,700. One OpenBLAS thread per torch thread, as PyTorch's
# documentation advises; set before torch loads OpenBLAS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402


class Hourglass(nn.Module):
    def __init__(self):
        super().__init__()

        def block(conv, c):
            return nn.Sequential(conv, nn.BatchNorm1d(c), nn.ReLU())

        self.b1 = block(nn.Conv1d(80, 64, 3, padding=1, bias=False), 64)
        self.b2 = block(nn.Conv1d(64, 128, 3, stride=2, padding=1, bias=False), 128)
        self.b3 = block(nn.Conv1d(128, 256, 3, stride=2, padding=1, bias=False), 256)
        self.u1 = block(nn.ConvTranspose1d(256, 128, 4, stride=2, padding=1, bias=False), 128)
        self.u2 = block(nn.ConvTranspose1d(128, 64, 4, stride=2, padding=1, bias=False), 64)
        self.out = nn.Conv1d(64, 70, 1)

    def forward(self, x):
        a = self.b1(x)
        b = self.b2(a)
        c = self.b3(b)
        d = self.u1(c) + b
        e = self.u2(d) + a
        return self.out(e)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--steps", type=int, default=20)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    net = Hourglass()
    nparam = sum(q.numel() for q in net.parameters())
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.MSELoss()
    x = torch.randn(a.batch, 80, 72)
    t = torch.randn(a.batch, 70, 72)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), t)
        loss.backward()
        opt.step()
        return loss

    for _ in range(3):  # warm-up
        step()
    rates = []
    for r in range(a.reps):
        t0 = time.perf_counter()
        for _ in range(a.steps):
            step()
        dt = time.perf_counter() - t0
        rates.append(a.steps * a.batch / dt)
        print(f"round {r + 1}: {rates[-1]:.0f} samples/s")
    rates.sort()
    n = len(rates)
    med = rates[n // 2] if n % 2 else 0.5 * (rates[n // 2 - 1] + rates[n // 2])
    print(f"torch {torch.__version__}: {nparam} parameters, batch {a.batch}, "
          f"{a.threads} thread(s): median {med:.0f} samples/s")


if __name__ == "__main__":
    main()
