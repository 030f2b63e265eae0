#!/usr/bin/python3
"""Reference outputs of torchvision's functional ops for tests/test_augment_policy.c.

Real CIFAR-10 JPEGs (decoded by PIL, stored as raw HWC uint8, so the C test needs no decoder
agreement), and one 96x96 image (a CIFAR-10 image upscaled with PIL bicubic), are converted to
float tensors (x / 255) and run through torchvision.transforms.functional with fixed parameters.
Outputs are stored as uint16 (round(x * 65535), HWC) to keep the fixtures small: quantisation
error <= 7.7e-6. The case list goes to tv_augment_cases.txt, one case per line:
    <output> <input> <height> <width> <op> <parameters...>
Also writes tv_crop_histogram.txt: RandomResizedCrop.get_params' distribution (area fraction and
log aspect ratio in 10 bins each, fallback rate) from 200000 draws, for the sampling test.

Run with Debian's /usr/bin/python3 (python3-torch, python3-torchvision):
    /usr/bin/python3 tools/make_torchvision_augment_fixtures.py [--data /work/shared/data/cifar10]
"""
import argparse
import math
import os

import numpy as np
import torch
import torchvision
import torchvision.transforms.functional as F
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")


def load(path, size=None):
    image = Image.open(path).convert("RGB")
    if size:
        image = image.resize((size, size), Image.BICUBIC)
    return np.asarray(image, dtype=np.uint8).copy()


def to_tensor(hwc):
    return torch.from_numpy(hwc).permute(2, 0, 1).float() / 255.0


def save_u16(name, chw):
    hwc = chw.permute(1, 2, 0).contiguous().numpy().astype(np.float64)
    q = np.clip(np.rint(hwc * 65535.0), 0, 65535).astype("<u2")
    q.tofile(os.path.join(OUT, name))


