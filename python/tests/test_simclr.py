"""The Python package against the C API (examples/embed_image.c through libsimclr.so): the same
embeddings to 1e-6 and the same predictions, pixels equal to files, shapes, threads, errors."""
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import simclr
from conftest import REPO, SIDE, run_example


def test_embedding_equals_the_c_api(checkpoint, images):
    paths = images["pngs"][:2] + [images["jpeg"]]
    model = simclr.load(checkpoint)
    embeddings = model.embed(paths)
    assert embeddings.shape == (3, model.feature_dim) and embeddings.dtype == np.float32
    reference = run_example(checkpoint, paths)
    expected = np.stack([embedding for _, _, embedding in reference])
    np.testing.assert_allclose(embeddings, expected, rtol=0, atol=1e-6)
    assert np.abs(embeddings).sum() > 0
    prediction = model.predict(paths)
    for i, (name, probability, _) in enumerate(reference):
        assert model.class_names[prediction.classes[i]] == name
        assert abs(prediction.probabilities[i, prediction.classes[i]] - probability) <= 5e-5


def test_pixels_equal_files(checkpoint, images):
    model = simclr.load(checkpoint)
    for i, path in enumerate(images["pngs"]):
        source = (i + 0) % 4  # test/circle/<i>.png holds pixels[i]
        from_pixels = model.embed(images["pixels"][source:source + 1])
        from_file = model.embed(path)
        np.testing.assert_array_equal(from_pixels, from_file)


def test_metadata_and_prediction(checkpoint, images):
    with simclr.load(checkpoint) as model:
        assert model.input_shape == (SIDE, SIDE, 3)
        assert model.feature_dim == 16
        assert model.class_names == ["circle", "square"]
        assert model.num_classes == 2
        classes, probabilities = model.predict(images["pixels"])
        assert classes.shape == (4,) and classes.dtype == np.int64
        assert probabilities.shape == (4, 2) and probabilities.dtype == np.float32
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)
        np.testing.assert_array_equal(classes, probabilities.argmax(axis=1))
        assert "feature_dim=16" in repr(model)
    assert simclr.library_version().count(".") == 2


def test_grey_and_other_sizes_are_fitted(checkpoint):
    model = simclr.load(checkpoint)
    grey = np.arange(2 * 30 * 20, dtype=np.uint32).astype(np.uint8).reshape(2, 30, 20)
    as_rgb = np.repeat(grey[..., np.newaxis], 3, axis=3)
    np.testing.assert_array_equal(model.embed(grey), model.embed(as_rgb))
    assert model.embed(grey).shape == (2, 16)
    strided = np.ascontiguousarray(as_rgb[:, :, ::-1])[:, :, ::-1]  # non-contiguous view
    np.testing.assert_array_equal(model.embed(strided), model.embed(as_rgb))


def test_threads_share_a_model(checkpoint, images):
    model = simclr.load(checkpoint)
    batch = np.concatenate([images["pixels"]] * 10)  # 40 images: two forward passes
    alone = model.embed(batch)
    results = [None] * 4

    def work(slot):
        for _ in range(3):
            results[slot] = model.embed(batch)

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        np.testing.assert_array_equal(result, alone)


def test_close_while_embedding(checkpoint, images):
    """Issue 24: close() from another thread waits for the running calls; later ones raise."""
    batch = np.concatenate([images["pixels"]] * 10)
    for _ in range(5):
        model = simclr.load(checkpoint)
        alone = model.embed(batch)
        outcomes = []

        def work():
            try:
                for _ in range(20):
                    np.testing.assert_array_equal(model.embed(batch), alone)
                outcomes.append("done")
            except ValueError as error:
                assert "closed" in str(error)
                outcomes.append("closed")

        threads = [threading.Thread(target=work) for _ in range(3)]
        for thread in threads:
            thread.start()
        model.close()
        for thread in threads:
            thread.join()
        assert len(outcomes) == 3
        with pytest.raises(ValueError, match="closed"):
            model.embed(batch)
        model.close()  # twice is fine
        del model  # and __del__ after close


def test_errors(checkpoint, images, tmp_path):
    model = simclr.load(checkpoint)
    with pytest.raises(TypeError, match="uint8"):
        model.embed(images["pixels"].astype(np.float32))
    with pytest.raises(ValueError, match="C 1 or 3"):
        model.embed(np.zeros((1, 8, 8, 4), dtype=np.uint8))
    missing = str(tmp_path / "nowhere.png")
    with pytest.raises(simclr.SimclrInputError, match="nowhere.png"):
        model.embed([images["pngs"][0], missing])
    with pytest.raises(simclr.SimclrInputError, match="nowhere.safetensors"):
        simclr.load(tmp_path / "nowhere.safetensors")
    not_a_model = tmp_path / "model.safetensors"
    not_a_model.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    with pytest.raises(simclr.SimclrInputError):
        simclr.load(not_a_model)
    model.close()
    with pytest.raises(ValueError, match="closed"):
        model.embed(images["pngs"])
    model.close()  # twice is fine


def test_library_lookup_names_what_was_tried(tmp_path):
    env = dict(os.environ, SIMCLR_LIBRARY=str(tmp_path / "libnothing.so"))
    code = "import simclr\ntry:\n    simclr.library_version()\nexcept OSError as e:\n    print(e)\n"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=os.path.join(REPO, "python"), check=True).stdout
    assert "libnothing.so ($SIMCLR_LIBRARY)" in out
    assert "SIMCLR_PREFIX" in out


