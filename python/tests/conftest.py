"""Fixtures: a tiny folder dataset of PNGs written here, a checkpoint trained on it for one step
by the simclr binary ($SIMCLR_BINARY), and the C example ($SIMCLR_EXAMPLE) as the reference.
tests/cli_python.sh sets those and $SIMCLR_LIBRARY; without them the tests are skipped."""
import os
import struct
import subprocess
import zlib

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIDE = 16


def write_png(path, pixels):
    """pixels: uint8 (H, W, 3)."""
    height, width, _ = pixels.shape
    raw = b"".join(b"\0" + pixels[row].tobytes() for row in range(height))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))

    with open(path, "wb") as out:
        out.write(b"\x89PNG\r\n\x1a\n")
        out.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)))
        out.write(chunk(b"IDAT", zlib.compress(raw)))
        out.write(chunk(b"IEND", b""))


def tool(name):
    path = os.environ.get(name)
    if not path or not os.path.exists(path):
        pytest.skip("$%s is not set (run through tests/cli_python.sh)" % name)
    return path


@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("simclr")


@pytest.fixture(scope="session")
def images(workdir):
    """{"pixels": uint8 (4, SIDE, SIDE, 3), "pngs": their files, "jpeg": a JPEG file}."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(4, SIDE, SIDE, 3), dtype=np.uint8)
    pngs = []
    for split in ("train", "test"):
        for label, name in enumerate(("circle", "square")):
            folder = workdir / "data" / split / name
            folder.mkdir(parents=True)
            for i in range(4):
                path = folder / ("%d.png" % i)
                write_png(path, pixels[(i + label) % 4])
                if split == "test" and label == 0:
                    pngs.append(str(path))
    with open(os.path.join(REPO, "fuzz", "corpus", "image", "jpeg_rgb_progressive"), "rb") as f:
        jpeg_bytes = f.read()[3:]  # the fuzzer's option bytes first
    jpeg = workdir / "image.jpg"
    jpeg.write_bytes(jpeg_bytes)
    return {"pixels": pixels, "pngs": pngs, "jpeg": str(jpeg), "data": str(workdir / "data")}


@pytest.fixture(scope="session")
def checkpoint(workdir, images):
    simclr = tool("SIMCLR_BINARY")
    out = workdir / "run"
    subprocess.run([simclr, "baseline", "--dataset", "folder", "--data-dir", images["data"],
                    "--image-size", str(SIDE), "--epochs", "1", "--steps-per-epoch", "1",
                    "--labeled-batch", "8", "--test-batch", "8", "--width", "16", "--quiet",
                    "--out", str(out)], check=True)
    return str(out / "baseline.safetensors")


def run_example(checkpoint, paths):
    """The C example's output: [(class name, probability, embedding)] per path."""
    example = tool("SIMCLR_EXAMPLE")
    lines = subprocess.run([example, checkpoint] + list(paths), check=True, capture_output=True,
                           text=True).stdout.splitlines()
    results = []
    for i, path in enumerate(paths):
        head = lines[2 * i][len(path) + 2:].rsplit(" ", 1)
        values = lines[2 * i + 1].split(":", 1)[1].split()
        results.append((head[0], float(head[1]), np.array(values, dtype=np.float32)))
    return results
