"""Image loading rate, one mode per process: ``python image_loading.py MODE FOLDER CACHE``.

Modes: ``keras`` (``keras.utils.image_dataset_from_directory`` on TensorFlow, iterating every
batch: it decodes every time), ``neuralab_cold`` (decode into an empty cache), ``neuralab_cached``
(the second load: memory-mapped from the cache, every pixel read). Prints a JSON line with the
seconds, images per second and the CPU time of the process (all threads; imports excluded): on a
shared machine the CPU milliseconds per image show the work done, whatever share of the cores
the process got.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main(mode: str, folder: Path, cache: Path) -> None:
    if mode == "keras":
        import keras

        start, cpu = time.perf_counter(), time.process_time()
        dataset = keras.utils.image_dataset_from_directory(
            folder, image_size=(224, 224), batch_size=32, shuffle=False, verbose=False
        )
        n = 0
        for images, _ in dataset:
            n += int(images.shape[0])
    else:
        from neuralab.data.images import load_image_folder

        start, cpu = time.perf_counter(), time.process_time()
        splits = load_image_folder(folder, target_size=(224, 224), cache_dir=cache)
        pixels = np.asarray(splits.train.x)
        n = len(pixels)
        checksum = int(pixels[:, ::7, ::7].sum())  # touch the pages of every image
        assert checksum > 0
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu
    print(
        json.dumps(
            {
                "seconds": seconds,
                "images": n,
                "images_per_s": n / seconds,
                "cpu_seconds": cpu_seconds,
                "cpu_ms_per_image": 1000 * cpu_seconds / n,
                "cores": cpu_seconds / seconds,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
