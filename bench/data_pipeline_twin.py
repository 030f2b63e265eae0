#!/usr/bin/env python3
"""The Python side of bench/data_pipeline.sh (issue 25): makes the bench's synthetic image trees,
times the Python baselines on them, and runs a command for its wall time and peak RSS.

Subcommands (each prints one JSON line on stdout, except the generators, which print a summary):

  photos DIR COUNT          COUNT distinct "realistic" JPEGs, 400x350 px, about 100 KB each
                            (smooth colour field + shapes + Gaussian noise, quality 95), made by
                            PIL in a process pool: DIR/p000000.jpg ...
  tiny DIR COUNT            COUNT distinct 16x16 JPEGs (about 0.7 KB), for the file counts
  tree DIR SRC COUNT        COUNT files under DIR/dNNNN/ (--per-dir each), cycling through SRC's
                            .jpg files: copies (--mode copy, each file its own inode) or hard
                            links (--mode link); --first K names them from K on
  labeled DIR SRC           DIR/train/<c>/ and DIR/test/<c>/ of hard links to SRC's first files
                            (--classes, --train, --test per class): the labeled images simclr's
                            training needs beside a folder of unlabeled ones (--labeled-dir)
  walk ROOT                 os.scandir walk of ROOT (recursive): the image files and the time
  imagefolder ROOT          torchvision.datasets.ImageFolder(ROOT): the samples and the time
                            (the import of torchvision is not timed; "import_seconds" gives it)
  loader DIR --size N       torchvision's DataLoader (PIL, --workers processes) over DIR's files
                            (recursive), each file decoded, brought to N x N as simclr's
                            --resize crop does (Resize(N) + CenterCrop(N)) and augmented twice by
                            the SimCLR paper's transforms as simclr's --augment simclr runs them:
                            images/s in the steady state (after --warmup-batches); --blur pil
                            blurs with PIL's filter instead of torchvision's GaussianBlur
  run [--stdout F] -- CMD   runs CMD, prints its wall seconds, peak RSS (getrusage of the child)
                            and exit status; CMD's stdout goes to F (default: discarded), its
                            stderr passes through; --child-json adds CMD's last JSON line
                            (simclr_bench's) as "child", --info-counts the images `simclr info`
                            lists (its splits' counts) as "images"
  history CSV               a training run's history: each epoch's seconds ("epoch_seconds")

Options of the measuring subcommands (walk, imagefolder, loader, run, history): --tag KEY=VALUE
(repeatable) adds a field to the JSON line (a number when it reads as one); --drop-caches (walk,
imagefolder, run) syncs and drops the kernel's page, dentry and inode caches right before the
timed work (root only: /proc/sys/vm/drop_caches), for the cold figures.

Times are time.perf_counter() around the work alone (no interpreter start, no imports).
"""
import argparse
import csv
import io
import json
import os
import re
import resource
import shlex
import subprocess
import tempfile
import sys
import time

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")


TAGS = {}


def emit(record):
    record.update(TAGS)
    print(json.dumps(record), flush=True)


def parse_tags(pairs):
    for pair in pairs or []:
        key, _, value = pair.partition("=")
        try:
            TAGS[key] = int(value)
        except ValueError:
            try:
                TAGS[key] = float(value)
            except ValueError:
                TAGS[key] = value


def drop_caches(args):
    """Cold figures: the page cache, dentries and inodes dropped (needs root)."""
    if getattr(args, "drop_caches", False):
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")


# ---- Generators ------------------------------------------------------------------------------

def _photo(task):
    """One distinct 400x350 JPEG of about 100 KB: a bicubic-smoothed random 6x7 colour grid,
    a dozen random ellipses and rectangles, Gaussian noise (sigma 20), quality 95."""
    path, seed, width, height = task
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 256, (6, 7, 3), dtype=np.uint8)).resize(
        (width, height), Image.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        x1, y1 = x0 + int(rng.integers(10, 150)), y0 + int(rng.integers(10, 150))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([x0, y0, x1, y1], fill=colour)
    pixels = np.asarray(image, dtype=np.int16) + rng.normal(0, 20, (height, width, 3)).astype(np.int16)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=95)
    data = buffer.getvalue()
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