def _numpy_neighbours(queries, bank, k):
    """Cosine similarities by NumPy, best first, ties by the lower row."""
    q = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-30)
    b = bank / np.maximum(np.linalg.norm(bank, axis=1, keepdims=True), 1e-30)
    similarities = q.astype(np.float64) @ b.astype(np.float64).T
    order = np.lexsort((np.broadcast_to(np.arange(bank.shape[0]), similarities.shape), -similarities), axis=1)
    return order[:, :k], np.take_along_axis(similarities, order[:, :k], axis=1)


def test_similar_equals_numpy():
    """Issue 26: the library's exact search against NumPy, over more than one block of the bank."""
    rng = np.random.default_rng(3)
    queries = rng.normal(size=(7, 24)).astype(np.float32)
    bank = rng.normal(size=(5000, 24)).astype(np.float32)
    bank[1234] = 3 * queries[2]  # the same direction: similarity 1
    neighbours = simclr.similar(queries, bank, k=6)
    assert neighbours.indices.shape == (7, 6) and neighbours.indices.dtype == np.int64
    assert neighbours.similarities.shape == (7, 6) and neighbours.similarities.dtype == np.float32
    indices, similarities = _numpy_neighbours(queries, bank, 6)
    np.testing.assert_array_equal(neighbours.indices, indices)
    np.testing.assert_allclose(neighbours.similarities, similarities, atol=1e-5)
    assert neighbours.indices[2, 0] == 1234 and abs(neighbours.similarities[2, 0] - 1) < 1e-6


def test_model_similar_finds_each_image_itself(checkpoint, images):
    model = simclr.load(checkpoint)
    bank = images["pngs"] + [images["jpeg"]]
    neighbours = model.similar(bank[:2], bank, k=3)
    np.testing.assert_array_equal(neighbours.indices[:, 0], [0, 1])
    np.testing.assert_allclose(neighbours.similarities[:, 0], 1.0, atol=1e-6)
    # Files, pixels and embeddings already computed give the same neighbours.
    embeddings = model.embed(bank)
    from_embeddings = model.similar(embeddings[:2], embeddings, k=3)
    np.testing.assert_array_equal(from_embeddings.indices, neighbours.indices)
    np.testing.assert_allclose(from_embeddings.similarities, neighbours.similarities, atol=1e-6)
    indices, _ = _numpy_neighbours(embeddings[:2], embeddings, 3)
    np.testing.assert_array_equal(neighbours.indices, indices)
    with pytest.raises(simclr.SimclrInputError, match="k 6 is larger than the bank's 5 rows"):
        model.similar(bank[:1], bank, k=6)
    with pytest.raises(ValueError, match=r"embeddings must have shape \(N, 16\)"):
        model.similar(np.zeros((1, 3), dtype=np.float32), bank)


def _numpy_k_center(rows, k, labeled=None):
    """Greedy k-center as written down, in float64."""
    x = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    nearest = np.full(len(x), -np.inf)
    if labeled is not None:
        centers = labeled / np.linalg.norm(labeled, axis=1, keepdims=True)
        nearest = (x @ centers.T).max(axis=1)
    chosen, radii = [], []
    for step in range(k):
        if step == 0 and labeled is None:
            mean = x.mean(axis=0)
            pick = int(np.argmax(x @ mean))
        else:
            candidates = np.where(np.isin(np.arange(len(x)), chosen), np.inf, nearest)
            pick = int(np.argmin(candidates))
        chosen.append(pick)
        nearest = np.maximum(nearest, x @ x[pick])
        nearest[pick] = max(nearest[pick], 1.0)
        radii.append(1 - nearest.min())
    return np.array(chosen), np.array(radii)


def test_select_equals_the_plain_greedy():
    rng = np.random.default_rng(4)
    rows = rng.normal(size=(400, 12)).astype(np.float32)
    selected, radii = simclr.select(rows, 20, return_radii=True)
    assert selected.dtype == np.int64 and selected.shape == (20,) and radii.dtype == np.float32
    expected, expected_radii = _numpy_k_center(rows.astype(np.float64), 20)
    np.testing.assert_array_equal(selected, expected)
    np.testing.assert_allclose(radii, expected_radii, atol=1e-5)
    assert len(set(selected.tolist())) == 20 and np.all(np.diff(radii) <= 1e-7)
    labeled = rng.normal(size=(3, 12)).astype(np.float32)
    from_labeled = simclr.select(rows, 5, labeled=labeled)
    np.testing.assert_array_equal(from_labeled, _numpy_k_center(rows.astype(np.float64), 5, labeled)[0])
    everything = simclr.select(np.ones((6, 4), dtype=np.float32), 6)  # identical rows: each once
    assert sorted(everything.tolist()) == list(range(6))
    with pytest.raises(simclr.SimclrInputError, match="401 images asked for, expected 1..400"):
        simclr.select(rows, 401)
    with pytest.raises(ValueError, match="labeled rows have 4 features but the embeddings 12"):
        simclr.select(rows, 2, labeled=np.ones((1, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="not finite"):
        simclr.select(np.full((2, 2), np.nan, dtype=np.float32), 1)
