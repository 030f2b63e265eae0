#!/usr/bin/env python3
"""PyTorch twin of simclr's benchmark (bench/bench_simclr.c): the same model, the same step, the
same batch sizes, on random inputs; prints one JSON line with the same fields.

    python3 bench/torch_twin.py --shape 96x96x3 --mode pretrain --steps 3 --warmup 1 \
        --threads 2 --layout channels_last

Model (the seed's): encoder 4 x [Conv2d(128, 3x3, stride 2, padding 0 at 96x96 / 1 at 28x28) +
ReLU] -> Flatten -> Linear(128) + ReLU; projection head Linear(128) + ReLU -> Linear(128); probe /
classifier Linear(10). PyTorch's default initialisation (the values do not matter for timing;
Flatten takes PyTorch's (c, h, w) order, a permutation of Keras's).

Steps (augmentation excluded, as on the C side):
  pretrain   encoder + head forward/backward on 2B = 1050 views (one batch), the seed's
             contrastive loss (B x B similarities / 0.1, symmetric cross-entropy, gradient of the
             SUM of per-image losses), Adam on encoder + head; then the probe on the 25 labeled
             images: encoder forward without gradient, Linear(10), cross-entropy, Adam.
  baseline   25 images through encoder + Linear(10), cross-entropy, backward, Adam.
  inference  525 images through encoder + Linear(10) and the cross-entropy, no gradient, in eval mode.
Adam: Keras's hyperparameters (lr 1e-3, betas 0.9/0.999, eps 1e-7); the fused CPU kernel where
this PyTorch has one, else the foreach one. The JSON line names the malloc in use: bench/run.sh
preloads tcmalloc when it is installed, since with glibc's malloc every step's large activations
are fresh mmaps whose page faults make PyTorch 1.2-2.1x slower here (docs/PERFORMANCE.md).

FLOPs: computed from the layer shapes below, 2 x multiply-adds; a training pass is 3 x forward;
the contrastive loss adds 6 B^2 D (same convention as bench_simclr.c).
"""
import argparse
import json
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

TEMPERATURE = 0.1
WIDTH = 128
DEPTH = 4
CLASSES = 10


def allocator():
    """The malloc this process runs on: tcmalloc or jemalloc when preloaded, else glibc's."""
    with open("/proc/self/maps") as maps:
        text = maps.read()
    for name in ("tcmalloc", "jemalloc"):
        if name in text:
            return name
    return "glibc"


def conv_out(size, padding):
    return (size + 2 * padding - 3) // 2 + 1


def build(shape, padding):
    height, width, channels = shape
    layers, flops = [], 0.0
    for i in range(DEPTH):
        layers += [nn.Conv2d(channels if i == 0 else WIDTH, WIDTH, 3, stride=2, padding=padding),
                   nn.ReLU()]
        in_channels = channels if i == 0 else WIDTH
        height, width = conv_out(height, padding), conv_out(width, padding)
        flops += 2.0 * height * width * WIDTH * 9 * in_channels
    flat = height * width * WIDTH
    layers += [nn.Flatten(), nn.Linear(flat, WIDTH), nn.ReLU()]
    flops += 2.0 * flat * WIDTH
    encoder = nn.Sequential(*layers)
    head = nn.Sequential(nn.Linear(WIDTH, WIDTH), nn.ReLU(), nn.Linear(WIDTH, WIDTH))
    classifier = nn.Linear(WIDTH, CLASSES)
    return encoder, head, classifier, flops, 2.0 * 2 * WIDTH * WIDTH, 2.0 * WIDTH * CLASSES


