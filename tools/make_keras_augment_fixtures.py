#!/usr/bin/env python3
"""Writes the Keras reference fixtures for tests/test_augment.c.

Run with the Python that has keras 3 and tensorflow-cpu (the seed's backend):

    KERAS_BACKEND=tensorflow python3 tools/make_keras_augment_fixtures.py

For two small images whose rows != cols and whose pixel values make orientation mistakes
visible, and for a fixed list of transforms, it runs the seed's own pipeline

    Rescaling(1/255) -> RandomFlip("horizontal") -> RandomTranslation -> RandomZoom
    -> RandomColorAffine

with the random draws replaced by the given parameters: every Keras layer is called through
`layer.transform_images(images, transformation=..., training=True)`, with the transformation
dict laid out exactly as the layer's own `get_random_transformation` returns it
("flips", "translations" = [[dx, dy]] in pixels, "height_zoom"/"width_zoom"). The colour step
is the example's RandomColorAffine arithmetic, `clip(images @ M, 0, 1)`, with a given M.

Outputs (little-endian, into tests/fixtures/):
    augment_<image>_input.u8           HWC uint8 input image
    augment_<image>_<case>.f32         HWC float32 Keras output
    augment_cases.json                 the parameter list, for people; the C test hard-codes
                                       the same list (keep AUGMENT_CASES there in step)
"""
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers, ops  # noqa: E402

if keras.backend.backend() != "tensorflow":
    sys.exit("use KERAS_BACKEND=tensorflow: the torch backend maps 'reflect' to 'mirror'")

FIXTURE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")

# (name, height, width, channels). Rows != cols so a transposed axis cannot pass.
IMAGES = [("rgb7x9", 7, 9, 3), ("gray6x5", 6, 5, 1)]

# Mirrored in tests/test_augment.c (AUGMENT_CASES): name, flip, dy, dx (pixels), zy, zx, and the
# colour matrix as (brightness scale, jitter 3x3) -> M = scale * I + J, cut to C x C.
IDENTITY_J = [[0.0] * 3 for _ in range(3)]
CASES = [
    ("flip", 1, 0.0, 0.0, 1.0, 1.0, 1.0, IDENTITY_J),
    ("shift_int", 0, 2.0, -3.0, 1.0, 1.0, 1.0, IDENTITY_J),
    ("shift_frac", 0, -1.75, 2.4, 1.0, 1.0, 1.0, IDENTITY_J),
    ("shift_far", 0, -5.5, 7.9, 1.0, 1.0, 1.0, IDENTITY_J),
    ("zoom", 0, 0.0, 0.0, 0.6, 0.83, 1.0, IDENTITY_J),
    ("color", 0, 0.0, 0.0, 1.0, 1.0, 1.45,
     [[0.12, -0.18, 0.05], [-0.07, 0.19, -0.2], [0.15, 0.02, -0.11]]),
    ("all", 1, 1.3, -2.2, 0.71, 0.55, 0.62,
     [[0.17, 0.09, -0.04], [-0.13, 0.01, 0.2], [0.06, -0.19, 0.14]]),
]


def make_image(height, width, channels):
    """Distinct, irregular values: a mirrored, shifted or transposed image cannot match."""
    y, x, c = np.meshgrid(np.arange(height), np.arange(width), np.arange(channels), indexing="ij")
    return ((37 * y + 11 * x * x + 71 * c + 5 * x * y + 3) % 256).astype(np.uint8)


def keras_pipeline(image_u8, flip, dy, dx, zy, zx, scale, jitter):
    height, width, channels = image_u8.shape
    images = ops.convert_to_tensor(image_u8[None].astype(np.float32))
    shape = ops.shape(images)

    images = layers.Rescaling(1 / 255)(images)

    flip_layer = layers.RandomFlip("horizontal")
    images = flip_layer.transform_images(
        images,
        transformation={"flips": ops.convert_to_tensor(np.array([[[[bool(flip)]]]])),
                        "input_shape": shape},
        training=True)

    translate_layer = layers.RandomTranslation(0.5, 0.5)  # factors unused: transform is given
    images = translate_layer.transform_images(
        images,
        transformation={"translations": ops.convert_to_tensor(np.array([[dx, dy]], np.float32)),
                        "input_shape": shape},
        training=True)

    zoom_layer = layers.RandomZoom((-0.5, 0.0), (-0.5, 0.0))
    images = zoom_layer.transform_images(
        images,
        transformation={"height_zoom": ops.convert_to_tensor(np.array([[zy]], np.float32)),
                        "width_zoom": ops.convert_to_tensor(np.array([[zx]], np.float32)),
                        "input_shape": shape},
        training=True)

    # The example's RandomColorAffine.call with its random draws replaced.
    matrix = (scale * np.eye(3) + np.array(jitter))[:channels, :channels].astype(np.float32)
    images = ops.clip(ops.matmul(images, ops.convert_to_tensor(matrix[None, None])), 0, 1)
    return ops.convert_to_numpy(images)[0].astype("<f4")


def main():
    os.makedirs(FIXTURE_DIR, exist_ok=True)
    for name, height, width, channels in IMAGES:
        image = make_image(height, width, channels)
        image.tofile(os.path.join(FIXTURE_DIR, f"augment_{name}_input.u8"))
        for case in CASES:
            output = keras_pipeline(image, *case[1:])
            output.tofile(os.path.join(FIXTURE_DIR, f"augment_{name}_{case[0]}.f32"))
    listing = {
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "images": [dict(zip(("name", "height", "width", "channels"), i)) for i in IMAGES],
        "cases": [dict(zip(("name", "flip", "dy", "dx", "zoom_y", "zoom_x", "color_scale",
                            "color_jitter"), c)) for c in CASES],
        "color_matrix": "M = color_scale * I + color_jitter, top-left C x C; out = clip(in @ M)",
    }
    with open(os.path.join(FIXTURE_DIR, "augment_cases.json"), "w") as file:
        json.dump(listing, file, indent=1)
        file.write("\n")


if __name__ == "__main__":
    main()
