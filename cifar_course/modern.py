"""Lesson 07's training helpers: an augmenting tf.data pipeline, a warm-up + cosine schedule, flip TTA."""

from __future__ import annotations

import numpy as np


def flip_and_crop(images, pad: int = 4, seed: int | None = None):
    """Randomly flip a batch left-right and shift each image by up to ``pad`` pixels (reflect-pad, random crop)."""
    import tensorflow as tf

    images = tf.convert_to_tensor(images)
    n, h, w = tf.shape(images)[0], images.shape[1], images.shape[2]
    flip = tf.random.uniform([n, 1, 1, 1], seed=seed) < 0.5
    images = tf.where(flip, tf.reverse(images, axis=[2]), images)
    if pad == 0:
        return images
    padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
    dy = tf.random.uniform([n], 0, 2 * pad + 1, dtype=tf.int32, seed=None if seed is None else seed + 1)
    dx = tf.random.uniform([n], 0, 2 * pad + 1, dtype=tf.int32, seed=None if seed is None else seed + 2)
    rows = dy[:, None] + tf.range(h)[None, :]  # (n, h): which padded rows each image keeps
    cols = dx[:, None] + tf.range(w)[None, :]
    images = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(images, cols, axis=2, batch_dims=1)


def train_pipeline(x, y, batch_size: int, augment: bool = True, seed: int = 42):
    """A tf.data pipeline over uint8 images: shuffle each epoch, batch, augment (flip + crop), scale to [0, 1]."""
    import tensorflow as tf

    def prepare(images, labels):
        if augment:
            images = flip_and_crop(images)
        return tf.cast(images, tf.float32) / 255.0, labels

    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).map(prepare, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def warmup_cosine(peak_lr: float, total_steps: int, warmup_fraction: float = 0.2):
    """Keras's CosineDecay: linear warm-up from 0 to ``peak_lr``, then a cosine down to 0 at ``total_steps``."""
    import keras

    warmup = max(1, int(round(total_steps * warmup_fraction)))
    return keras.optimizers.schedules.CosineDecay(
        0.0, max(1, total_steps - warmup), alpha=0.0, warmup_target=peak_lr, warmup_steps=warmup
    )


def schedule_values(schedule, total_steps: int) -> np.ndarray:
    """The learning rate a schedule gives at every step 0..total_steps-1 (for plotting)."""
    return np.array([float(schedule(step)) for step in range(total_steps)])


def predict_with_flip(model, x, batch_size: int = 500) -> np.ndarray:
    """Test-time augmentation: the mean of the model's probabilities for the images and their mirror images."""
    from scipy.special import softmax

    def probs(images):
        out = np.asarray(model.predict(images, batch_size=batch_size, verbose=0), dtype=np.float64)
        return out if np.allclose(out.sum(axis=1), 1.0, atol=1e-3) and out.min() >= 0 else softmax(out, axis=1)

    return (probs(x) + probs(x[:, :, ::-1])) / 2
