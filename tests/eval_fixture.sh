# Sourced by the representation-command tests (cli_eval.sh, cli_embed_numpy.sh): makes a tiny
# image-folder dataset of coloured 16x16 PNGs (3 classes, 12 train and 6 test images each;
# each class its own colour plus noise, so features separate them) with Python's standard library
# only, and trains a small baseline and pretraining checkpoint on it (a few seconds).
# Needs: $simclr, $work. Sets: $data, $baseline, $pretrain, $dataset_options.
make_png_folder() { # make_png_folder DIR
    /usr/bin/python3 - "$1" <<'PY'
import os, random, struct, sys, zlib
root = sys.argv[1]
colours = {"red": (200, 40, 40), "green": (40, 180, 60), "blue": (50, 60, 210)}
def png(path, pixels, size):
    raw = b"".join(b"\x00" + bytes(pixels[y * size * 3:(y + 1) * size * 3]) for y in range(size))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
rng = random.Random(5)
for split, count in (("train", 12), ("test", 6)):
    for name, colour in colours.items():
        os.makedirs(os.path.join(root, split, name), exist_ok=True)
        for i in range(count):
            pixels = [max(0, min(255, c + rng.randint(-40, 40))) for _ in range(16 * 16) for c in colour]
            png(os.path.join(root, split, name, "%02d.png" % i), pixels, 16)
PY
}

setup_eval_fixture() {
    if [ ! -x /usr/bin/python3 ]; then
        echo "skipping: /usr/bin/python3 is needed to write the test images"
        exit 77
    fi
    data="$work/pngs"
    make_png_folder "$data" || { echo "FAIL - cannot write the test images"; exit 1; }
    dataset_options=(--dataset folder --data-dir "$data" --image-size 16)
    local train=(--epochs 1 --steps-per-epoch 3 --labeled-batch 6 --unlabeled-batch 6 --test-batch 8
                 --width 16 --depth 2 --threads 2 --quiet --out "$work/run")
    "$simclr" baseline "${dataset_options[@]}" "${train[@]}" >/dev/null 2>"$work/err" &&
        "$simclr" pretrain "${dataset_options[@]}" "${train[@]}" >/dev/null 2>>"$work/err" ||
        { echo "FAIL - cannot train the test checkpoints"; cat "$work/err"; exit 1; }
    baseline="$work/run/baseline.safetensors"
    pretrain="$work/run/pretrain.safetensors"
}
