#!/usr/bin/env python3
"""Loads a ResNet checkpoint of simclr into torchvision.models.resnet18/34/50.

    /usr/bin/python3 tools/resnet_to_torchvision.py CHECKPOINT [IMAGE...]

builds the torchvision model the checkpoint's metadata names (model.backbone, model.stem), loads
the encoder's tensors (strict: every torchvision tensor but num_batches_tracked must be there),
puts the linear probe or classifier in `fc`, and prints for each IMAGE (a file simclr can read:
32x32 PNG/JPEG for a CIFAR-stem model) the class probabilities as `simclr predict --top K` prints
them, so tests/cli_resnet.sh can compare the two. The loading itself is the few lines of
docs/ARCHITECTURE.md ("Loading a ResNet into torchvision"); `load_file` below stands in for
safetensors.torch.load_file, which Debian does not package.
"""
import json
import struct
import sys

import numpy as np
import torch
import torchvision


def load_file(path):
    """safetensors.torch.load_file for F32 tensors, plus the metadata."""
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    metadata = header.pop("__metadata__", {})
    body = data[8 + length:]
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        values = np.frombuffer(body[begin:end], dtype="<f4").reshape(info["shape"])
        tensors[name] = torch.from_numpy(values.copy())
    return tensors, metadata


def torchvision_model(path):
    state, metadata = load_file(path)
    # --- the lines of docs/ARCHITECTURE.md ---
    model = getattr(torchvision.models, metadata["model.backbone"])()
    if metadata["model.stem"] == "cifar":
        model.conv1 = torch.nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        model.maxpool = torch.nn.Identity()
    weights = {name[len("encoder."):]: (t.permute(3, 2, 0, 1) if t.dim() == 4 else t)
               for name, t in state.items() if name.startswith("encoder.")}
    head = metadata["classifier"]  # "linear_probe" or "classifier": Dense kernels are (in, out)
    model.fc = torch.nn.Linear(*state[f"{head}.dense_1.kernel"].shape)
    weights["fc.weight"] = state[f"{head}.dense_1.kernel"].T
    weights["fc.bias"] = state[f"{head}.dense_1.bias"]
    missing, unexpected = model.load_state_dict(weights, strict=False)
    # --- end ---
    assert not unexpected, unexpected
    assert all(name.endswith("num_batches_tracked") for name in missing), missing
    return model.eval(), metadata


def read_image(path):
    """RGB bytes as simclr reads them (no resize: give images of the model's size)."""
    from PIL import Image
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / np.float32(255.0)


def main():
    model, metadata = torchvision_model(sys.argv[1])
    names = metadata["class_names"].split("\n")
    for path in sys.argv[2:]:
        x = torch.from_numpy(read_image(path)).permute(2, 0, 1).unsqueeze(0)
        with torch.no_grad():
            probabilities = torch.softmax(model(x), dim=1)[0].numpy()
        order = np.argsort(-probabilities, kind="stable")
        print(f"{path}: " + ", ".join(f"{names[i]} {probabilities[i]:.4f}" for i in order))


if __name__ == "__main__":
    main()
