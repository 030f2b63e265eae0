"""Issue 26's quality and speed figures (docs/RESULTS.md, "After training"), run by
bench/similarity.sh in a venv with NumPy, Pillow, faiss-cpu and scikit-learn:

  dedup   near-duplicates made here (mirrored; cropped by 10 % of each side, at a random place
          (--crop random, the default: the same size, its corner drawn uniformly, seeded per
          image) or 5 % off each side (--crop central), scaled back; JPEG-recompressed at quality
          50; colour-shifted: red +24, green +8, blue -16) of 500 images among CIFAR-10 images.
          The settings are chosen on a set built from training images (5,000 + 2,000 copies) and
          measured on one built from the 10,000 test images (+ 2,000 copies): pair precision and
          recall of `simclr dedup` (pairs in one group against pairs of one family: an image and
          its copies), per kind of copy, and the same for a 64-bit difference hash (dHash, on 9x8
          grey pixels) at several Hamming radii. The groups of the features alone (one run per
          --threshold) and of the hashes alone (--threshold 1, one run per --hash-radius and
          --hash-crops) are joined here (union-find: the components of the union of two graphs are
          what dedup finds with both), and the command itself is run at the defaults and at the
          setting chosen on the calibration set (the highest recall with precision >= 0.95 and,
          within 0.005 of it, the highest precision, then the fewest regions hashed); a third set
          (other training images) is measured at the defaults and the chosen setting only.
  select  linear evaluation (standardised features, L-BFGS softmax regression, the test split)
          of the frozen encoder trained on 1 %, 2 % and 5 % of CIFAR-10's training images chosen
          by `simclr select` (greedy k-center) or at random (5 draws).
  hnsw    recall@10 of `similar --index hnsw` against `--index exact` (CIFAR-10 test images
          against the training images' embeddings), and of faiss-cpu's HNSW with the same settings
          on the random sets below.
  search  100k queries x 100k bank rows, top 10, D = 128 and 512 (random unit vectors): simclr's
          exact search (simclr.similar: blocked sgemm + heaps) against faiss-cpu's IndexFlatIP,
          scikit-learn's NearestNeighbors (brute, cosine) and NumPy (blocked matmul +
          argpartition), each timed once, every result checked against NumPy's neighbours.

  similarity_quality.py --simclr BIN --model CKPT --data CIFAR10_DIR --work DIR [--parts dedup,select,search]
"""
import argparse
import csv
import os
import subprocess
import sys
import time

import numpy as np
from PIL import Image

VARIANTS = ("flip", "crop", "jpeg50", "colour")


def run(command, **kwargs):
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        sys.exit("failed (%d): %s\n%s%s" % (result.returncode, " ".join(command), result.stdout, result.stderr))
    return result, time.perf_counter() - started


def list_images(root):
    found = []
    for directory, _, names in os.walk(root):
        found += [os.path.join(directory, n) for n in names if n.lower().endswith((".png", ".jpg", ".jpeg"))]
    return sorted(found)


def make_variant(image, kind, crop="random", rng=None):
    width, height = image.size
    if kind == "flip":
        return image.transpose(Image.FLIP_LEFT_RIGHT)
    if kind == "crop":
        # 5 % of each side off each end (a 28 x 28 crop of 32 x 32), or the same size anywhere.
        dx, dy = round(width * 0.05), round(height * 0.05)
        if crop == "random":
            left, top = int(rng.integers(0, 2 * dx + 1)), int(rng.integers(0, 2 * dy + 1))
        else:
            left, top = dx, dy
        box = (left, top, left + width - 2 * dx, top + height - 2 * dy)
        return image.crop(box).resize((width, height), Image.BILINEAR)
    if kind == "colour":
        shift = np.array([24, 8, -16], dtype=np.int16)
        pixels = np.asarray(image.convert("RGB"), dtype=np.int16) + shift
        return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    raise ValueError(kind)