def pipeline(t, p):
    height, width = t.shape[-2:]
    out = F.resized_crop(t, p["top"], p["left"], p["h"], p["w"], [height, width],
                         F.InterpolationMode.BILINEAR, antialias=False)
    if p["flip"]:
        out = F.hflip(out)
    if p["jitter"]:
        for part in p["order"]:
            if part == 0:
                out = F.adjust_brightness(out, p["b"])
            elif part == 1:
                out = F.adjust_contrast(out, p["c"])
            elif part == 2:
                out = F.adjust_saturation(out, p["s"])
            else:
                out = F.adjust_hue(out, p["hue"])
    if p["gray"]:
        out = F.rgb_to_grayscale(out, num_output_channels=3)
    if p["blur"]:
        out = F.gaussian_blur(out, [p["k"], p["k"]], [p["sigma"], p["sigma"]])
    if p["solarize"]:
        out = F.solarize(out, p["threshold"])
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="/work/shared/data/cifar10")
    args = parser.parse_args()
    torch.manual_seed(0)
    inputs = {
        "tv_cat32": load(os.path.join(args.data, "train", "cat", "0000.jpg")),
        "tv_ship32": load(os.path.join(args.data, "train", "ship", "0001.jpg")),
        "tv_horse96": load(os.path.join(args.data, "train", "horse", "0002.jpg"), 96),
    }
    for name, hwc in inputs.items():
        hwc.tofile(os.path.join(OUT, name + ".u8"))
    lines = []
    worst_antialias = 0.0

    def case(out_name, input_name, op, params, result):
        hwc = inputs[input_name]
        save_u16(out_name, result)
        values = " ".join(str(v) for v in params)
        lines.append(f"{out_name} {input_name}.u8 {hwc.shape[0]} {hwc.shape[1]} {op} {values}")

    for input_name, crops in (("tv_cat32", [(3, 5, 20, 17, 0), (0, 0, 32, 32, 1), (10, 2, 7, 25, 1)]),
                              ("tv_ship32", [(1, 8, 13, 21, 0)]),
                              ("tv_horse96", [(12, 30, 41, 55, 1)])):
        t = to_tensor(inputs[input_name])
        size = list(t.shape[-2:])
        for index, (top, left, h, w, flip) in enumerate(crops):
            out = F.resized_crop(t, top, left, h, w, size, F.InterpolationMode.BILINEAR, antialias=False)
            aa = F.resized_crop(t, top, left, h, w, size, F.InterpolationMode.BILINEAR, antialias=True)
            worst_antialias = max(worst_antialias, float((out - aa).abs().max()))
            if flip:
                out = F.hflip(out)
            case(f"{input_name}_crop{index}.u16", input_name, "crop", [top, left, h, w, flip], out)

    for input_name in ("tv_cat32", "tv_ship32"):
        t = to_tensor(inputs[input_name])
        case(f"{input_name}_brightness.u16", input_name, "brightness", [1.53], F.adjust_brightness(t, 1.53))
        case(f"{input_name}_contrast_up.u16", input_name, "contrast", [1.7], F.adjust_contrast(t, 1.7))
        case(f"{input_name}_contrast_down.u16", input_name, "contrast", [0.35], F.adjust_contrast(t, 0.35))
        case(f"{input_name}_saturation.u16", input_name, "saturation", [1.6], F.adjust_saturation(t, 1.6))
        case(f"{input_name}_hue_plus.u16", input_name, "hue", [0.31], F.adjust_hue(t, 0.31))
        case(f"{input_name}_hue_minus.u16", input_name, "hue", [-0.45], F.adjust_hue(t, -0.45))
        case(f"{input_name}_grayscale.u16", input_name, "grayscale", [],
             F.rgb_to_grayscale(t, num_output_channels=3))
        case(f"{input_name}_solarize.u16", input_name, "solarize", [0.5], F.solarize(t, 0.5))
        case(f"{input_name}_blur.u16", input_name, "blur", [3, 1.3], F.gaussian_blur(t, [3, 3], [1.3, 1.3]))
    t = to_tensor(inputs["tv_horse96"])
    case("tv_horse96_blur.u16", "tv_horse96", "blur", [9, 1.7], F.gaussian_blur(t, [9, 9], [1.7, 1.7]))

    pipelines = [
        ("tv_cat32", dict(top=4, left=2, h=25, w=19, flip=1, jitter=1, order=[2, 0, 3, 1], b=0.7, c=1.45,
                          s=0.3, hue=0.12, gray=0, blur=0, k=3, sigma=1.0, solarize=0, threshold=0.5)),
        ("tv_ship32", dict(top=0, left=6, h=30, w=22, flip=0, jitter=1, order=[3, 1, 0, 2], b=1.2, c=0.6,
                           s=1.8, hue=-0.17, gray=1, blur=0, k=3, sigma=1.0, solarize=1, threshold=0.5)),
        ("tv_horse96", dict(top=10, left=20, h=70, w=60, flip=1, jitter=1, order=[1, 3, 2, 0], b=0.9,
                            c=1.3, s=0.5, hue=0.05, gray=0, blur=1, k=9, sigma=1.1, solarize=1,
                            threshold=0.5)),
    ]
    for index, (input_name, p) in enumerate(pipelines):
        out = pipeline(to_tensor(inputs[input_name]), p)
        params = [p["top"], p["left"], p["h"], p["w"], p["flip"], p["jitter"], "".join(map(str, p["order"])),
                  p["b"], p["c"], p["s"], p["hue"], p["gray"], p["blur"], p["k"], p["sigma"], p["solarize"],
                  p["threshold"]]
        case(f"{input_name}_pipeline{index}.u16", input_name, "pipeline", params, out)

    with open(os.path.join(OUT, "tv_augment_cases.txt"), "w") as f:
        f.write(f"# torchvision {torchvision.__version__}, torch {torch.__version__}; "
                "tools/make_torchvision_augment_fixtures.py\n")
        f.write("\n".join(lines) + "\n")
    print(f"{len(lines)} cases; resized_crop antialias=True vs False, worst difference {worst_antialias:.3g}")

    # RandomResizedCrop.get_params distribution.
    rows = []
    for size in (32, 224):
        image = torch.zeros(3, size, size)
        area_bins = np.zeros(10)
        ratio_bins = np.zeros(10)
        fallbacks = 0
        draws = 200000
        log_lo, log_hi = math.log(3 / 4), math.log(4 / 3)
        for _ in range(draws):
            i, j, h, w = torchvision.transforms.RandomResizedCrop.get_params(image, (0.08, 1.0), (3 / 4, 4 / 3))
            fraction = h * w / (size * size)
            area_bins[min(int(fraction * 10), 9)] += 1
            r = (math.log(w / h) - log_lo) / (log_hi - log_lo)
            ratio_bins[min(max(int(r * 10), 0), 9)] += 1
            fallbacks += (h == size and w == size)
        rows.append(f"{size} area " + " ".join(f"{v / draws:.6f}" for v in area_bins))
        rows.append(f"{size} ratio " + " ".join(f"{v / draws:.6f}" for v in ratio_bins))
        rows.append(f"{size} whole {fallbacks / draws:.6f}")
    with open(os.path.join(OUT, "tv_crop_histogram.txt"), "w") as f:
        f.write("# RandomResizedCrop.get_params(scale=(0.08, 1), ratio=(3/4, 4/3)), 200000 draws per size:\n"
                "# area fraction h*w/(H*W) in bins of 0.1; log(w/h) in 10 bins over [log 3/4, log 4/3]\n"
                "# (values outside clamped to the end bins); whole: fraction of whole-image crops\n")
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
