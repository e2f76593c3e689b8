"""The plain-Keras code the lessons show beside the course's helpers: an image folder read by Keras (lesson 01 §13),
`layers.Rescaling` instead of `cc.scale_pixels` (lesson 02 §16), AdamW and a warm-up + cosine schedule (lesson 04 §7).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

import cifar_course as cc

CLASSES = ["cat", "dog", "frog"]


def write_image_folder(root, images, labels, class_names):
    """train/<class>/<n>.png as lesson 01 §13 writes it, the file names in the order of ``images``."""
    for n, (image, label) in enumerate(zip(images, labels)):
        class_folder = root / class_names[label]
        class_folder.mkdir(parents=True, exist_ok=True)
        keras.utils.save_img(class_folder / f"{n:04d}.png", image, scale=False)


@pytest.fixture
def small_images():
    """12 random uint8 images, 4 per class, sorted by class as lesson 01 §13 picks them."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8), np.repeat(np.arange(3), 4)


def test_image_folder_read_by_keras_gives_back_the_arrays(tmp_path, small_images):
    images, labels = small_images
    write_image_folder(tmp_path / "train", images, labels, CLASSES)
    dataset = keras.utils.image_dataset_from_directory(
        tmp_path / "train", image_size=(32, 32), batch_size=5, label_mode="int", shuffle=False, class_names=CLASSES
    )
    read = [(x.numpy(), y.numpy()) for x, y in dataset]
    assert [len(x) for x, _ in read] == [5, 5, 2]
    assert np.array_equal(np.concatenate([x for x, _ in read]), images.astype("float32"))
    assert np.array_equal(np.concatenate([y for _, y in read]), labels)


def test_class_names_fix_the_label_order(tmp_path, small_images):
    images, labels = small_images
    write_image_folder(tmp_path / "train", images, labels, CLASSES)
    reverse = CLASSES[::-1]
    dataset = keras.utils.image_dataset_from_directory(
        tmp_path / "train", image_size=(32, 32), batch_size=12, shuffle=False, class_names=reverse
    )
    x, y = next(iter(dataset))
    assert [reverse[k] for k in y.numpy()] == [CLASSES[k] for k in np.sort(labels)[::-1]]
    assert np.array_equal(x.numpy()[:4], images[labels == 2].astype("float32"))  # frog is label 0 now, read first


def test_save_img_stretches_the_pixels_unless_scale_is_false(tmp_path):
    dim = np.full((32, 32, 3), 100, dtype=np.uint8)
    dim[0, 0] = 50
    keras.utils.save_img(tmp_path / "default.png", dim)
    keras.utils.save_img(tmp_path / "kept.png", dim, scale=False)
    stretched = keras.utils.img_to_array(keras.utils.load_img(tmp_path / "default.png"))
    kept = keras.utils.img_to_array(keras.utils.load_img(tmp_path / "kept.png"))
    assert (stretched.min(), stretched.max()) == (0, 255)  # what lesson 01 §13 says scale=False avoids
    assert np.array_equal(kept, dim.astype("float32"))


def test_validation_split_both_splits_the_files(tmp_path, small_images):
    images, labels = small_images
    write_image_folder(tmp_path / "train", images, labels, CLASSES)
    train, val = keras.utils.image_dataset_from_directory(
        tmp_path / "train", image_size=(32, 32), batch_size=32, validation_split=0.25, subset="both", seed=42
    )
    n_train, n_val = (sum(len(y) for _, y in ds) for ds in (train, val))
    assert (n_train, n_val) == (9, 3)


def test_rescaling_model_predicts_what_the_model_predicts_on_scaled_pixels():
    cc.set_seeds(0)
    model = cc.models.r1()
    raw_pixel_model = keras.Sequential([keras.Input(shape=(32, 32, 3)), layers.Rescaling(1 / 255), model])
    x = np.random.default_rng(1).integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    from_raw = raw_pixel_model.predict(x, verbose=0)
    from_scaled = model.predict(cc.scale_pixels(x), verbose=0)
    assert np.allclose(from_raw, from_scaled, atol=1e-5)
    assert raw_pixel_model.count_params() == model.count_params()  # Rescaling has no weights
    twice = raw_pixel_model.predict(cc.scale_pixels(x), verbose=0)  # scaled, then rescaled: silently wrong
    assert not np.allclose(twice, from_scaled, atol=1e-3)


def test_cosine_schedule_reaches_the_peak_at_warmup_end_and_zero_at_the_end():
    total, warmup, peak = 846, 84, 0.001  # lesson 04 §7 in quick: 3 epochs of 282 batches, a tenth warming up
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0, warmup_target=peak, warmup_steps=warmup, decay_steps=total - warmup, alpha=0.0
    )

    def rate(step):
        return float(schedule(step))

    assert rate(0) == 0.0
    assert rate(warmup // 2) == pytest.approx(peak / 2)  # a straight line up
    assert rate(warmup) == pytest.approx(peak)
    assert rate(warmup + (total - warmup) // 2) == pytest.approx(peak / 2, rel=1e-3)  # half a cosine: half-way down
    assert rate(total) == pytest.approx(0.0, abs=1e-12)
    assert rate(total - 1) > 0.0


def test_adamw_shrinks_a_weight_by_learning_rate_times_decay_and_l2_through_adam_does_not():
    def after_one_step(optimizer, gradient):
        w = keras.Variable(1.0)
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(gradient, "float32"), w)])
        return float(keras.ops.convert_to_numpy(w))

    for decay in (0.5, 0.01):
        assert after_one_step(keras.optimizers.AdamW(0.1, weight_decay=decay), 0.0) == pytest.approx(1 - 0.1 * decay)
        assert after_one_step(keras.optimizers.Adam(0.1), decay) == pytest.approx(0.9, abs=1e-4)  # ~lr, any decay