def build_duplicate_set(sources, folder, copies_of, seed, crop):
    """Links the source images into folder/orig and writes 4 copies of copies_of of them into
    folder/copies; returns {path: family}, family = the index of the source image. A random crop's
    place comes from a generator seeded by (seed, image), so each set is the same every run."""
    os.makedirs(os.path.join(folder, "orig"), exist_ok=True)
    os.makedirs(os.path.join(folder, "copies"), exist_ok=True)
    family = {}
    for i, source in enumerate(sources):
        link = os.path.join(folder, "orig", "%05d%s" % (i, os.path.splitext(source)[1]))
        if not os.path.lexists(link):
            os.symlink(os.path.abspath(source), link)
        family[link] = i
    chosen = np.random.default_rng(seed).choice(len(sources), copies_of, replace=False)
    for i in sorted(chosen):
        image = Image.open(sources[i]).convert("RGB")
        for kind in VARIANTS:
            if kind == "jpeg50":
                path = os.path.join(folder, "copies", "%05d_jpeg50.jpg" % i)
                image.save(path, quality=50)
            else:
                path = os.path.join(folder, "copies", "%05d_%s.png" % (i, kind))
                make_variant(image, kind, crop, np.random.default_rng([seed, int(i)])).save(path)
            family[path] = i
    return family


