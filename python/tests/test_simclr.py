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
