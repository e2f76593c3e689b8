"""Lesson 07's training helpers: augmenting pipeline, mixing (CutMix, MixUp), schedules, LR range test, patch
whitening, TTA, airbench's optimizer and weight averaging."""

from __future__ import annotations

import keras
import numpy as np


def flip_and_crop(images, pad: int = 4, seed=None, flip=None):
    """Randomly flip a batch left-right and shift each image by up to ``pad`` pixels (reflect-pad, random crop).

    ``seed``: an integer or two for TensorFlow's stateless random ops (the same seed, the same batch), or None.
    ``flip``: one boolean per image, which images to mirror, instead of flipping a coin for each. (lesson 07 §6)
    """
    import tensorflow as tf

    images = tf.convert_to_tensor(images)
    n, h, w = tf.shape(images)[0], images.shape[1], images.shape[2]
    if seed is None:
        seed = tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int32)
    elif isinstance(seed, int):
        seed = [seed, 0]
    flip_seed, dy_seed, dx_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
    flip = tf.random.stateless_uniform([n], flip_seed) < 0.5 if flip is None else tf.convert_to_tensor(flip)
    images = tf.where(flip[:, None, None, None], tf.reverse(images, axis=[2]), images)
    if pad == 0:
        return images
    padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
    dy = tf.random.stateless_uniform([n], dy_seed, 0, 2 * pad + 1, dtype=tf.int32)
    dx = tf.random.stateless_uniform([n], dx_seed, 0, 2 * pad + 1, dtype=tf.int32)
    rows = dy[:, None] + tf.range(h)[None, :]  # (n, h): which padded rows each image keeps
    cols = dx[:, None] + tf.range(w)[None, :]
    images = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(images, cols, axis=2, batch_dims=1)


def train_pipeline(
    x, y, batch_size: int, augment: bool = True, seed: int | None = None, pad: int = 4, alternate_flips: bool = False
):
    """A tf.data pipeline over uint8 images: shuffle each epoch, batch, augment (flip + shift), scale to [0, 1].

    Reproducible: the shuffle and every batch's augmentation follow ``seed`` (None: the lesson's, ``cc.setup``'s), and
    differ from epoch to epoch.
    ``alternate_flips=True``: airbench's flips. The first epoch mirrors a random half of the images, and every later
    epoch mirrors exactly the images the epoch before did not, so each pair of epochs shows every image both ways.
    (lesson 07 §4)
    """
    import tensorflow as tf

    from .profiles import current_seed

    seed = current_seed() if seed is None else seed  # the lesson's seed (42 unless $CIFAR_COURSE_SEED says otherwise)

    def prepare(batch, batch_seed, odd_epoch):
        images, labels, mirrored_first = batch
        if augment:
            flip = tf.math.logical_xor(mirrored_first, odd_epoch) if alternate_flips else None
            images = flip_and_crop(images, pad=pad, seed=batch_seed, flip=flip)
        return tf.cast(images, tf.float32) / 255.0, labels

    mirrored_first = np.random.default_rng(seed).random(len(x)) < 0.5  # the first epoch's flips (alternate_flips)
    ds = tf.data.Dataset.from_tensor_slices((x, y, mirrored_first))
    ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)  # two per batch
    batches = tf.data.Dataset.zip((ds.batch(batch_size), seeds))
    epochs_begun = tf.Variable(0, dtype=tf.int64, trainable=False)  # the pipeline counts its passes (epochs)

    def one_epoch(_):
        odd_epoch = epochs_begun.assign_add(1) % 2 == 0  # 1 after the first epoch's addition: even
        return batches.map(lambda batch, batch_seed: prepare(batch, batch_seed, odd_epoch), tf.data.AUTOTUNE)

    n_batches = int(np.ceil(len(x) / batch_size))  # flat_map hides the count, which Keras needs
    epoch = tf.data.Dataset.range(1).flat_map(one_epoch).apply(tf.data.experimental.assert_cardinality(n_batches))
    return epoch.prefetch(tf.data.AUTOTUNE)


