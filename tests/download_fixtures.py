#!/usr/bin/env python3
"""Synthetic datasets in the official archives' exact layouts, for the `simclr download` tests.

    download_fixtures.py OUT_DIR

writes OUT_DIR/<file> for every file the five datasets publish (stl10_binary.tar.gz,
cifar-10-binary.tar.gz, cifar-100-binary.tar.gz, the four MNIST .gz files; Fashion-MNIST's have the
same names, so they live in OUT_DIR/fashion/), a few records each with random pixels and valid
labels, plus OUT_DIR/checksums.md5 (md5sum output for all of them) and two broken variants:
OUT_DIR/truncated/cifar-10-binary.tar.gz (the archive cut at 60 %, with truncated.md5) and
OUT_DIR/large/cifar-10-binary.tar.gz (incompressible, about 300 KB, with large.md5) for the
full-disk test.
"""
import gzip
import hashlib
import io
import os
import random
import struct
import sys
import tarfile

rng = random.Random(15)


def random_bytes(n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def tar_gz(path, folder, members):
    """members: {name: bytes}, stored under folder/ with a folder entry first, like the originals."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo(folder)
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        archive.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    with open(path, "wb") as out:
        out.write(buffer.getvalue())


def cifar10_members(records_per_file):
    def batch():
        return b"".join(bytes([rng.randrange(10)]) + random_bytes(3072) for _ in range(records_per_file))

    members = {f"data_batch_{i}.bin": batch() for i in range(1, 6)}
    members["test_batch.bin"] = batch()
    names = "airplane automobile bird cat deer dog frog horse ship truck".split()
    members["batches.meta.txt"] = ("\n".join(names) + "\n\n").encode()
    members["readme.html"] = b"<meta HTTP-EQUIV=\"REFRESH\" content=\"0; url=http://www.cs.toronto.edu/~kriz/cifar.html\">\n"
    return members


def cifar100_members():
    def records(n):
        out = b""
        for _ in range(n):
            fine = rng.randrange(100)
            out += bytes([fine // 5, fine]) + random_bytes(3072)
        return out

    return {
        "train.bin": records(6),
        "test.bin": records(3),
        "fine_label_names.txt": "".join(f"fine_{i}\n" for i in range(100)).encode(),
        "coarse_label_names.txt": "".join(f"coarse_{i}\n" for i in range(20)).encode(),
    }


def stl10_members():
    side = 96 * 96 * 3
    names = "airplane bird car cat deer dog horse monkey ship truck".split()
    return {
        "train_X.bin": random_bytes(4 * side),
        "train_y.bin": bytes([1, 2, 3, 10]),
        "test_X.bin": random_bytes(2 * side),
        "test_y.bin": bytes([4, 5]),
        "unlabeled_X.bin": random_bytes(3 * side),
        "class_names.txt": ("\n".join(names) + "\n").encode(),
        "fold_indices.txt": "".join(f"{i % 4} {(i + 1) % 4}\n" for i in range(10)).encode(),
    }


def idx_images(count):
    return struct.pack(">IIII", 0x00000803, count, 28, 28) + random_bytes(count * 28 * 28)


def idx_labels(count):
    return struct.pack(">II", 0x00000801, count) + bytes(rng.randrange(10) for _ in range(count))


def write_mnist(folder):
    os.makedirs(folder, exist_ok=True)
    files = {
        "train-images-idx3-ubyte.gz": idx_images(12),
        "train-labels-idx1-ubyte.gz": idx_labels(12),
        "t10k-images-idx3-ubyte.gz": idx_images(5),
        "t10k-labels-idx1-ubyte.gz": idx_labels(5),
    }
    for name, data in files.items():
        with open(os.path.join(folder, name), "wb") as out:
            out.write(gzip.compress(data, mtime=0))
    return list(files)


def md5(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


def write_md5sums(path, files):
    with open(path, "w") as out:
        for f in files:
            out.write(f"{md5(f)}  {os.path.basename(f)}\n")


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    tar_gz(os.path.join(out, "cifar-10-binary.tar.gz"), "cifar-10-batches-bin", cifar10_members(3))
    tar_gz(os.path.join(out, "cifar-100-binary.tar.gz"), "cifar-100-binary", cifar100_members())
    tar_gz(os.path.join(out, "stl10_binary.tar.gz"), "stl10_binary", stl10_members())
    mnist = write_mnist(out)
    fashion = write_mnist(os.path.join(out, "fashion"))
    main_files = ["cifar-10-binary.tar.gz", "cifar-100-binary.tar.gz", "stl10_binary.tar.gz"] + mnist
    write_md5sums(os.path.join(out, "checksums.md5"), [os.path.join(out, f) for f in main_files])
    write_md5sums(os.path.join(out, "fashion.md5"), [os.path.join(out, "fashion", f) for f in fashion])

    os.makedirs(os.path.join(out, "truncated"), exist_ok=True)
    with open(os.path.join(out, "cifar-10-binary.tar.gz"), "rb") as f:
        whole = f.read()
    truncated = os.path.join(out, "truncated", "cifar-10-binary.tar.gz")
    with open(truncated, "wb") as f:
        f.write(whole[: len(whole) * 6 // 10])
    write_md5sums(os.path.join(out, "truncated.md5"), [truncated])

    os.makedirs(os.path.join(out, "large"), exist_ok=True)
    large = os.path.join(out, "large", "cifar-10-binary.tar.gz")
    tar_gz(large, "cifar-10-batches-bin", cifar10_members(14))
    write_md5sums(os.path.join(out, "large.md5"), [large])


if __name__ == "__main__":
    main()
