#!/usr/bin/env python3
"""torchvision ResNet reference for simclr's ResNet encoders (src/model/resnet.c): writes the
fixtures tests/test_resnet_parity.c checks.

Run with Debian's python3-torch and python3-torchvision:
    /usr/bin/python3 tools/make_resnet_fixtures.py
It writes, per case, tests/fixtures/resnet_<case>_*.f32 (raw little-endian float32) and
tests/fixtures/resnet_<case>_manifest.txt.

The real torchvision.models.resnet18 / resnet50 (fc removed: the encoder ends at the pooled
features; the CIFAR stem replaces conv1 by a 3x3/1 conv and drops the max pool), in float64,
one training-mode forward of a tiny batch, the objective sum(features * r) and its backward:
  features.f32    the training-mode features (batch, 512 or 2048)
  inference.f32   the inference-mode features after that step (running statistics updated)
  summary.f32     per manifest line: for a parameter gradient, [L2 norm, projection onto the
                  +-1 vector of the hash, 8 entries at positions (k * 7919 + 13) % count] in
                  float64, then the same 10 numbers from torch's own float32 run (their distance
                  is the yardstick for ours); for a running statistic, all of its values after
                  the step
Weights, inputs and r are not stored: both sides compute them from an integer hash of
(tensor name, index) (hash_uniform below; test_resnet_parity.c has the same function), so an 11M
parameter model needs a few kilobytes of fixtures. Kernels are generated in simclr's HWIO order
and permuted to torchvision's OIHW.
"""
import os

import numpy as np
import torch
import torchvision

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")
CASES = {
    # name: (constructor, stem, batch, height, width)
    "resnet18_cifar": (torchvision.models.resnet18, "cifar", 2, 32, 32),
    "resnet18_imagenet": (torchvision.models.resnet18, "imagenet", 2, 64, 64),
    "resnet50_cifar": (torchvision.models.resnet50, "cifar", 2, 32, 32),
}
SAMPLES = 8


def name_key(name):
    """FNV-1a (32 bits) of the name."""
    value = 2166136261
    for byte in name.encode():
        value = ((value ^ byte) * 16777619) & 0xFFFFFFFF
    return value


def hash_uniform(name, count):
    """count float32 values in [-1, 1): lowbias32 of (index * 0x9E3779B1 + key), top 24 bits."""
    x = (np.arange(count, dtype=np.uint64) * 0x9E3779B1 + name_key(name)) & 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x846CA68B) & 0xFFFFFFFF
    x ^= x >> 16
    unit = (x >> 8).astype(np.float32) * np.float32(2.0 ** -24)
    return unit * np.float32(2.0) - np.float32(1.0)


def sign_vector(name, count):
    return np.where(hash_uniform(name + "#sign", count) >= 0, 1.0, -1.0)


def make_model(constructor, stem):
    model = constructor()
    if stem == "cifar":
        model.conv1 = torch.nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        model.maxpool = torch.nn.Identity()
    model.fc = torch.nn.Identity()
    return model.double()


def fill_parameters(model):
    """Kernels: U(-1, 1) * sqrt(6 / fan_in) (He-uniform scale, so activations stay O(1));
    batchnorm gamma 1 + 0.2 u (a bottleneck's bn3: 0.25 + 0.05 u), beta 0.1 u; running
    statistics stay at 0 and 1."""
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if parameter.dim() == 4:
                out_c, in_c, kh, kw = parameter.shape
                count = parameter.numel()
                scale = np.float32(np.sqrt(6.0 / (in_c * kh * kw)))
                hwio = (hash_uniform(name, count) * scale).reshape(kh, kw, in_c, out_c)
                parameter.copy_(torch.from_numpy(hwio.astype(np.float64)).permute(3, 2, 0, 1))
            elif name.endswith("bn3.weight"):
                # A bottleneck's last gamma at a quarter: with 16 residual blocks of gamma ~1 the
                # float32 gradients of ResNet-50 are ill-conditioned (torch's own float32 run is
                # off its float64 one by 1e-2 of the norm in conv1; 1e-3 with this).
                parameter.copy_(torch.from_numpy((np.float32(0.25) + np.float32(0.05) *
                                                  hash_uniform(name, parameter.numel())).astype(np.float64)))
            elif name.endswith("weight"):
                parameter.copy_(torch.from_numpy((np.float32(1) + np.float32(0.2) *
                                                  hash_uniform(name, parameter.numel())).astype(np.float64)))
            else:
                parameter.copy_(torch.from_numpy((np.float32(0.1) *
                                                  hash_uniform(name, parameter.numel())).astype(np.float64)))


def hwio_gradient(parameter):
    grad = parameter.grad
    return (grad.permute(2, 3, 1, 0) if grad.dim() == 4 else grad).contiguous().numpy().ravel()


def gradient_summaries(constructor, stem, x_nhwc, dtype):
    """One training step of the case in dtype: the features, the model, and per parameter its
    gradient summary [norm, projection, SAMPLES entries]."""
    model = make_model(constructor, stem)
    fill_parameters(model)
    model = model.to(dtype)
    x = torch.from_numpy(x_nhwc.astype(np.float64)).permute(0, 3, 1, 2).to(dtype)
    model.train()
    features = model(x)
    r = torch.from_numpy(hash_uniform("d_features", features.numel()).astype(np.float64))
    (features * r.reshape(features.shape).to(dtype)).sum().backward()
    summaries = {}
    for name, parameter in model.named_parameters():
        grad = hwio_gradient(parameter).astype(np.float64)
        count = grad.size
        positions = [(k * 7919 + 13) % count for k in range(SAMPLES)]
        summaries[name] = [np.linalg.norm(grad), float(grad @ sign_vector(name, count))] + \
            [grad[p] for p in positions]
    return features, model, x, summaries


def run_case(case, constructor, stem, batch, height, width):
    images = hash_uniform("input", batch * height * width * 3).reshape(batch, height, width, 3)
    features, model, x, exact = gradient_summaries(constructor, stem, images, torch.float64)
    # torch's own float32 run: its distance from float64 is the yardstick of "fp32 rounding".
    _, _, _, rounded = gradient_summaries(constructor, stem, images, torch.float32)
    manifest, summary = [], []
    for name, parameter in model.named_parameters():
        summary += exact[name] + rounded[name]
        manifest.append(f"grad {name} {parameter.numel()}")
    for name, buffer in model.named_buffers():
        if name.endswith("num_batches_tracked"):
            continue
        summary += list(buffer.numpy())
        manifest.append(f"running {name} {buffer.numel()}")
    model.eval()
    with torch.no_grad():
        inference = model(x)
    prefix = os.path.join(FIXTURES, f"resnet_{case}_")
    np.asarray(features.detach().numpy(), dtype="<f4").tofile(prefix + "features.f32")
    np.asarray(inference.numpy(), dtype="<f4").tofile(prefix + "inference.f32")
    np.asarray(summary, dtype="<f4").tofile(prefix + "summary.f32")
    with open(prefix + "manifest.txt", "w") as out:
        out.write(f"# written by tools/make_resnet_fixtures.py: {constructor.__name__}, {stem} stem, "
                  f"batch {batch}, {height}x{width}x3, features {features.shape[1]}\n")
        out.write(f"shape {batch} {height} {width} {features.shape[1]}\n")
        out.write("\n".join(manifest) + "\n")


def main():
    for case, arguments in CASES.items():
        run_case(case, *arguments)


if __name__ == "__main__":
    main()