def mixing_layer(kind: str, seed: int | None = None):
    """Keras's ``CutMix`` (factor 1.0) or ``MixUp`` (alpha 0.2), with lesson 07's settings, in float32 (under mixed
    bfloat16 Keras's own fail) (used by the tools)."""
    if kind == "cutmix":
        return keras.layers.CutMix(factor=1.0, seed=seed, dtype="float32")
    if kind == "mixup":
        return keras.layers.MixUp(alpha=0.2, seed=seed, dtype="float32")
    raise ValueError(f"mixing: {kind!r} is neither 'cutmix' nor 'mixup'.")


def mix_batches(batches, mixer):
    """Batches of (images, one-hot labels) through Keras's ``CutMix`` or ``MixUp`` layer: each image mixed with
    another of its batch, the labels in the same proportions (lesson 07 §13)."""
    import tensorflow as tf

    def mix(images, labels):
        mixed = mixer({"images": images, "labels": labels}, training=True)
        return mixed["images"], mixed["labels"]

    return batches.map(mix, num_parallel_calls=tf.data.AUTOTUNE)


def warmup_cosine(peak_lr: float, total_steps: int, warmup_fraction: float = 0.2):
    """Keras's CosineDecay: linear warm-up from 0 to ``peak_lr``, then a cosine down to 0 at ``total_steps`` (lesson
    07 §7)."""
    warmup = max(1, int(round(total_steps * warmup_fraction)))
    return keras.optimizers.schedules.CosineDecay(
        0.0, max(1, total_steps - warmup), alpha=0.0, warmup_target=peak_lr, warmup_steps=warmup
    )


def compile_final(model, peak_lr: float, total_steps: int, weight_decay: float = 0.05, label_smoothing: float = 0.2):
    """Lesson 07's recipe for its wide networks: AdamW (decoupled weight decay) on a warm-up + cosine schedule to
    ``peak_lr``, cross-entropy with label smoothing; compiles ``model`` and returns it (lesson 08 §8)."""
    model.compile(
        optimizer=keras.optimizers.AdamW(
            learning_rate=warmup_cosine(peak_lr, total_steps, warmup_fraction=0.2), weight_decay=weight_decay
        ),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
        metrics=["accuracy"],
    )
    return model


def compile_airbench(
    model,
    peak_lr: float,
    total_steps: int,
    bias_scale: float = 64.0,
    triangular: bool = True,
    momentum: float = 0.85,
    weight_decay: float = 0.0089,
    label_smoothing: float = 0.2,
):
    """airbench's recipe in Keras: SGD with Nesterov momentum, batch normalization's shifts learning ``bias_scale``
    times faster (``BiasScaledSGD``), airbench's ``Triangular`` schedule to ``peak_lr`` (``triangular=False``: a
    warm-up over 23% of the steps + cosine to 0), decoupled weight decay, cross-entropy with label smoothing;
    compiles ``model`` and returns it.

    airbench (for batch 1024) uses a peak of 1.5 on the mean loss and a decay of 0.002 per step that PyTorch passes
    through the momentum, which multiplies it by 1/(1 - 0.85); Keras applies ``weight_decay`` x learning rate
    directly, so 0.002 / 0.15 / 1.5 = 0.0089 is the same decay. The shifts' decay is not scaled, as in airbench
    (lesson 08 §10)."""
    schedule = Triangular(peak_lr, total_steps) if triangular else warmup_cosine(peak_lr, total_steps, 0.23)
    model.compile(
        optimizer=BiasScaledSGD(
            bias_scale=bias_scale,
            learning_rate=schedule,
            momentum=momentum,
            nesterov=True,
            weight_decay=weight_decay,
        ),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
        metrics=["accuracy"],
    )
    return model


FINAL_EPOCHS = 8  # the final model's epochs in the full profile (lesson 08 §11)
FINAL_BATCH_SIZE = 512  # its batch in the full profile (lesson 08 §11)


def airbench_peak_lr(batch_size: int) -> float:
    """airbench's peak learning rate for a batch size: 1.5 per 1,024 images, scaled linearly (lesson 08 §10)."""
    return 1.5 * batch_size / 1024