def build_resnet(name, stem, shape):
    """torchvision's ResNet as simclr's --backbone builds it: the CIFAR stem (3x3/1 conv, no max
    pool) or the ImageNet one, global average pooling to 512 / 2048 features; projection head
    Linear(F, F) + ReLU -> Linear(F, 128) (simclr's default --head-hidden 0 = F, --head-out 128);
    probe / classifier Linear(F, 10). FLOPs counted by forward hooks on one image (convolutions
    and linear layers, 2 x multiply-adds, as bench_simclr.c counts them)."""
    import torchvision
    height, width, channels = shape
    encoder = getattr(torchvision.models, name)()
    if stem == "cifar":
        encoder.conv1 = nn.Conv2d(channels, 64, 3, 1, 1, bias=False)
        encoder.maxpool = nn.Identity()
    elif channels != 3:
        encoder.conv1 = nn.Conv2d(channels, 64, 7, 2, 3, bias=False)
    features = encoder.fc.in_features
    encoder.fc = nn.Identity()
    head = nn.Sequential(nn.Linear(features, features), nn.ReLU(), nn.Linear(features, WIDTH))
    classifier = nn.Linear(features, CLASSES)
    flops = [0.0]

    def count(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            flops[0] += 2.0 * output.numel() * kh * kw * module.in_channels / module.groups
        elif isinstance(module, nn.Linear):
            flops[0] += 2.0 * module.in_features * module.out_features * output.shape[0]

    hooks = [m.register_forward_hook(count) for m in encoder.modules()
             if isinstance(m, (nn.Conv2d, nn.Linear))]
    encoder.eval()
    with torch.no_grad():
        encoder(torch.zeros(1, channels, height, width))
    encoder.train()
    for h in hooks:
        h.remove()
    return (encoder, head, classifier, flops[0], 2.0 * (features * features + features * WIDTH),
            2.0 * features * CLASSES)


def make_adam(params):
    """Keras's Adam settings with the fastest CPU implementation this PyTorch offers."""
    params = list(params)
    kwargs = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    for variant in ("fused", "foreach"):
        try:
            return torch.optim.Adam(params, **kwargs, **{variant: True}), variant
        except (TypeError, RuntimeError, ValueError):
            continue
    return torch.optim.Adam(params, **kwargs), "single-tensor"


def seed_contrastive(z1, z2):
    """Sum over images of (CE(S_i, i) + CE(S^T_i, i)) / 2, S = normalise(z1) normalise(z2)^T / T."""
    p1, p2 = F.normalize(z1, dim=1, eps=1e-7), F.normalize(z2, dim=1, eps=1e-7)
    similarity = p1 @ p2.T / TEMPERATURE
    labels = torch.arange(z1.shape[0])
    return (F.cross_entropy(similarity, labels, reduction="sum") +
            F.cross_entropy(similarity.T, labels, reduction="sum")) / 2


def layer_breakdown(encoder, inputs, peak, reps=2):
    """Each conv layer of the encoder alone on the pretraining batch, forward (conv + ReLU) and
    backward (weights, bias and, after the first layer, the input), as bench_simclr --breakdown
    times ours. Prints '#' lines."""
    print(f"# each conv layer alone at batch {inputs.shape[0]} (mean of {reps} runs)")
    print(f"# {'phase':<46} {'seconds':>9} {'GFLOP':>9} {'GFLOP/s':>9} {'peak':>7}")
    x = inputs
    convs = [m for m in encoder if isinstance(m, nn.Conv2d)]
    for i, conv in enumerate(convs):
        source = x.detach().requires_grad_(i > 0)
        out = None
        seconds = [0.0, 0.0]
        for r in range(reps + 1):  # r == 0: untimed
            start = time.perf_counter()
            out = F.relu(conv(source))
            middle = time.perf_counter()
            wanted = [conv.weight, conv.bias] + ([source] if i > 0 else [])
            torch.autograd.grad(out, wanted, torch.ones_like(out))
            end = time.perf_counter()
            if r > 0:
                seconds[0] += (middle - start) / reps
                seconds[1] += (end - middle) / reps
        n, _, oh, ow = out.shape
        flops = 2.0 * n * oh * ow * conv.out_channels * 9 * conv.in_channels
        for name, sec, f in ((f"conv2d_{i + 1} fwd", seconds[0], flops),
                             (f"conv2d_{i + 1} bwd" + ("" if i > 0 else " (weights only)"),
                              seconds[1], flops * (2 if i > 0 else 1))):
            rate = f / sec / 1e9
            print(f"# {name:<46} {sec:9.4f} {f / 1e9:9.2f} {rate:9.1f} {100 * rate / peak:6.1f}%")
        x = out.detach()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shape", default="96x96x3")
    parser.add_argument("--mode", choices=["pretrain", "baseline", "inference"], default="pretrain")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--layout", choices=["channels_last", "contiguous"],
                        default="channels_last")
    parser.add_argument("--padding", type=int, default=-1,
                        help="-1: 0 when four valid convolutions fit, else 1 (the model's rule)")
    parser.add_argument("--unlabeled-batch", type=int, default=500)
    parser.add_argument("--labeled-batch", type=int, default=25)
    parser.add_argument("--test-batch", type=int, default=525)
    parser.add_argument("--peak-gflops", type=float, default=234.5)
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                        help="bf16: forward passes under torch.autocast('cpu', bfloat16), "
                             "PyTorch's mixed precision (fp32 weights and optimizer)")
    parser.add_argument("--backbone", choices=["seed", "resnet18", "resnet34", "resnet50"],
                        default="seed")
    parser.add_argument("--stem", choices=["auto", "imagenet", "cifar"], default="auto",
                        help="a ResNet's stem; auto: cifar below 64 pixels (simclr's rule)")
    parser.add_argument("--breakdown", action="store_true",
                        help="pretrain: also time each conv layer alone ('#' lines)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    height, width, channels = (int(v) for v in args.shape.split("x"))
    padding = args.padding
    if padding < 0:
        size = min(height, width)
        for _ in range(DEPTH):
            size = conv_out(size, 0)
        padding = 0 if size >= 1 else 1
    stem = args.stem
    if args.backbone == "seed":
        encoder, head, classifier, encoder_flops, head_flops, classifier_flops = build(
            (height, width, channels), padding)
    else:
        if stem == "auto":
            stem = "cifar" if min(height, width) < 64 else "imagenet"
        encoder, head, classifier, encoder_flops, head_flops, classifier_flops = build_resnet(
            args.backbone, stem, (height, width, channels))
    memory_format = (torch.channels_last if args.layout == "channels_last"
                     else torch.contiguous_format)
    for module in (encoder, head, classifier):
        module.to(memory_format=memory_format)

    batch, labeled = args.unlabeled_batch + args.labeled_batch, args.labeled_batch
    count = {"pretrain": 2 * batch, "baseline": labeled, "inference": args.test_batch}[args.mode]
    inputs = torch.rand(count, channels, height, width).contiguous(memory_format=memory_format)
    labels = torch.randint(0, CLASSES, (count,))

    bf16 = args.precision == "bf16"

    def autocast():
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)

    if args.mode == "pretrain":
        optimizer, adam = make_adam(list(encoder.parameters()) + list(head.parameters()))
        probe_optimizer, _ = make_adam(classifier.parameters())
        probe_inputs, probe_labels = inputs[:labeled], labels[:labeled]

        def step():
            optimizer.zero_grad(set_to_none=True)
            with autocast():
                projections = head(encoder(inputs))
                loss = seed_contrastive(projections[:batch].float(), projections[batch:].float())
            loss.backward()
            optimizer.step()
            with torch.no_grad(), autocast():
                features = encoder(probe_inputs)
            probe_optimizer.zero_grad(set_to_none=True)
            with autocast():
                probe_loss = F.cross_entropy(classifier(features).float(), probe_labels)
            probe_loss.backward()
            probe_optimizer.step()

        flops = (2 * batch * 3 * (encoder_flops + head_flops) + 6.0 * batch * batch * WIDTH +
                 labeled * (encoder_flops + 3 * classifier_flops))
        images = batch
    elif args.mode == "baseline":
        optimizer, adam = make_adam(list(encoder.parameters()) + list(classifier.parameters()))

        def step():
            optimizer.zero_grad(set_to_none=True)
            with autocast():
                loss = F.cross_entropy(classifier(encoder(inputs)).float(), labels)
            loss.backward()
            optimizer.step()

        flops = labeled * 3 * (encoder_flops + classifier_flops)
        images = labeled
    else:
        adam = "none"
        encoder.eval()  # batchnorm on running statistics, as simclr's eval, predict and embed run
        classifier.eval()

        def step():
            with torch.inference_mode(), autocast():
                F.cross_entropy(classifier(encoder(inputs)).float(), labels)

        flops = args.test_batch * (encoder_flops + classifier_flops)
        images = args.test_batch

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    mean = sum(times) / len(times)
    gflops = flops / mean / 1e9
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the breakdown
    if args.breakdown and args.mode == "pretrain" and args.backbone == "seed":
        layer_breakdown(encoder, inputs, args.peak_gflops)
    print(json.dumps({
        "impl": "torch", "version": torch.__version__.split("+")[0], "shape": args.shape,
        "backbone": args.backbone, "stem": stem if args.backbone != "seed" else "none",
        "mode": args.mode, "precision": args.precision, "layout": args.layout, "padding": padding, "threads": args.threads,
        "adam": adam, "malloc": allocator(), "images_per_step": images, "steps": args.steps,
        "warmup": args.warmup,
        "seconds_per_step": round(mean, 6), "best_seconds": round(min(times), 6),
        "images_per_s": round(images / mean, 2), "gflop_per_step": round(flops / 1e9, 4),
        "gflop_per_image": round(flops / 1e9 / images, 4),
        "encoder_fwd_gflop_per_image": round(encoder_flops / 1e9, 5),
        "gflops": round(gflops, 2), "peak_gflops": args.peak_gflops,
        "peak_fraction": round(gflops / args.peak_gflops, 4),
        "peak_rss_mib": round(peak_rss, 1)}))


if __name__ == "__main__":
    main()
