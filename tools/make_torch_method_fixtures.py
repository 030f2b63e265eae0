#!/usr/bin/python3
"""Reference values of the issue-13 methods for tests/test_ssl_methods.c, written from the papers'
pseudo-code in PyTorch.

1. The four losses on fixed inputs (B=6 rows, D=5, a queue of 7 unit keys), value and gradient:
     method_loss_inputs.f32   z1 (6x5), z2 (6x5), queue (7x5)
     method_loss_infonce.f32  MoCo InfoNCE of queries z1, keys z2, T 0.2: loss, d z1
     method_loss_cosine.f32   mean -cos(z1, z2): loss, d z1
     method_loss_barlow.f32   Barlow Twins, lambda 0.05: loss, d z1, d z2
     method_loss_vicreg.f32   VICReg 25/25/1: loss, inv, var, cov, d z1, d z2
2. Three training steps of a tiny model per method (encoder Dense(4->6)+ReLU, head Dense(6->6)+ReLU
   -> Dense(6->3), predictor Dense(3->5, no bias) + BatchNorm1d + ReLU -> Dense(5->3), plain SGD at
   0.1, VICReg at 0.002: its weights 25/25/1 diverge at 0.1), the 2B views of each step fixed (B = 4: view 1 rows then view 2 rows, as simclr's loop):
     method_steps_init.f32    encoder (24+6... see FLAT below), head, predictor, queue (10x3) flat
     method_steps_views.f32   3 x 8 x 4
     method_steps_<method>.f32  3 losses, then online encoder+head after 3 steps, then (moco)
                                key encoder+head and the queue, (byol) target encoder+head and the
                                predictor, (simsiam) the predictor
   MoCo: symmetric (L(q1,k2) + L(q2,k1)) / 2 against the queue before the step, then the keys of
   view 1 then view 2 enqueued at the ring position, then key = m key + (1 - m) online (m 0.9).
   BYOL: mean((2 - 2cos(p1, z2')) + (2 - 2cos(p2, z1'))), tau = 1 - (1 - 0.9)(cos(pi k/3) + 1)/2
   after step k. The predictor's BatchNorm sees both views as one batch of 8, as simclr runs it.
Every tensor is flattened in simclr's order (dense kernels (in, out), Keras's layout; per layer
kernel then bias; batchnorm gamma then beta). Little-endian float32.
Run with Debian's /usr/bin/python3 (python3-torch): /usr/bin/python3 tools/make_torch_method_fixtures.py
"""
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")
torch.set_default_dtype(torch.float64)  # references in double, stored as float32


def save(name, arrays):
    flat = np.concatenate([np.asarray(a, dtype=np.float64).reshape(-1) for a in arrays]).astype(np.float32)
    flat.tofile(os.path.join(OUT, name))


# ---- the losses, from the papers' pseudo-code --------------------------------------------------
def infonce(q, k, queue, t):
    q, k = F.normalize(q, dim=1), F.normalize(k, dim=1)
    logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue.T], dim=1) / t
    return F.cross_entropy(logits, torch.zeros(q.shape[0], dtype=torch.long))


def negative_cosine(p, z):
    return -F.cosine_similarity(p, z.detach(), dim=-1, eps=1e-12).mean()


def barlow(z1, z2, lambd):
    n = z1.shape[0]
    bn = lambda z: (z - z.mean(0)) / torch.sqrt(z.var(0, unbiased=False) + 1e-5)
    c = bn(z1).T @ bn(z2) / n
    on_diag = (torch.diagonal(c) - 1).pow(2).sum()
    off_diag = (c - torch.diag(torch.diagonal(c))).pow(2).sum()
    return on_diag + lambd * off_diag


def vicreg(x, y, w):
    n, d = x.shape
    repr_loss = F.mse_loss(x, y)
    x = x - x.mean(0)
    y = y - y.mean(0)
    std_x = torch.sqrt(x.var(0) + 1e-4)
    std_y = torch.sqrt(y.var(0) + 1e-4)
    std_loss = torch.mean(F.relu(1 - std_x)) / 2 + torch.mean(F.relu(1 - std_y)) / 2
    cov_x = x.T @ x / (n - 1)
    cov_y = y.T @ y / (n - 1)
    off = lambda m: m - torch.diag(torch.diagonal(m))
    cov_loss = off(cov_x).pow(2).sum() / d + off(cov_y).pow(2).sum() / d
    return w[0] * repr_loss + w[1] * std_loss + w[2] * cov_loss, (repr_loss, std_loss, cov_loss)


def losses(rng):
    z1 = rng.normal(0, 1, (6, 5)) * np.array([0.3, 2.0, 0.6, 1.5, 0.2])
    z2 = z1 + rng.normal(0, 0.5, (6, 5))
    queue = rng.normal(0, 1, (7, 5))
    queue /= np.linalg.norm(queue, axis=1, keepdims=True)
    save("method_loss_inputs.f32", [z1, z2, queue])
    a = torch.tensor(z1, requires_grad=True)
    b = torch.tensor(z2, requires_grad=True)
    loss = infonce(a, b.detach(), torch.tensor(queue), 0.2)
    loss.backward()
    save("method_loss_infonce.f32", [[loss.item()], a.grad])
    a.grad = None
    loss = negative_cosine(a, b)
    loss.backward()
    save("method_loss_cosine.f32", [[loss.item()], a.grad])
    a.grad = None
    loss = barlow(a, b, 0.05)
    loss.backward()
    save("method_loss_barlow.f32", [[loss.item()], a.grad, b.grad])
    a.grad = b.grad = None
    loss, parts = vicreg(a, b, (25.0, 25.0, 1.0))
    loss.backward()
    save("method_loss_vicreg.f32", [[loss.item()], [p.item() for p in parts], a.grad, b.grad])