def final_recipe(
    x_train, y_train, whitening, epochs: int, batch_size: int, peak_lr: float | None = None, widths=(64, 256, 256)
):
    """Lesson 07's step 13: a fresh ``cc.models.airbench_cnn`` compiled with airbench's recipe over ``epochs`` epochs
    (``compile_airbench``; peak ``peak_lr``, by default airbench's 1.5 per 1,024 images in a batch), its training
    pipeline (shifts of up to 2 pixels, alternating flips) and its callbacks (``Lookahead``): (model, batches,
    callbacks) for ``model.fit(batches, epochs=epochs, callbacks=callbacks)``. ``widths``: the three blocks' channels
    (narrower trains faster and less well; benchmarks/lesson07_budget.py) (lesson 08 §11)."""
    from .models import airbench_cnn

    steps = epochs * int(np.ceil(len(x_train) / batch_size))
    peak_lr = airbench_peak_lr(batch_size) if peak_lr is None else peak_lr
    model = compile_airbench(airbench_cnn(whitening, y_train.shape[1], widths=widths), peak_lr, steps)
    batches = train_pipeline(x_train, y_train, batch_size, pad=2, alternate_flips=True)
    return model, batches, [Lookahead(steps)]


@keras.saving.register_keras_serializable(package="cifar_course")
class Triangular(keras.optimizers.schedules.LearningRateSchedule):
    """airbench's schedule: a straight line from ``start`` x ``peak_lr`` up to ``peak_lr`` over the first
    ``warmup_fraction`` of the steps, then a straight line down to ``end`` x ``peak_lr`` at the last step (lesson 08
    §10)."""

    def __init__(self, peak_lr, total_steps, warmup_fraction=0.23, start=0.2, end=0.07):
        self.peak_lr, self.total_steps, self.warmup_fraction = peak_lr, total_steps, warmup_fraction
        self.start, self.end = start, end

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        warmup = max(1, int(self.total_steps * self.warmup_fraction))
        up = self.start + (1 - self.start) * step / warmup
        down = 1 - (1 - self.end) * (step - warmup) / max(1, self.total_steps - warmup)
        return self.peak_lr * keras.ops.where(step < warmup, up, down)

    def get_config(self):
        return dict(vars(self))


@keras.saving.register_keras_serializable(package="cifar_course")
class BiasScaledSGD(keras.optimizers.SGD):
    """Keras's SGD with a learning rate ``bias_scale`` times larger for batch normalization's shifts (β) (lesson 08
    §10)."""

    def __init__(self, bias_scale: float = 64.0, **kwargs):
        super().__init__(**kwargs)
        self.bias_scale = bias_scale

    def build(self, variables):
        super().build(variables)
        self._shifts = {self._get_variable_index(v) for v in variables if v.path.endswith("/beta")}

    def update_step(self, gradient, variable, learning_rate):
        if self._get_variable_index(variable) in self._shifts:
            learning_rate = learning_rate * self.bias_scale
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "bias_scale": self.bias_scale}


class Lookahead(keras.callbacks.Callback):
    """airbench's weight averaging: every ``every`` steps, move an average of all weights (batch normalization's
    statistics too) towards the weights and restart training from the average. The average follows the weights
    fully at first and ever more slowly (momentum ``decay`` x (step / total_steps)³), and the model ends on it
    (lesson 08 §10)."""

    def __init__(self, total_steps: int, every: int = 5, decay: float = 0.95**5):
        super().__init__()
        self.total_steps, self.every, self.decay = total_steps, every, decay

    def on_train_begin(self, logs=None):
        self.average = self.model.get_weights()

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations)
        if step % self.every == 0 or step == self.total_steps:  # the last step too: the model ends on the average
            momentum = self.decay * min(1.0, step / self.total_steps) ** 3
            weights = self.model.get_weights()
            self.average = [a + (1 - momentum) * (w - a) for a, w in zip(self.average, weights)]
            self.model.set_weights(self.average)


def schedule_values(schedule, total_steps: int) -> np.ndarray:
    """The learning rate a schedule gives at every step 0..total_steps-1 (for plotting) (lesson 07 §7)."""
    return np.array([float(schedule(step)) for step in range(total_steps)])


def predict_with_flip(model, x, batch_size: int = 500) -> np.ndarray:
    """Test-time augmentation: the mean of the model's probabilities for the images and their mirror images (lesson
    07 §9)."""
    return predict_tta(model, x, flip=True, translate=0, batch_size=batch_size)


def _shift(images, dy: int, dx: int):
    """Images moved by (dy, dx) pixels, the uncovered border filled by mirroring (for test-time augmentation)."""
    pad = max(abs(dy), abs(dx))
    padded = np.pad(images, [(0, 0), (pad, pad), (pad, pad), (0, 0)], mode="reflect")
    h, w = images.shape[1:3]
    return padded[:, pad - dy : pad - dy + h, pad - dx : pad - dx + w]