def pair_scores(groups, family):
    """Pair precision and recall of groups (lists of paths) against the families, and the share of
    each kind of copy grouped with its original."""
    group_of = {}
    for g, members in enumerate(groups):
        for path in members:
            group_of[path] = g
    predicted = sum(len(m) * (len(m) - 1) // 2 for m in groups)
    by_family = {}
    for path, f in family.items():
        by_family.setdefault(f, []).append(path)
    true_pairs = correct = 0
    found = {kind: [0, 0] for kind in VARIANTS}
    for members in by_family.values():
        if len(members) < 2:
            continue
        true_pairs += len(members) * (len(members) - 1) // 2
        for a in range(len(members)):
            for b in range(a + 1, len(members)):
                ga, gb = group_of.get(members[a]), group_of.get(members[b])
                correct += ga is not None and ga == gb
        original = next(p for p in members if "/orig/" in p)
        for path in members:
            if path == original:
                continue
            kind = next(k for k in VARIANTS if "_" + k + "." in os.path.basename(path))
            found[kind][1] += 1
            found[kind][0] += group_of.get(path) is not None and group_of.get(path) == group_of.get(original)
    precision = correct / predicted if predicted else 1.0
    recall = correct / true_pairs if true_pairs else 1.0
    return precision, recall, {k: v[0] / v[1] for k, v in found.items()}, predicted


def dedup_groups(args, folder, options, timed=False):
    out = os.path.join(args.work, "groups.csv")
    result, seconds = run([args.simclr, "dedup", "--model", args.model, "--in", folder, "--out", out,
                           "--cache-dir", os.path.join(args.work, "cache"), "--quiet"] + options)
    groups = {}
    with open(out, newline="") as f:
        for row in csv.DictReader(f):
            groups.setdefault(row["group"], []).append(row["path"])
    if timed:
        line = next((l for l in result.stdout.splitlines() if l.startswith("groups ")), "")
        return list(groups.values()), seconds, line
    return list(groups.values())


def union_groups(*partitions):
    """The groups of the union of the graphs whose components are the given groupings."""
    parent = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for groups in partitions:
        for members in groups:
            root = find(members[0])
            for path in members[1:]:
                other = find(path)
                if other != root:
                    parent[other] = root
    joined = {}
    for x in list(parent):
        joined.setdefault(find(x), []).append(x)
    return [g for g in joined.values() if len(g) > 1]


def supports_hash_crops(simclr):
    result = subprocess.run([simclr, "dedup", "--help"], capture_output=True, text=True)
    return "--hash-crops" in result.stdout


def supports_match(simclr):
    result = subprocess.run([simclr, "dedup", "--help"], capture_output=True, text=True)
    return "--match-threshold" in result.stdout


def dhash(path):
    grey = np.asarray(Image.open(path).convert("L").resize((9, 8), Image.LANCZOS), dtype=np.int16)
    bits = (grey[:, 1:] > grey[:, :-1]).flatten()
    return int(np.packbits(bits).view(">u8")[0])


def dhash_groups(paths, hashes, radius):
    parent = list(range(len(paths)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    values = np.array(hashes, dtype=np.uint64)
    for start in range(0, len(values), 1024):
        block = values[start:start + 1024, None] ^ values[None, :]
        distance = np.bitwise_count(block)
        rows, cols = np.nonzero(distance <= radius)
        for r, c in zip(rows + start, cols):
            if r < c:
                a, b = find(r), find(c)
                if a != b:
                    parent[b] = a
    groups = {}
    for i in range(len(paths)):
        groups.setdefault(find(i), []).append(paths[i])
    return [g for g in groups.values() if len(g) > 1]


THRESHOLDS = (0.95, 0.97, 0.98, 0.985, 0.99, 0.995)
HASH_RADII = (2, 3, 4, 5, 6, 7, 8, 10)
# --hash-crops, --hash-crop-positions: the whole image only, then regions at one or two scales.
# (None, None): a binary without --hash-crops, which hashes the whole image only.
HASH_REGIONS = (("none", "5"), ("0.9", "5"), ("0.9", "9"), ("0.8", "5"), ("0.9,0.8", "5"), ("0.9,0.8", "9"))


# --match-threshold (the pairs the features and the hashes find checked by aligning thumbnails),
# with these regions and radii: the check lets the hashes cast a wider net.
MATCH_THRESHOLDS = (0.8, 0.85, 0.9, 0.93, 0.95, 0.97)
MATCH_REGIONS = (("0.9", "5"), ("0.9", "9"))
MATCH_RADII = (4, 5, 6, 7, 8, 10)


MATCH_OFF = []  # ["--match-threshold", "0"] when the binary has the check (its default is on)


def region_options(crops, positions, match=None):
    options = [] if crops is None else ["--hash-crops", crops, "--hash-crop-positions", positions]
    return options + (MATCH_OFF if match is None else ["--match-threshold", str(match)])


def region_count(radius, crops, positions):
    """Hashed regions per image (each also mirrored): 0 without hashes, 1 for the whole image."""
    if radius is None:
        return 0
    if crops is None or crops == "none":
        return 1
    return 1 + len(crops.split(",")) * int(positions)


def describe(threshold, radius, crops, positions, match=None):
    features = "features >= %s" % threshold if threshold is not None else "no features"
    if radius is None:
        return features
    regions = "whole image" if crops in (None, "none") else "crops %s x %s" % (crops, positions)
    checked = "" if match is None else ", aligned >= %s" % match
    return "%s + hash <= %d (%s%s)" % (features, radius, regions, checked)


def score_line(label, precision, recall, kinds, predicted):
    return "| %s | %d | %.3f | %.3f | %s |" % (label, predicted, precision, recall,
                                                " | ".join("%.3f" % kinds[k] for k in VARIANTS))


def part_dedup(args):
    train = list_images(os.path.join(args.data, "train"))
    test = list_images(os.path.join(args.data, "test"))
    per_class = {}
    for path in train:
        per_class.setdefault(os.path.basename(os.path.dirname(path)), []).append(path)
    calibration_sources = [p for c in sorted(per_class) for p in per_class[c][:500]]
    confirmation_sources = [p for c in sorted(per_class) for p in per_class[c][500:1000]]
    # The sweep on the first two; the third (other training images, other copies) is measured at
    # the defaults and the chosen setting only: a set no choice has looked at.
    sets = {"calibration (train)": (calibration_sources, os.path.join(args.work, "dup_calibration"), 1, True),
            "evaluation (test)": (test, os.path.join(args.work, "dup_evaluation"), 2, True),
            "confirmation (other train images)": (confirmation_sources, os.path.join(args.work, "dup_confirmation"),
                                                  3, False)}
    regions = HASH_REGIONS if supports_hash_crops(args.simclr) else ((None, None),)
    matches = supports_match(args.simclr)
    if matches:
        MATCH_OFF[:] = ["--match-threshold", "0"]
    header = ("| setting | pairs found | precision | recall | " + " | ".join("recall %s" % k for k in VARIANTS) +
              " |\n|---|---|---|---|" + "---|" * len(VARIANTS))
    print("\n(crop: %s; %s)" % (args.crop, "the binary has --hash-crops" if len(regions) > 1 else
                                  "the binary hashes whole images only"))
    chosen = None
    for name, (sources, folder, seed, sweep) in sets.items():
        family = build_duplicate_set(sources, folder, 500, seed, args.crop)
        started = time.perf_counter()
        print("\n### dedup, %s set: %d images (%d originals, 500 of them with 4 copies)\n" %
              (name, len(family), len(sources)))
        # The command at its defaults: the groups and the time (the embeddings then come from the
        # cache: the first run below embeds the set).
        dedup_groups(args, folder, ["--hash-radius", "-1"])
        default_groups, default_seconds, default_line = dedup_groups(args, folder, [], timed=True)
        if not sweep:
            print(header)
            print(score_line("**simclr dedup, its defaults** (%.1f s: %s)" % (default_seconds, default_line.strip()),
                             *pair_scores(default_groups, family)))
        features = {t: dedup_groups(args, folder, ["--threshold", str(t), "--hash-radius", "-1"] + MATCH_OFF)
                    for t in THRESHOLDS} if sweep else {}
        hashes = {}
        for crops, positions in regions if sweep else ():
            for radius in HASH_RADII:
                hashes[(crops, positions, radius, None)] = dedup_groups(
                    args, folder, ["--threshold", "1", "--hash-radius", str(radius)] + region_options(crops, positions))
        if matches and sweep:
            for crops, positions in MATCH_REGIONS:
                for radius in MATCH_RADII:
                    for match in MATCH_THRESHOLDS:
                        hashes[(crops, positions, radius, match)] = dedup_groups(
                            args, folder, ["--threshold", "1", "--hash-radius", str(radius)] +
                            region_options(crops, positions, match))
        # With --match-threshold the features' pairs are checked too: their groups at each M.
        checked_features = {}
        if matches and sweep:
            for t in THRESHOLDS:
                if t >= 0.98:
                    for match in MATCH_THRESHOLDS:
                        checked_features[(t, match)] = dedup_groups(
                            args, folder, ["--threshold", str(t), "--hash-radius", "-1", "--match-threshold", str(match)])
        rows = []
        for t in THRESHOLDS if sweep else ():
            rows.append(((t, None, None, None, None), features[t]))
        for (crops, positions, radius, match), groups in hashes.items():
            rows.append(((None, radius, crops, positions, match), groups))
            for t in THRESHOLDS:
                if t >= 0.98:  # below, the features alone already join most of the set
                    joined = features[t] if match is None else checked_features[(t, match)]
                    rows.append(((t, radius, crops, positions, match), union_groups(joined, groups)))
        scored = [(setting, pair_scores(groups, family)) for setting, groups in rows]
        if sweep:
            print(header)
            print(score_line("**simclr dedup, its defaults** (%.1f s: %s)" % (default_seconds, default_line.strip()),
                             *pair_scores(default_groups, family)))
        for setting, score in scored:
            print(score_line(describe(*setting), *score))
        if chosen is None and name.startswith("calibration"):  # never chosen on another set
            # The highest recall with precision >= 0.95; of the settings within 0.005 of it, the one
            # with the highest precision (precision falls as a folder grows: false pairs grow with
            # the square of the images, true ones with the copies), then the fewest regions hashed
            # (the cheapest), then the highest recall.
            eligible = [(score[1], score[0], setting) for setting, score in scored if score[0] >= 0.95]
            if eligible:
                best = max(e[0] for e in eligible)
                close = [e for e in eligible if e[0] >= best - 0.005]
                chosen = min(close, key=lambda e: (-e[1], region_count(*e[2][1:4]), -e[0]))[2]
                print("\nchosen on this set (the highest recall with precision >= 0.95, %.3f; within 0.005 of it, "
                      "the highest precision, then the fewest regions hashed): %s" % (best, describe(*chosen)))
        if chosen is not None:
            t, radius, crops, positions, match = chosen
            options = ["--threshold", str(t if t is not None else 1), "--hash-radius",
                       str(radius if radius is not None else -1)] + region_options(crops, positions, match)
            groups, seconds, line = dedup_groups(args, folder, options, timed=True)
            print("\nthe command at the chosen setting (%s): %.1f s, %s" % (" ".join(options), seconds, line.strip()))
            print(header.split("\n")[0] + "\n" + header.split("\n")[1])
            print(score_line(describe(*chosen), *pair_scores(groups, family)))
        sys.stdout.flush()
        paths = sorted(family)
        values = [dhash(p) for p in paths]
        print("\n" + header)
        for radius in (0, 2, 4, 6, 8, 10):
            print(score_line("dHash (PIL, Lanczos 9x8) <= %d" % radius,
                             *pair_scores(dhash_groups(paths, values, radius), family)))
        print("\n(%.0f s for this set)" % (time.perf_counter() - started))
        sys.stdout.flush()


def embed_folder(args, folder, name):
    out = os.path.join(args.work, name + ".npy")
    if not os.path.exists(out):
        run([args.simclr, "embed", "--model", args.model, "--out", out, folder])
    rows = np.load(out)
    with open(out[:-4] + ".csv", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        column = header.index("source") if "source" in header else 0
        names = [row[column] for row in reader]
    return rows, names


def linear_eval(train_x, train_y, test_x, test_y):
    from sklearn.linear_model import LogisticRegression
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    model = LogisticRegression(max_iter=2000)
    model.fit((train_x - mean) / std, train_y)
    return float((model.predict((test_x - mean) / std) == test_y).mean())


def part_select(args):
    train_dir, test_dir = os.path.join(args.data, "train"), os.path.join(args.data, "test")
    train_x, train_names = embed_folder(args, train_dir, "train")
    test_x, test_names = embed_folder(args, test_dir, "test")
    label = lambda name: os.path.basename(os.path.dirname(name))
    classes = sorted({label(n) for n in train_names})
    train_y = np.array([classes.index(label(n)) for n in train_names])
    test_y = np.array([classes.index(label(n)) for n in test_names])
    row_of = {os.path.abspath(n): i for i, n in enumerate(train_names)}
    budgets = [len(train_names) // 100, len(train_names) // 50, len(train_names) // 20]
    subset = os.path.join(args.work, "subset.csv")
    _, seconds = run([args.simclr, "select", "--model", args.model, "--in", train_dir, "--n", str(max(budgets)),
                      "--out", subset, "--cache-dir", os.path.join(args.work, "cache"), "--quiet"])
    with open(subset, newline="") as f:
        chosen = [row_of[os.path.abspath(row["path"])] for row in csv.DictReader(f)]
    print("\n### select: linear evaluation on %d test images (select --n %d: %.0f s)\n" %
          (len(test_y), max(budgets), seconds))
    print("| budget | k-center | random (mean ± std of 5) | k-center classes present (min per class) |")
    print("|---|---|---|---|")
    for budget in budgets:
        rows = np.array(chosen[:budget])
        kcenter = linear_eval(train_x[rows], train_y[rows], test_x, test_y)
        randoms = []
        for seed in range(5):
            pick = np.random.default_rng(seed).choice(len(train_y), budget, replace=False)
            randoms.append(linear_eval(train_x[pick], train_y[pick], test_x, test_y))
        counts = np.bincount(train_y[rows], minlength=len(classes))
        print("| %d (%.0f %%) | %.2f %% | %.2f ± %.2f %% | %d (%d) |" % (
            budget, 100.0 * budget / len(train_y), 100 * kcenter, 100 * np.mean(randoms), 100 * np.std(randoms),
            int((counts > 0).sum()), int(counts.min())))
        sys.stdout.flush()


def numpy_top_k(queries, bank, k):
    indices = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), 1024):
        s = queries[start:start + 1024] @ bank.T
        part = np.argpartition(-s, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(s, part, 1), axis=1, kind="stable")
        indices[start:start + 1024] = np.take_along_axis(part, order, 1)
    return indices


def part_search(args):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    import simclr
    import faiss
    from sklearn.neighbors import NearestNeighbors
    count, k = args.search_rows, 10
    print("\n### search: %d x %d, top %d (faiss %s, %d threads)\n" % (count, count, k, faiss.__version__,
                                                                     faiss.omp_get_max_threads()))
    print("| D | method | seconds | GFLOP/s | same top-10 as NumPy |")
    print("|---|---|---|---|---|")
    for dim in (128, 512):
        rng = np.random.default_rng(dim)
        bank = rng.standard_normal((count, dim), dtype=np.float32)
        bank /= np.linalg.norm(bank, axis=1, keepdims=True)
        queries = rng.standard_normal((count, dim), dtype=np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        flops = 2.0 * count * count * dim
        results = {}
        started = time.perf_counter()
        results["NumPy (matmul + argpartition)"] = (numpy_top_k(queries, bank, k), time.perf_counter() - started)
        started = time.perf_counter()
        indices, _ = simclr.similar(queries, bank, k)
        results["simclr.similar (exact)"] = (indices, time.perf_counter() - started)
        started = time.perf_counter()
        index = faiss.IndexFlatIP(dim)
        index.add(bank)
        _, indices = index.search(queries, k)
        results["faiss IndexFlatIP (exact)"] = (indices, time.perf_counter() - started)
        started = time.perf_counter()
        nn = NearestNeighbors(n_neighbors=k, algorithm="brute", metric="cosine", n_jobs=-1).fit(bank)
        _, indices = nn.kneighbors(queries)
        results["scikit-learn NearestNeighbors (brute, cosine)"] = (indices, time.perf_counter() - started)
        truth = results["NumPy (matmul + argpartition)"][0]
        for name, (indices, seconds) in results.items():
            same = float((np.sort(indices, 1) == np.sort(truth, 1)).all(1).mean())
            print("| %d | %s | %.1f | %.0f | %.4f |" % (dim, name, seconds, flops / seconds / 1e9, same))
            sys.stdout.flush()


def similar_csv(args, bank, queries, index, extra=()):
    result, seconds = run([args.simclr, "similar", "--model", args.model, "--embeddings", bank, queries, "--top", "10",
                           "--format", "csv", "--index", index, "--quiet"] + list(extra))
    found = {}
    for row in csv.DictReader(result.stdout.splitlines()):
        found.setdefault(row["query"], []).append(row["path"])
    return found, seconds


def part_hnsw(args):
    """Recall@10 of similar --index hnsw against --index exact: the 10,000 CIFAR-10 test images
    against the 50,000 training images' embeddings; then faiss-cpu's HNSW with simclr's settings
    on the random 100k x 100k sets of part_search."""
    embed_folder(args, os.path.join(args.data, "train"), "train")
    bank = os.path.join(args.work, "train.npy")
    queries = os.path.join(args.data, "test")
    exact, exact_seconds = similar_csv(args, bank, queries, "exact")
    print("\n### similar --index hnsw: recall@10 against --index exact\n")
    print("| bank | queries | index | efSearch | seconds (whole command) | recall@10 |")
    print("|---|---|---|---|---|---|")
    print("| 50,000 CIFAR-10 train embeddings | 10,000 test images | exact | | %.1f | 1.0000 |" % exact_seconds)
    for ef in (16, 128, 512):
        approximate, seconds = similar_csv(args, bank, queries, "hnsw", ["--ef-search", str(ef)])
        hits = sum(len(set(approximate[q]) & set(exact[q])) for q in exact)
        print("| 50,000 CIFAR-10 train embeddings | 10,000 test images | HNSW | %d | %.1f | %.4f |" % (
            ef, seconds, hits / (10.0 * len(exact))))
        sys.stdout.flush()
    import faiss
    count = args.search_rows
    for dim in (128, 512):
        rng = np.random.default_rng(dim)
        bank_rows = rng.standard_normal((count, dim), dtype=np.float32)
        bank_rows /= np.linalg.norm(bank_rows, axis=1, keepdims=True)
        query_rows = rng.standard_normal((count, dim), dtype=np.float32)
        query_rows /= np.linalg.norm(query_rows, axis=1, keepdims=True)
        flat = faiss.IndexFlatIP(dim)
        flat.add(bank_rows)
        _, truth = flat.search(query_rows, 10)
        started = time.perf_counter()
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.add(bank_rows)
        built = time.perf_counter() - started
        for ef in (128, 512):
            index.hnsw.efSearch = ef
            started = time.perf_counter()
            _, found = index.search(query_rows, 10)
            seconds = time.perf_counter() - started
            recall = np.mean([len(set(a) & set(b)) / 10.0 for a, b in zip(found, truth)])
            print("| %d random unit vectors, D %d (faiss-cpu %s) | %d | HNSW | %d | %.1f build + %.1f search | %.4f |" % (
                count, dim, faiss.__version__, count, ef, built, seconds, recall))
            sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--simclr", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--parts", default="dedup,select,search,hnsw")
    parser.add_argument("--search-rows", type=int, default=100000)
    parser.add_argument("--crop", choices=("random", "central"), default="random",
                        help="where the 10 %% crops are cut (dedup)")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    for part in args.parts.split(","):
        {"dedup": part_dedup, "select": part_select, "search": part_search, "hnsw": part_hnsw}[part](args)


if __name__ == "__main__":
    main()
