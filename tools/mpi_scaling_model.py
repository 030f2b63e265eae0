#!/usr/bin/env python3
"""The step-time model of data-parallel pretraining over N machines (issue 14, docs/PERFORMANCE.md).

T(N) = B / (N R)                                  compute of the rank's share (R images/s per machine)
     + 3 ring allreduces of the parameter gradients (encoder, head, probe: 4 P bytes in all)
           2 (N-1)/N * 4P / beta + 3 * 2 (N-1) alpha
     + the projections' allgather and the gradient reduce-scatter (2B x D float32 each)
           2 * [(N-1)/N * 8 B D / beta + (N-1) alpha]
     + small allreduces (2 per BatchNorm layer, 4 of metrics and the stop flag), latency only
           (2 L_bn + 4) * 2 ceil(log2 N) alpha
Communication does not overlap the compute (the implementation's collectives are blocking).
Bytes each rank sends per step: 2 (N-1)/N 4P + 2 (N-1)/N 8 B D + (N-1)/N 2 * 16 (2 C_bn + 1) ...

Parameter counts are the real models' (the `Total params` lines `simclr pretrain` prints:
seed encoder 856,064 + head 33,024 + probe 1,290 at 96x96x3; ResNet-18 11,176,512 + head
--head-bn 328,832 + probe 5,130 at 96x96x3). Usage: tools/mpi_scaling_model.py [--max-ranks 64]
"""
import argparse
import math

MODELS = {
    # name: (parameters, BatchNorm layers, BatchNorm channels, projection width, images/s of one
    #        machine, where that rate comes from)
    "seed (96x96x3)": (856_064 + 33_024 + 1_290, 0, 0, 128, 146.6,
                       "measured, docs/PERFORMANCE.md: fp32 pretraining step, 2 threads"),
    "ResNet-18 --head-bn (96x96x3)": (11_176_512 + 328_832 + 5_130, 21, 4_800 + 512, 128, 47.5,
                                      "derived: 4.0 GFLOP per image (2 views x 3 x 0.669) at the "
                                      "measured 190.9 GFLOP/s"),
}
LINKS = {"10 GbE (1.25 GB/s, 25 us)": (1.25e9, 25e-6), "100 Gb/s InfiniBand (12.5 GB/s, 2 us)": (12.5e9, 2e-6)}


def communication(n, batch, params, bn_layers, dim, beta, alpha):
    if n == 1:
        return 0.0, 0.0
    share = (n - 1) / n
    grads = 2 * share * 4 * params / beta + 3 * 2 * (n - 1) * alpha
    projections = 2 * (share * 8 * batch * dim / beta + (n - 1) * alpha)
    small = (2 * bn_layers + 4) * 2 * math.ceil(math.log2(n)) * alpha
    sent = 2 * share * 4 * params + 2 * share * 8 * batch * dim
    return grads + projections + small, sent


def batch_for(efficiency, n, params, bn_layers, dim, rate, beta, alpha):
    """The smallest global batch whose efficiency T(1) / (N T(N)) reaches `efficiency`."""
    if n == 1:
        return None
    c0, _ = communication(n, 0, params, bn_layers, dim, beta, alpha)
    c1 = communication(n, 1, params, bn_layers, dim, beta, alpha)[0] - c0
    k = efficiency / (1 - efficiency)
    room = 1 / (n * rate) - k * c1
    return math.ceil(k * c0 / room) if room > 0 else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-ranks", type=int, default=64)
    parser.add_argument("--batch", type=int, default=525, help="global batch (unlabeled + labeled)")
    args = parser.parse_args()
    ranks = [n for n in (1, 2, 4, 8, 16, 32, 64) if n <= args.max_ranks]
    for model, (params, bn_layers, bn_channels, dim, rate, source) in MODELS.items():
        print(f"\n### {model}: {params:,} parameters, {bn_layers} BatchNorm layers, R = {rate} images/s ({source})\n")
        for link, (beta, alpha) in LINKS.items():
            print(f"{link}, global batch {args.batch}:\n")
            print("| N | compute s | communication s | step s | images/s | efficiency | MB sent per rank | batch for 90 % |")
            print("|---|---|---|---|---|---|---|---|")
            single = args.batch / rate
            for n in ranks:
                comm, sent = communication(n, args.batch, params, bn_layers, dim, beta, alpha)
                compute = args.batch / (n * rate)
                step = compute + comm
                needed = batch_for(0.9, n, params, bn_layers, dim, rate, beta, alpha)
                print(f"| {n} | {compute:.3f} | {comm:.4f} | {step:.3f} | {args.batch / step:.0f} | "
                      f"{single / (n * step) * 100:.1f} % | {sent / 1e6:.2f} | "
                      f"{needed if needed else ('-' if n == 1 else 'none')} |")
            print()


main()
