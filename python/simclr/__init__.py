"""simclr: embeddings and predictions from checkpoints of the simclr command line.

    import simclr
    model = simclr.load("runs/fmnist/finetune.safetensors")
    features = model.embed(["shoe.jpg"])          # (1, model.feature_dim) float32
    classes, probabilities = model.predict(images) # images: uint8 (N, H, W, C) or file paths
    neighbours = model.similar(["query.jpg"], photo_paths, k=5)  # indices, similarities (1, 5)
    subset = simclr.select(model.embed(photo_paths), 100)         # (100,) rows, k-center

Images are prepared as in training and `simclr predict`: converted to the model's channel count,
resized bilinearly to its input size, scaled to [0, 1]. Calls on one model from several threads
are serialised by the library (the GIL is released while it computes).
"""
import collections
import ctypes
import os
import threading

import numpy as np

from ._library import SimclrError, SimclrInputError, _Error, library

__all__ = ["load", "Model", "Prediction", "Neighbours", "similar", "select", "SimclrError", "SimclrInputError",
           "library_version"]
__version__ = "0.1.0"

Prediction = collections.namedtuple("Prediction", ["classes", "probabilities"])
Prediction.__doc__ = """classes: (N,) int64, the most probable class of each image;
probabilities: (N, num_classes) float32, the softmax over the classes."""

Neighbours = collections.namedtuple("Neighbours", ["indices", "similarities"])
Neighbours.__doc__ = """indices: (Q, k) int64, the rows of the bank most similar to each query, best first
(ties: the lower row); similarities: (Q, k) float32, their cosine similarities."""


def library_version():
    """The version of the libsimclr that was loaded."""
    return library().simclr_version().decode()


def load(path):
    """Opens a checkpoint (baseline, finetune or pretrain's .safetensors) as a Model."""
    return Model(path)


def _as_paths(images):
    if isinstance(images, (str, bytes, os.PathLike)):
        images = [images]
    paths = [os.fsencode(p) for p in images]
    array = (ctypes.c_char_p * max(len(paths), 1))(*paths)
    return paths, array


def _as_pixels(images):
    if images.dtype != np.uint8:
        raise TypeError("images must be uint8 (N, H, W, C) pixels in 0..255, got dtype %s"
                        % images.dtype)
    if images.ndim == 3:  # (N, H, W): grey
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.shape[3] not in (1, 3):
        raise ValueError("images must have shape (N, H, W, C) with C 1 or 3 (or (N, H, W) grey), "
                         "got %s" % (images.shape,))
    return np.ascontiguousarray(images)


def _normalised_rows(features, name):
    """float32 C-ordered (N, D) rows scaled to unit length (an all-zero row stays zero)."""
    rows = np.array(features, dtype=np.float32, copy=True, order="C")
    if rows.ndim != 2 or rows.shape[0] < 1 or rows.shape[1] < 1:
        raise ValueError("%s must be float (N, D) embeddings with N, D >= 1, got shape %s" % (name, rows.shape,))
    if not np.isfinite(rows).all():
        raise ValueError("%s holds values that are not finite numbers" % name)
    norms = np.linalg.norm(rows.astype(np.float64), axis=1, keepdims=True)
    np.divide(rows, norms, out=rows, where=norms > 0)
    return rows


def _floats(array):
    return array.ctypes.data_as(ctypes.POINTER(ctypes.c_float))


def similar(queries, bank, k=5):
    """Neighbours(indices (Q, k) int64, similarities (Q, k) float32): for each row of queries
    (Q, D), the k rows of bank (N, D) with the highest cosine similarity, best first. The search is
    exact (libsimclr: blocked matrix products, a heap per query); rows are L2-normalised here."""
    queries = _normalised_rows(queries, "queries")
    bank = _normalised_rows(bank, "bank")
    if queries.shape[1] != bank.shape[1]:
        raise ValueError("queries have %d features but the bank's rows %d" % (queries.shape[1], bank.shape[1]))
    k = int(k)
    indices = np.empty((queries.shape[0], max(k, 0)), dtype=np.int64)
    similarities = np.empty((queries.shape[0], max(k, 0)), dtype=np.float32)
    error = _Error()
    if library().simclr_similarity_top_k(
            _floats(queries), queries.shape[0], _floats(bank), bank.shape[0], queries.shape[1], k,
            indices.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)), _floats(similarities),
            ctypes.byref(error)) != 0:
        error.raise_it()
    return Neighbours(indices, similarities)


def select(embeddings, k, labeled=None, return_radii=False):
    """A diverse subset of k rows of embeddings (N, D) by greedy k-center (farthest point first)
    on cosine similarity: (k,) int64 row indices in the order chosen. The selection starts from
    the rows of `labeled` (M, D) when given (already labeled images, not among the N), else from
    the row most similar to the mean direction. With return_radii, also (k,) float32: the coverage
    radius after each row is added (1 - the lowest similarity of any row to its nearest center)."""
    rows = _normalised_rows(embeddings, "embeddings")
    if labeled is not None:
        labeled = _normalised_rows(labeled, "labeled")
        if labeled.shape[1] != rows.shape[1]:
            raise ValueError("labeled rows have %d features but the embeddings %d" % (labeled.shape[1], rows.shape[1]))
    k = int(k)
    if k < 0:
        raise ValueError("k must be at least 1, got %d" % k)
    selected = np.empty(k, dtype=np.int64)
    radii = np.empty(k, dtype=np.float32)
    error = _Error()
    if library().simclr_select_k_center(
            _floats(rows), rows.shape[0], rows.shape[1], _floats(labeled) if labeled is not None else None,
            0 if labeled is None else labeled.shape[0], k, selected.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)),
            _floats(radii), ctypes.byref(error)) != 0:
        error.raise_it()
    return (selected, radii) if return_radii else selected