def _tiny(task):
    path, seed = task
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(buffer, "JPEG", quality=90)
    with open(path, "wb") as f:
        f.write(buffer.getvalue())
    return len(buffer.getvalue())


def generate(args, make, prefix, extra):
    import multiprocessing

    os.makedirs(args.dir, exist_ok=True)
    tasks = [(os.path.join(args.dir, f"{prefix}{i:06d}.jpg"), 1000003 * args.seed + i) + extra
             for i in range(args.count)]
    start = time.perf_counter()
    with multiprocessing.Pool(args.workers) as pool:
        sizes = pool.map(make, tasks, chunksize=8)
    seconds = time.perf_counter() - start
    print(f"{args.count} JPEGs in {args.dir}: mean {sum(sizes) / len(sizes) / 1024:.1f} KiB, "
          f"{min(sizes) / 1024:.1f}-{max(sizes) / 1024:.1f} KiB, {seconds:.1f} s "
          f"({args.workers} processes)")


def sources(src):
    names = sorted(n for n in os.listdir(src) if n.lower().endswith(IMAGE_EXTENSIONS))
    if not names:
        sys.exit(f"data_pipeline_twin: no images in {src}")
    return [os.path.join(src, n) for n in names]


def command_tree(args):
    files = sources(args.src)
    contents = [open(f, "rb").read() for f in files] if args.mode == "copy" else None
    start = time.perf_counter()
    made_dirs = set()
    for k in range(args.first, args.first + args.count):
        sub = os.path.join(args.dir, f"d{k // args.per_dir:04d}")
        if sub not in made_dirs:
            os.makedirs(sub, exist_ok=True)
            made_dirs.add(sub)
        path = os.path.join(sub, f"f{k:07d}.jpg")
        if args.mode == "link":
            os.link(files[k % len(files)], path)
        else:
            with open(path, "wb") as f:
                f.write(contents[k % len(files)])
    print(f"{args.count} files ({args.mode}) under {args.dir} in {len(made_dirs)} folders, "
          f"{time.perf_counter() - start:.1f} s")


def command_labeled(args):
    files = sources(args.src)
    k = 0
    for split, per_class in (("train", args.train), ("test", args.test)):
        for c in range(args.classes):
            sub = os.path.join(args.dir, split, f"class{c}")
            os.makedirs(sub, exist_ok=True)
            for i in range(per_class):
                os.link(files[k % len(files)], os.path.join(sub, f"{split}{c}_{i:04d}.jpg"))
                k += 1
    print(f"labeled images in {args.dir}: {args.classes} classes, {args.train} train and "
          f"{args.test} test images each")


# ---- Opening a tree --------------------------------------------------------------------------

def command_walk(args):
    drop_caches(args)
    start = time.perf_counter()
    count, stack = 0, [args.root]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir():
                    stack.append(entry.path)
                elif entry.name.lower().endswith(IMAGE_EXTENSIONS):
                    count += 1
    emit({"tool": "scandir", "root": args.root, "files": count,
          "seconds": time.perf_counter() - start, "peak_rss_mib": peak_rss_mib()})


def command_imagefolder(args):
    start = time.perf_counter()
    import torchvision

    drop_caches(args)
    imported = time.perf_counter()
    dataset = torchvision.datasets.ImageFolder(args.root)
    emit({"tool": "ImageFolder", "version": torchvision.__version__, "root": args.root,
          "files": len(dataset.samples), "classes": len(dataset.classes),
          "seconds": time.perf_counter() - imported, "import_seconds": imported - start,
          "peak_rss_mib": peak_rss_mib()})


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ---- torchvision's DataLoader ----------------------------------------------------------------

def blur_kernel(size):
    """simclr_augment_blur_kernel_size: 10 % of the side, made odd, at least 3 (96 -> 9, 224 -> 23)."""
    k = int(0.1 * size)
    if k % 2 == 0:
        k += 1
    return max(k, 3)


