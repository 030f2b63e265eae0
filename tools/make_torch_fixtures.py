#!/usr/bin/env python3
"""PyTorch twin of simclr's layers: writes the fixtures tests/test_parity_torch.c checks.

Run with Debian's python3-torch (1.13): /usr/bin/python3 tools/make_torch_fixtures.py
It writes tests/fixtures/torch_*.f32 (raw little-endian float32, no header) and
tests/fixtures/torch_manifest.txt (name and shape of each file).

What it computes, for two configurations of the seed's model (a narrow width keeps the fixtures
small; the C code is the same whatever the width):
  a: 28x28x1 images, padding 1 (zero padding on both sides), batch 6 per view
  b: 48x40x3 images, padding 0 (Keras "valid"; rows != cols, and the last stride-2 window leaves
     the last row/column unused), batch 4 per view
  encoder: 4 x [conv 3x3 stride 2 + ReLU] -> flatten in NHWC order -> Dense(width, ReLU)
  projection head: Dense(width, ReLU) -> Dense(width)
  the seed's contrastive loss (temperature 0.1) between the two views, gradient of the SUM of
  the per-image losses w.r.t. every weight and the encoder input (both views, one batch of 2B)
  linear probe: Dense(10) on the first view's features (detached) + softmax CE (mean)
  NT-Xent (temperature 0.1) on the same projections, with its gradient w.r.t. the projections
  a few Keras Adam steps.

Tensors keep Keras's layouts: images NHWC, conv kernels HWIO, dense kernels (in, out); they are
permuted to PyTorch's NCHW / OIHW inside the forward pass, so autograd returns gradients in the
Keras layouts. Inputs and weights are drawn as float32, then everything is computed in float64
so the fixtures are the exact answer for those float32 inputs.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")
WIDTH = 16
TEMPERATURE = 0.1
CLASSES = 10
CONFIGS = {
    "a": dict(height=28, width=28, channels=1, padding=1, batch=6, seed=1),
    "b": dict(height=48, width=40, channels=3, padding=0, batch=4, seed=2),
}

manifest = []


def save(name, tensor):
    array = tensor.detach().cpu().numpy() if torch.is_tensor(tensor) else np.asarray(tensor)
    array = np.ascontiguousarray(array, dtype="<f4")
    path = os.path.join(FIXTURES, f"torch_{name}.f32")
    array.tofile(path)
    manifest.append(f"torch_{name}.f32 {' '.join(str(d) for d in array.shape) or 'scalar'}")


def glorot(generator, shape, fan_in, fan_out):
    limit = (6.0 / (fan_in + fan_out)) ** 0.5
    values = (torch.rand(shape, generator=generator, dtype=torch.float32) * 2 - 1) * limit
    return values.double().requires_grad_()


def small_bias(generator, count):
    """Nonzero biases (Keras starts at zero) so that the bias path is exercised."""
    values = (torch.rand(count, generator=generator, dtype=torch.float32) * 2 - 1) * 0.1
    return values.double().requires_grad_()


def conv_out(size, padding):
    return (size + 2 * padding - 3) // 2 + 1


def normalize(z):
    """x * rsqrt(max(sum x^2, 1e-14)), as tf.math.l2_normalize."""
    return z * torch.rsqrt(torch.clamp_min((z * z).sum(dim=1, keepdim=True), 1e-14))


def seed_contrastive(z1, z2):
    """The Keras example's loss: per-image (CE(S, i) + CE(S^T, i)) / 2, and its accuracy."""
    p1, p2 = normalize(z1), normalize(z2)
    similarity = p1 @ p2.T / TEMPERATURE
    labels = torch.arange(z1.shape[0])
    per_image = (F.cross_entropy(similarity, labels, reduction="none") +
                 F.cross_entropy(similarity.T, labels, reduction="none")) / 2
    correct = ((similarity.argmax(dim=1) == labels).sum() +
               (similarity.T.argmax(dim=1) == labels).sum())
    return per_image, int(correct)


def nt_xent(z1, z2):
    """SimCLR's NT-Xent: 2B anchors over the 2B-1 other views; per image = mean of its anchors."""
    batch = z1.shape[0]
    p = torch.cat([normalize(z1), normalize(z2)])
    similarity = p @ p.T / TEMPERATURE
    self_mask = torch.eye(2 * batch, dtype=torch.bool)
    similarity = similarity.masked_fill(self_mask, float("-inf"))
    positives = (torch.arange(2 * batch) + batch) % (2 * batch)
    per_anchor = F.cross_entropy(similarity, positives, reduction="none")
    correct = int((similarity.argmax(dim=1) == positives).sum())
    return (per_anchor[:batch] + per_anchor[batch:]) / 2, correct