def predict_tta(
    model, x, flip: bool = True, translate: int = 0, batch_size: int = 500, per_view: bool = False
) -> np.ndarray:
    """Test-time augmentation: the mean probabilities over the image, its mirror image (``flip``) and, with
    ``translate=1``, both moved one pixel up-left and down-right (6 views in all). ``per_view=True`` returns every
    view's probabilities instead, shape (views, images, classes), the image as it is first (lesson 07 §9)."""
    from tqdm.auto import tqdm

    from .arrays import as_probabilities

    def probs(images):
        return as_probabilities(model.predict(images, batch_size=batch_size, verbose=0))

    views = [x] + [_shift(x, d, d) for d in (-translate, translate) if translate]
    views += [v[:, :, ::-1] for v in views] if flip else []
    bar = tqdm(views, desc="test-time augmentation", unit="view", leave=False, disable=len(views) < 2)
    by_view = np.stack([probs(v) for v in bar])
    return by_view if per_view else by_view.mean(axis=0)


def patch_whitening(images, eps: float = 5e-4, sample: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    """Kernel and bias of a frozen 2x2 convolution that whitens image patches (PCA of all 2x2x3 patches).

    Each of the 12 principal directions, strongest first, becomes two filters (+ and -), scaled by
    1/sqrt(eigenvalue + eps), so the channels are uncorrelated with unit variance (less for the weakest directions,
    which ``eps`` damps); the bias subtracts the mean patch. Uses the first ``sample`` images (uint8 or in [0, 1]).
    (lesson 08 §9)
    """
    images = np.asarray(images)[:sample]
    x = images.astype(np.float32) / 255.0 if images.dtype == np.uint8 else images.astype(np.float32)
    patches = np.lib.stride_tricks.sliding_window_view(x, (2, 2), axis=(1, 2))  # (n, 31, 31, 3, 2, 2)
    patches = patches.transpose(0, 1, 2, 4, 5, 3).reshape(-1, 12)  # as a Conv2D kernel (2, 2, 3) reads them
    mean = patches.mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(patches - mean, rowvar=False))
    eigenvalues, eigenvectors = eigenvalues[::-1], eigenvectors[:, ::-1]  # eigh sorts them weakest first
    filters = eigenvectors / np.sqrt(eigenvalues + eps)  # (12, 12), one filter per column
    filters = np.concatenate([filters, -filters], axis=1)  # (12, 24)
    return filters.reshape(2, 2, 3, 24).astype(np.float32), (-mean @ filters).astype(np.float32)


def lr_range_test(model, batches, start: float = 1e-5, stop: float = 1.0, steps: int = 100):
    """fastai's lr_find: train ``steps`` batches raising the learning rate from ``start`` to ``stop`` (geometric),
    stop early when the loss explodes; returns (learning rates, losses). The model's weights are changed: use a
    fresh model, compiled with a constant learning rate (lesson 07 §7)."""
    from tqdm.auto import tqdm

    lrs = start * (stop / start) ** (np.arange(steps) / max(1, steps - 1))
    tried, losses = [], []
    batch_iter = iter(batches.repeat())
    for lr in tqdm(lrs, desc="range test", unit="step", leave=False):
        model.optimizer.learning_rate.assign(float(lr))
        images, labels = next(batch_iter)
        loss = float(np.atleast_1d(model.train_on_batch(images, labels))[0])
        tried.append(lr)
        losses.append(loss)
        if not np.isfinite(loss) or loss > 4 * min(losses):
            break
    return np.array(tried), np.array(losses)


def smooth_losses(losses, beta: float = 0.8) -> np.ndarray:
    """The losses smoothed by an exponential moving average (bias-corrected, as fastai does), to read past the noise
    (lesson 07 §7)."""
    smooth, avg = [], 0.0
    for i, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * loss
        smooth.append(avg / (1 - beta ** (i + 1)))
    return np.array(smooth)


def suggest_lr(lrs, losses, beta: float = 0.8) -> float:
    """A tenth of the learning rate at the lowest smoothed loss (``smooth_losses``) (lesson 07 §7)."""
    return float(lrs[int(np.nanargmin(smooth_losses(losses, beta)))] / 10)