class Model:
    """A trained simclr model; close() (or a `with` block) frees it early."""

    def __init__(self, path):
        self._lib = library()
        # Held by every call into the library and by close(): close() from another thread (or
        # __del__) waits for a running embed/predict, and a call after it raises ValueError.
        self._lock = threading.Lock()
        self._handle = ctypes.c_void_p()
        error = _Error()
        if self._lib.simclr_trained_model_open(os.fsencode(path), ctypes.byref(self._handle),
                                               ctypes.byref(error)) != 0:
            error.raise_it()
        self.path = os.fspath(path)
        height, width, channels = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
        self._lib.simclr_trained_model_input_shape(self._handle, ctypes.byref(height),
                                                   ctypes.byref(width), ctypes.byref(channels))
        self.input_shape = (height.value, width.value, channels.value)
        self.feature_dim = self._lib.simclr_trained_model_feature_dim(self._handle)
        count = self._lib.simclr_trained_model_class_count(self._handle)
        self.class_names = [self._lib.simclr_trained_model_class_name(self._handle, k).decode()
                            for k in range(count)]

    @property
    def num_classes(self):
        return len(self.class_names)

    def _live_handle(self):
        if not self._handle:
            raise ValueError("the model is closed")
        return self._handle

    def _call(self, function, *args):
        """function(handle, *args) under the model's lock; ValueError once closed."""
        with self._lock:
            return function(self._live_handle(), *args)

    def embed(self, images):
        """Embeddings (N, feature_dim) float32 of uint8 (N, H, W, C) pixels or of image files
        (a path, or a list of paths)."""
        error = _Error()
        if isinstance(images, np.ndarray):
            pixels = _as_pixels(images)
            out = np.empty((pixels.shape[0], self.feature_dim), dtype=np.float32)
            status = self._call(
                self._lib.simclr_trained_model_embed_pixels,
                pixels.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)), pixels.shape[0],
                pixels.shape[1], pixels.shape[2], pixels.shape[3],
                out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), ctypes.byref(error))
        else:
            paths, array = _as_paths(images)
            out = np.empty((len(paths), self.feature_dim), dtype=np.float32)
            status = self._call(
                self._lib.simclr_trained_model_embed_files, array, len(paths),
                out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), ctypes.byref(error))
        if status != 0:
            error.raise_it()
        return out

    def predict(self, images):
        """Prediction(classes (N,) int64, probabilities (N, num_classes) float32) of uint8
        pixels or image files, as embed() takes them."""
        error = _Error()
        if isinstance(images, np.ndarray):
            pixels = _as_pixels(images)
            count = pixels.shape[0]
        else:
            paths, array = _as_paths(images)
            count = len(paths)
        classes = np.empty(count, dtype=np.intc)
        probabilities = np.empty((count, self.num_classes), dtype=np.float32)
        classes_p = classes.ctypes.data_as(ctypes.POINTER(ctypes.c_int))
        probabilities_p = probabilities.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        if isinstance(images, np.ndarray):
            status = self._call(
                self._lib.simclr_trained_model_classify_pixels,
                pixels.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)), count,
                pixels.shape[1], pixels.shape[2], pixels.shape[3], classes_p, probabilities_p,
                ctypes.byref(error))
        else:
            status = self._call(
                self._lib.simclr_trained_model_classify_files, array, count, classes_p,
                probabilities_p, ctypes.byref(error))
        if status != 0:
            error.raise_it()
        return Prediction(classes.astype(np.int64), probabilities)

    def _embeddings(self, images, name):
        """float embeddings (N, feature_dim) as they are; anything else through embed()."""
        if isinstance(images, np.ndarray) and images.dtype.kind == "f":
            if images.ndim != 2 or images.shape[1] != self.feature_dim:
                raise ValueError("%s: embeddings must have shape (N, %d) for this model, got %s"
                                 % (name, self.feature_dim, images.shape))
            return images
        return self.embed(images)

    def similar(self, queries, bank, k=5):
        """Neighbours(indices (Q, k) int64, similarities (Q, k) float32): the k images of bank most
        similar to each query by cosine similarity of this model's features, best first. queries
        and bank: image files or uint8 pixels (as embed() takes them) or float (N, feature_dim)
        embeddings already computed."""
        return similar(self._embeddings(queries, "queries"), self._embeddings(bank, "bank"), k)

    def close(self):
        """Frees the model; waits for a call running in another thread. Calls after it raise
        ValueError."""
        lock = getattr(self, "_lock", None)
        if lock is None:  # __init__ failed before the lock
            return
        with lock:
            if self._handle:
                self._lib.simclr_trained_model_close(self._handle)
                self._handle = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def __repr__(self):
        return "simclr.Model(%r, input_shape=%s, feature_dim=%d, classes=%d)" % (
            self.path, self.input_shape, self.feature_dim, self.num_classes)