def make_config(key, height, width, channels, padding, batch, seed):
    generator = torch.Generator().manual_seed(seed)
    views = 2 * batch
    images = torch.rand((views, height, width, channels), generator=generator,
                        dtype=torch.float32).double().requires_grad_()
    convs = []
    in_channels, h, w = channels, height, width
    for _ in range(4):
        kernel = glorot(generator, (3, 3, in_channels, WIDTH), 9 * in_channels, 9 * WIDTH)
        convs.append((kernel, small_bias(generator, WIDTH)))
        in_channels, h, w = WIDTH, conv_out(h, padding), conv_out(w, padding)
    flat = h * w * WIDTH
    dense_shapes = [("encoder_dense", flat, WIDTH), ("head1", WIDTH, WIDTH),
                    ("head2", WIDTH, WIDTH), ("probe", WIDTH, CLASSES)]
    dense = {name: (glorot(generator, (fan_in, fan_out), fan_in, fan_out),
                    small_bias(generator, fan_out)) for name, fan_in, fan_out in dense_shapes}
    labels = torch.randint(0, CLASSES, (batch,), generator=generator)

    # Encoder and head on both views at once (one batch of 2B images, view 1 first).
    outputs = []
    x = images.permute(0, 3, 1, 2)  # NHWC -> NCHW
    for kernel, bias in convs:
        x = F.relu(F.conv2d(x, kernel.permute(3, 2, 0, 1), bias, stride=2, padding=padding))
        outputs.append(x.permute(0, 2, 3, 1))  # back to NHWC for the fixture
    flattened = x.permute(0, 2, 3, 1).reshape(views, flat)  # Keras flattens (h, w, c)
    kernel, bias = dense["encoder_dense"]
    features = F.relu(flattened @ kernel + bias)
    kernel, bias = dense["head1"]
    hidden = F.relu(features @ kernel + bias)
    kernel, bias = dense["head2"]
    projections = hidden @ kernel + bias

    per_image, correct = seed_contrastive(projections[:batch], projections[batch:])
    per_image.sum().backward()  # the seed differentiates the per-image loss vector

    # Linear probe on detached features of view 1.
    probe_kernel, probe_bias = dense["probe"]
    logits = features[:batch].detach() @ probe_kernel + probe_bias
    probe_loss = F.cross_entropy(logits, labels)
    probe_loss.backward()
    probe_correct = int((logits.argmax(dim=1) == labels).sum())

    # NT-Xent on the same projections, differentiated w.r.t. them.
    z1 = projections[:batch].detach().clone().requires_grad_()
    z2 = projections[batch:].detach().clone().requires_grad_()
    nt_per_image, nt_correct = nt_xent(z1, z2)
    nt_per_image.sum().backward()

    prefix = key + "_"
    save(prefix + "input", images)
    save(prefix + "d_input", images.grad)
    save(prefix + "labels", labels.float())
    for index, ((kernel, bias), output) in enumerate(zip(convs, outputs), start=1):
        save(f"{prefix}conv{index}_kernel", kernel)
        save(f"{prefix}conv{index}_bias", bias)
        save(f"{prefix}conv{index}_out", output)
        save(f"{prefix}d_conv{index}_kernel", kernel.grad)
        save(f"{prefix}d_conv{index}_bias", bias.grad)
    for name, (kernel, bias) in dense.items():
        save(f"{prefix}{name}_kernel", kernel)
        save(f"{prefix}{name}_bias", bias)
        save(f"{prefix}d_{name}_kernel", kernel.grad)
        save(f"{prefix}d_{name}_bias", bias.grad)
    save(prefix + "features", features)
    save(prefix + "head_hidden", hidden)
    save(prefix + "projections", projections)
    save(prefix + "logits", logits)
    save(prefix + "nt_d_z1", z1.grad)
    save(prefix + "nt_d_z2", z2.grad)
    # c_loss (mean), c correct, rows counted, probe loss, probe correct, NT-Xent loss (mean),
    # NT-Xent correct.
    save(prefix + "metrics", [float(per_image.mean()), correct, 2 * batch, float(probe_loss),
                              probe_correct, float(nt_per_image.mean()), nt_correct])
    manifest.append(f"# {key}: {height}x{width}x{channels} padding {padding}, batch {batch} per "
                    f"view, width {WIDTH}, flatten {h}x{w}x{WIDTH}")


def make_adam():
    """Keras Adam (keras/src/optimizers/adam.py) written out in float32 numpy:
        alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
        m += (g - m) * (1 - beta1); v += (g^2 - v) * (1 - beta2)
        w -= (m * alpha) / (sqrt(v) + epsilon)
    torch.optim.Adam is NOT the same: it adds epsilon to the bias-corrected sqrt(v_hat)
    (w -= lr * m_hat / (sqrt(v_hat) + eps)), i.e. Keras's epsilon scaled by sqrt(1 - beta2^t), which
    matters while v is tiny. As in Keras, beta^t is float32 math on float32 betas, while
    (1 - beta) is computed on the Python doubles and then rounded to float32 (0.001f, whereas
    1 - 0.999f in float32 is 0.00099998713)."""
    f32 = np.float32
    lr, beta1, beta2, epsilon = f32(1e-3), f32(0.9), f32(0.999), f32(1e-7)
    first_rate, second_rate = f32(1 - 0.9), f32(1 - 0.999)  # Python doubles, then float32
    rng = np.random.default_rng(3)
    count, steps = 64, 3
    weights = rng.uniform(-1, 1, count).astype(f32)
    grads = rng.uniform(-1, 1, (steps, count)).astype(f32)
    grads[:, :4] *= f32(1e-4)  # tiny gradients, where epsilon's placement shows
    m = np.zeros(count, f32)
    v = np.zeros(count, f32)
    save("adam_weights0", weights)
    save("adam_grads", grads)
    history = []
    w = weights.copy()
    for step in range(steps):
        t = f32(step + 1)
        alpha = lr * np.sqrt(f32(1) - np.power(beta2, t)) / (f32(1) - np.power(beta1, t))
        g = grads[step]
        m = m + (g - m) * first_rate
        v = v + (g * g - v) * second_rate
        w = w - (m * alpha) / (np.sqrt(v) + epsilon)
        assert w.dtype == f32
        history.append(w.copy())
    save("adam_weights", np.stack(history))


def main():
    os.makedirs(FIXTURES, exist_ok=True)
    torch.set_default_dtype(torch.float64)
    for key, config in CONFIGS.items():
        make_config(key, **config)
    make_adam()
    with open(os.path.join(FIXTURES, "torch_manifest.txt"), "w") as manifest_file:
        manifest_file.write("# written by tools/make_torch_fixtures.py: name, shape "
                            "(raw little-endian float32)\n")
        manifest_file.write("\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
