#!/usr/bin/env python3
"""PyTorch reference for simclr's BatchNorm (src/nn/batchnorm.c): writes the fixtures
tests/test_batchnorm.c checks.

Run with Debian's python3-torch: /usr/bin/python3 tools/make_batchnorm_fixtures.py
It writes tests/fixtures/batchnorm_*.f32 (raw little-endian float32, no header) and
tests/fixtures/batchnorm_manifest.txt (name and shape of each file).

For each case, torch.nn.BatchNorm2d / BatchNorm1d (momentum 0.1, eps 1e-5, affine) in training
mode, optionally followed by ReLU, on float32 inputs computed in float64:
  out = act(bn(x)); the objective sum(out * r) gives d_input, d_gamma and d_beta for d_out = r;
  the running mean and variance after that one training step (starting from non-trivial
  values, so the momentum update is visible); and the inference-mode output with them.
Tensors are stored NHWC (channels last), the layout of simclr's activations.
"""
import os

import numpy as np
import torch

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")
# name: (batch, height, width, channels, relu); height = width = 0 means BatchNorm1d on (N, C).
CASES = {
    "bn2d_relu": (3, 5, 4, 6, True),
    "bn2d": (2, 3, 3, 32, False),
    "bn1d": (5, 0, 0, 7, False),
    "bn1d_relu": (4, 0, 0, 9, True),
}

manifest = []


def save(name, tensor):
    array = np.ascontiguousarray(tensor.detach().cpu().numpy(), dtype="<f4")
    array.tofile(os.path.join(FIXTURES, f"batchnorm_{name}.f32"))
    manifest.append(f"batchnorm_{name}.f32 {' '.join(str(d) for d in array.shape)}")


def uniform(generator, shape, low, high):
    return (torch.rand(shape, generator=generator, dtype=torch.float32) * (high - low) + low).double()


def run_case(name, batch, height, width, channels, relu, seed):
    generator = torch.Generator().manual_seed(seed)
    shape = (batch, height, width, channels) if height else (batch, channels)
    # An offset mean and a spread that differs per channel, as real activations have.
    x = uniform(generator, shape, -1.0, 1.0) * uniform(generator, (channels,), 0.5, 3.0) + 0.7
    gamma = uniform(generator, (channels,), 0.5, 1.5)
    beta = uniform(generator, (channels,), -0.3, 0.3)
    running_mean = uniform(generator, (channels,), -0.2, 0.2)
    running_var = uniform(generator, (channels,), 0.5, 2.0)
    r = uniform(generator, shape, -1.0, 1.0)
    for tensor, label in ((x, "input"), (gamma, "gamma"), (beta, "beta"),
                          (running_mean, "running_mean0"), (running_var, "running_var0"),
                          (r, "d_output")):
        save(f"{name}_{label}", tensor)

    layer = (torch.nn.BatchNorm2d if height else torch.nn.BatchNorm1d)(channels).double()
    with torch.no_grad():
        layer.weight.copy_(gamma)
        layer.bias.copy_(beta)
        layer.running_mean.copy_(running_mean)
        layer.running_var.copy_(running_var)
    layer.train()
    x_input = x.clone().requires_grad_()
    channels_first = x_input.permute(0, 3, 1, 2) if height else x_input
    out = layer(channels_first)
    if relu:
        out = torch.relu(out)
    out_nhwc = out.permute(0, 2, 3, 1) if height else out
    (out_nhwc * r).sum().backward()
    save(f"{name}_output", out_nhwc)
    save(f"{name}_d_input", x_input.grad)
    save(f"{name}_d_gamma", layer.weight.grad)
    save(f"{name}_d_beta", layer.bias.grad)
    save(f"{name}_running_mean", layer.running_mean)
    save(f"{name}_running_var", layer.running_var)
    layer.eval()
    with torch.no_grad():
        out = layer(x.permute(0, 3, 1, 2) if height else x)
        if relu:
            out = torch.relu(out)
        save(f"{name}_inference_output", out.permute(0, 2, 3, 1) if height else out)


def main():
    for seed, (name, case) in enumerate(CASES.items(), start=11):
        manifest.append(f"# {name}: batch, height, width, channels, relu = {case}")
        run_case(name, *case, seed)
    with open(os.path.join(FIXTURES, "batchnorm_manifest.txt"), "w") as manifest_file:
        manifest_file.write("# written by tools/make_batchnorm_fixtures.py: name, shape "
                            "(float32, little-endian, row-major, NHWC)\n")
        manifest_file.write("\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