class PILBlur:
    """The blur most PyTorch SimCLR/MoCo code uses instead of torchvision's GaussianBlur (which
    converts to a tensor and convolves: ~37 ms at 224 px against ~2 ms here): PIL's
    ImageFilter.GaussianBlur with the radius drawn from [sigma_min, sigma_max]."""

    def __init__(self, sigma=(0.1, 2.0)):
        self.sigma = sigma

    def __call__(self, image):
        import random
        from PIL import ImageFilter

        return image.filter(ImageFilter.GaussianBlur(radius=random.uniform(*self.sigma)))


def simclr_transform(size, blur="torchvision"):
    """The SimCLR paper's views as simclr's --augment simclr draws them (augment_policy.h): random
    resized crop (0.08-1, 3/4-4/3), flip 0.5, colour jitter (0.8, 0.8, 0.8, 0.2) with p 0.8,
    grayscale 0.2, Gaussian blur (sigma 0.1-2) with p 0.5 from 64 px, then a float tensor.
    blur: torchvision's GaussianBlur (kernel 10 % of the side, as simclr's) or PIL's filter."""
    import torchvision.transforms as T

    steps = [T.RandomResizedCrop(size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)),
             T.RandomHorizontalFlip(0.5),
             T.RandomApply([T.ColorJitter(0.8, 0.8, 0.8, 0.2)], p=0.8),
             T.RandomGrayscale(0.2)]
    if size >= 64:
        blurring = (T.GaussianBlur(blur_kernel(size), sigma=(0.1, 2.0)) if blur == "torchvision"
                    else PILBlur((0.1, 2.0)))
        steps.append(T.RandomApply([blurring], p=0.5))
    steps.append(T.ToTensor())
    return T.Compose(steps)


class TwoViews:
    def __init__(self, size, blur="torchvision"):
        import torchvision.transforms as T

        self.fit = T.Compose([T.Resize(size), T.CenterCrop(size)])  # simclr's --resize crop
        self.view = simclr_transform(size, blur)

    def __call__(self, image):
        image = self.fit(image)
        return self.view(image), self.view(image)


def list_images(root):
    found = []
    for folder, _, names in os.walk(root):
        found += [os.path.join(folder, n) for n in names if n.lower().endswith(IMAGE_EXTENSIONS)]
    return sorted(found)


def command_loader(args):
    import torch
    import torchvision
    from torchvision.datasets.folder import default_loader

    torch.set_num_threads(1)
    files = list_images(args.root)
    transform = TwoViews(args.size, args.blur)

    class Files(torch.utils.data.Dataset):
        def __len__(self):
            return len(files)

        def __getitem__(self, i):
            return transform(default_loader(files[i]))

    loader = torch.utils.data.DataLoader(Files(), batch_size=args.batch, shuffle=True,
                                         num_workers=args.workers, drop_last=False,
                                         persistent_workers=args.workers > 0)
    images, batches, start = 0, 0, None
    while start is None or images < args.images:
        for first, _second in loader:
            batches += 1
            if batches == args.warmup_batches:  # the workers are up and their pipelines full
                start = time.perf_counter()
            elif batches > args.warmup_batches:
                images += first.shape[0]
            if start is not None and images >= args.images:
                break
    seconds = time.perf_counter() - start
    emit({"tool": "DataLoader", "torch": torch.__version__, "torchvision": torchvision.__version__,
          "size": args.size, "blur": args.blur, "workers": args.workers, "batch": args.batch, "files": len(files),
          "images": images, "seconds": seconds, "images_per_s": images / seconds,
          "peak_rss_mib": peak_rss_mib()})


# ---- Running a command -----------------------------------------------------------------------

