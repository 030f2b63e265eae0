#!/usr/bin/python3
"""Reference trajectories of PyTorch's optimisers for tests/test_optimizer.c.

Three parameter tensors (a 3x4 "kernel", a 4-element "bias" excluded from weight decay, an 8-element
"kernel"), 24 floats in all, are updated for 6 steps by torch.optim.AdamW / SGD with the weights
and biases in separate parameter groups (weight decay 0 for the bias group, as simclr excludes
biases), the learning rate set before every step (a schedule's values). Writes, little-endian
float32:
    torch_optim_w0.f32       initial weights (24)
    torch_optim_grads.f32    the gradient of each step (6 x 24), fixed random values
    torch_optim_lrs.f32      the learning rate of each step (6)
    torch_optim_<case>.f32   the weights after each step (6 x 24)
Run with Debian's /usr/bin/python3 (python3-torch): /usr/bin/python3 tools/make_torch_optimizer_fixtures.py
"""
import os

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")
SIZES = [12, 4, 8]          # kernel, bias (excluded), kernel
EXCLUDED = [False, True, False]
STEPS = 6
LRS = [0.05, 0.1, 0.2, 0.15, 0.08, 0.01]

CASES = {
    "adamw": lambda groups: torch.optim.AdamW(groups, lr=1.0, betas=(0.9, 0.999), eps=1e-8),
    "sgd": lambda groups: torch.optim.SGD(groups, lr=1.0, momentum=0.9),
    "sgd_nesterov": lambda groups: torch.optim.SGD(groups, lr=1.0, momentum=0.9, nesterov=True),
}
DECAY = {"adamw": 0.1, "sgd": 0.01, "sgd_nesterov": 0.05}


def main():
    rng = np.random.default_rng(12)
    w0 = rng.normal(0, 1, sum(SIZES)).astype(np.float32)
    grads = rng.normal(0, 0.5, (STEPS, sum(SIZES))).astype(np.float32)
    w0.tofile(os.path.join(OUT, "torch_optim_w0.f32"))
    grads.tofile(os.path.join(OUT, "torch_optim_grads.f32"))
    np.array(LRS, dtype=np.float32).tofile(os.path.join(OUT, "torch_optim_lrs.f32"))
    bounds = np.cumsum([0] + SIZES)
    for name, make in CASES.items():
        tensors = [torch.nn.Parameter(torch.from_numpy(w0[bounds[i]:bounds[i + 1]].copy())) for i in range(3)]
        decayed = [t for t, excluded in zip(tensors, EXCLUDED) if not excluded]
        excluded = [t for t, e in zip(tensors, EXCLUDED) if e]
        optimizer = make([{"params": decayed, "weight_decay": DECAY[name]},
                          {"params": excluded, "weight_decay": 0.0}])
        trajectory = []
        for step in range(STEPS):
            for group in optimizer.param_groups:
                group["lr"] = float(np.float32(LRS[step]))
            for i, t in enumerate(tensors):
                t.grad = torch.from_numpy(grads[step, bounds[i]:bounds[i + 1]].copy())
            optimizer.step()
            trajectory.append(np.concatenate([t.detach().numpy() for t in tensors]))
        np.array(trajectory, dtype=np.float32).tofile(os.path.join(OUT, f"torch_optim_{name}.f32"))
    print("wrote", ", ".join(CASES))


if __name__ == "__main__":
    main()