# ---- three steps of a tiny model ---------------------------------------------------------------
def dense(fan_in, fan_out, rng, bias=True):
    layer = torch.nn.Linear(fan_in, fan_out, bias=bias)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(rng.normal(0, 0.6, (fan_out, fan_in))))
        if bias:
            layer.bias.copy_(torch.tensor(rng.normal(0, 0.1, fan_out)))
    return layer


def flat(modules):
    """simclr's order: per layer kernel (in, out) then bias; batchnorm gamma then beta."""
    out = []
    for m in modules:
        if isinstance(m, torch.nn.Linear):
            out.append(m.weight.detach().T.reshape(-1).numpy())
            if m.bias is not None:
                out.append(m.bias.detach().numpy())
        elif isinstance(m, torch.nn.BatchNorm1d):
            out.append(m.weight.detach().numpy())
            out.append(m.bias.detach().numpy())
    return np.concatenate(out)


def build(rng):
    encoder = torch.nn.Sequential(dense(4, 6, rng), torch.nn.ReLU())
    head = torch.nn.Sequential(dense(6, 6, rng), torch.nn.ReLU(), dense(6, 3, rng))
    bn = torch.nn.BatchNorm1d(5)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(rng.uniform(0.5, 1.5, 5)))
        bn.bias.copy_(torch.tensor(rng.normal(0, 0.1, 5)))
    predictor = torch.nn.Sequential(dense(3, 5, rng, bias=False), bn, torch.nn.ReLU(), dense(5, 3, rng))
    return encoder, head, predictor


def ema(target, online, m):
    with torch.no_grad():
        for t, o in zip(target.parameters(), online.parameters()):
            t.mul_(m).add_((1 - m) * o)


def steps(rng):
    b, lr = 4, 0.1
    encoder, head, predictor = build(rng)
    queue0 = rng.normal(0, 1, (10, 3))
    queue0 /= np.linalg.norm(queue0, axis=1, keepdims=True)
    views = rng.normal(0, 1, (3, 2 * b, 4))
    save("method_steps_init.f32", [flat(encoder), flat(head), flat(predictor), queue0])
    save("method_steps_views.f32", [views])
    initial = [{k: v.clone() for k, v in m.state_dict().items()} for m in (encoder, head, predictor)]
    for method in ("moco", "byol", "simsiam", "barlow", "vicreg"):
        for m, state in zip((encoder, head, predictor), initial):
            m.load_state_dict(state)
        import copy
        target_encoder, target_head = copy.deepcopy(encoder), copy.deepcopy(head)
        queue = torch.tensor(queue0)
        position = 0
        trained = list(encoder.parameters()) + list(head.parameters())
        if method in ("byol", "simsiam"):
            trained += list(predictor.parameters())
        optimizer = torch.optim.SGD(trained, lr=0.002 if method == "vicreg" else lr, momentum=0.0)
        recorded = []
        for step in range(3):
            x = torch.tensor(views[step])
            z = head(encoder(x))
            if method == "moco":
                with torch.no_grad():
                    k = F.normalize(target_head(target_encoder(x)), dim=1)
                loss = 0.5 * (infonce(z[:b], k[b:], queue, 0.2) + infonce(z[b:], k[:b], queue, 0.2))
            elif method == "byol":
                p = predictor(z)
                with torch.no_grad():
                    t = target_head(target_encoder(x))
                cos = lambda u, v: F.cosine_similarity(u, v, dim=-1, eps=1e-12)
                loss = ((2 - 2 * cos(p[:b], t[b:])) + (2 - 2 * cos(p[b:], t[:b]))).mean()
            elif method == "simsiam":
                p = predictor(z)
                loss = 0.5 * negative_cosine(p[:b], z[b:]) + 0.5 * negative_cosine(p[b:], z[:b])
            elif method == "barlow":
                loss = barlow(z[:b], z[b:], 0.05)
            else:
                loss = vicreg(z[:b], z[b:], (25.0, 25.0, 1.0))[0]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            recorded.append(loss.item())
            if method == "moco":
                with torch.no_grad():
                    for row in k:
                        queue[position] = row
                        position = (position + 1) % queue.shape[0]
                ema(target_encoder, encoder, 0.9)
                ema(target_head, head, 0.9)
            elif method == "byol":
                tau = 1 - (1 - 0.9) * (math.cos(math.pi * step / 3) + 1) / 2
                ema(target_encoder, encoder, tau)
                ema(target_head, head, tau)
        arrays = [recorded, flat(encoder), flat(head)]
        if method == "moco":
            arrays += [flat(target_encoder), flat(target_head), queue.numpy()]
        elif method == "byol":
            arrays += [flat(target_encoder), flat(target_head), flat(predictor)]
        elif method == "simsiam":
            arrays += [flat(predictor)]
        save(f"method_steps_{method}.f32", arrays)


def main():
    rng = np.random.default_rng(13)
    losses(rng)
    steps(rng)
    print("wrote method_loss_*.f32 and method_steps_*.f32 to", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