def command_run(args):
    cmd = args.cmd[1:] if args.cmd and args.cmd[0] == "--" else args.cmd
    path = args.stdout or os.devnull
    drop_caches(args)
    if args.after_drop:  # e.g. the binary's --help: its code and libraries back in the cache
        subprocess.run(shlex.split(args.after_drop), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
    # The peak RSS through GNU time when there is one: a child forked from this interpreter
    # would count the interpreter's pages (about 12 MiB) in its ru_maxrss.
    gnu_time = "/usr/bin/time"
    rss_file = None
    launched = cmd
    if os.access(gnu_time, os.X_OK):
        fd, rss_file = tempfile.mkstemp(prefix="data_pipeline_rss")
        os.close(fd)
        launched = [gnu_time, "-q", "-f", "%M", "-o", rss_file] + cmd
    with open(path, "wb") as stdout:
        start = time.perf_counter()
        process = subprocess.Popen(launched, stdout=stdout)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
    rc = os.waitstatus_to_exitcode(status)
    peak_kib = usage.ru_maxrss
    if rss_file:
        with open(rss_file) as f:
            numbers = [line.strip() for line in f if line.strip().isdigit()]
        os.unlink(rss_file)
        if numbers:
            peak_kib = int(numbers[-1])
    record = {"command": shlex.join(cmd), "rc": rc, "seconds": seconds,
              "peak_rss_mib": peak_kib / 1024.0}
    text = open(path, errors="replace").read() if args.stdout else ""
    if args.child_json:
        lines = [line for line in text.splitlines() if line.startswith("{")]
        record["child"] = json.loads(lines[-1]) if lines else None
    if args.info_counts:  # simclr info: "  unlabeled      2000  unlabeled"
        record["images"] = sum(int(m.group(1)) for m in
                               re.finditer(r"^  (?:unlabeled|train|test) +(\d+)", text, re.M))
        # A line of its own on the index, if this simclr prints one ("index ... 1.23 s").
        index = re.search(r"^\s*index\b[^\n]*?(\d+(?:\.\d+)?) ?s\b", text, re.M | re.I)
        if index:
            record["index_seconds"] = float(index.group(1))
    if rc == 0:
        emit(record)
    sys.exit(0 if rc == 0 else 1)


def command_history(args):
    with open(args.csv) as f:
        rows = list(csv.DictReader(f))
    emit({"history": args.csv, "epoch_seconds": [float(r["seconds"]) for r in rows]})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    tagged = argparse.ArgumentParser(add_help=False)
    tagged.add_argument("--tag", action="append", metavar="KEY=VALUE")
    cold = argparse.ArgumentParser(add_help=False)
    cold.add_argument("--drop-caches", action="store_true")
    p = sub.add_parser("photos")
    p.add_argument("dir")
    p.add_argument("count", type=int)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p = sub.add_parser("tiny")
    p.add_argument("dir")
    p.add_argument("count", type=int)
    p.add_argument("--seed", type=int, default=2)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p = sub.add_parser("tree")
    p.add_argument("dir")
    p.add_argument("src")
    p.add_argument("count", type=int)
    p.add_argument("--per-dir", type=int, default=1000)
    p.add_argument("--first", type=int, default=0)
    p.add_argument("--mode", choices=("copy", "link"), default="copy")
    p = sub.add_parser("labeled")
    p.add_argument("dir")
    p.add_argument("src")
    p.add_argument("--classes", type=int, default=2)
    p.add_argument("--train", type=int, default=50)
    p.add_argument("--test", type=int, default=25)
    p = sub.add_parser("walk", parents=[tagged, cold])
    p.add_argument("root")
    p = sub.add_parser("imagefolder", parents=[tagged, cold])
    p.add_argument("root")
    p = sub.add_parser("loader", parents=[tagged])
    p.add_argument("root")
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--images", type=int, default=2000, help="timed images (after the warm-up)")
    p.add_argument("--warmup-batches", type=int, default=2)
    p.add_argument("--blur", choices=("torchvision", "pil"), default="torchvision")
    p = sub.add_parser("run", parents=[tagged, cold])
    p.add_argument("--stdout")
    p.add_argument("--after-drop", metavar="CMD",
                   help="run CMD after --drop-caches, untimed (to load the program itself again)")
    p.add_argument("--child-json", action="store_true")
    p.add_argument("--info-counts", action="store_true")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    p = sub.add_parser("history", parents=[tagged])
    p.add_argument("csv")
    args = parser.parse_args()
    parse_tags(getattr(args, "tag", None))
    if args.command == "photos":
        generate(args, _photo, "p", (400, 350))
    elif args.command == "tiny":
        generate(args, _tiny, "t", ())
    else:
        {"tree": command_tree, "labeled": command_labeled, "walk": command_walk,
         "imagefolder": command_imagefolder, "loader": command_loader,
         "run": command_run, "history": command_history}[args.command](args)


if __name__ == "__main__":
    main()
