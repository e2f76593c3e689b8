"""TensorFlow's CNN tutorial (tensorflow.org/tutorials/images/cnn) runs unchanged after ``cc.load_dataset``.

The tutorial starts with ``keras.datasets.cifar10.load_data()``; a student who writes ``cc.load_dataset("cifar10")``
instead must be able to run its next cells as they are: the same Keras calls on the same shapes, here on a small
CIFAR-10 archive the test writes (the smoke profile, no network, no real data).
"""

from __future__ import annotations

import numpy as np
import pytest

import cifar_course as cc
from conftest import CIFAR10_NAMES, cifar10_files, write_tar_gz


@pytest.mark.filterwarnings("ignore:Do not pass an `input_shape`")  # Keras 3 on the tutorial's input_shape=
@pytest.mark.filterwarnings("ignore:.*non-interactive.*")  # plt.show() on the Agg backend
def test_the_tensorflow_cnn_tutorial_runs_after_load_dataset(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import tensorflow as tf
    from tensorflow.keras import layers, models

    # 300 training and 60 test images in the official archive's layout, found where the course looks
    write_tar_gz(tmp_path / "d" / "cifar10" / "cifar-10-python.tar.gz", "cifar-10-batches-py", cifar10_files(60))
    tf.keras.utils.set_random_seed(0)

    # The tutorial's loading line, with the course's loader in place of datasets.cifar10.load_data()
    (train_images, train_labels), (test_images, test_labels) = cc.load_dataset("cifar10", tmp_path / "d")
    assert train_images.shape == (300, 32, 32, 3) and train_labels.shape == (300, 1)
    assert test_images.shape == (60, 32, 32, 3) and test_labels.shape == (60, 1)

    # Pixels to [0, 1], as the tutorial does it
    train_images, test_images = train_images / 255.0, test_images / 255.0

    # The first 25 training images, titled with their class names: labels are indexed as train_labels[i][0]
    class_names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    assert class_names == CIFAR10_NAMES
    plt.figure(figsize=(10, 10))
    for i in range(25):
        plt.subplot(5, 5, i + 1)
        plt.xticks([])
        plt.yticks([])
        plt.grid(False)
        plt.imshow(train_images[i])
        plt.xlabel(class_names[train_labels[i][0]])
    titles = [ax.get_xlabel() for ax in plt.gcf().axes]
    plt.show()
    plt.close("all")
    assert len(titles) == 25 and set(titles) <= set(class_names)

    # The convolutional base, then the dense head on top
    model = models.Sequential()
    model.add(layers.Conv2D(32, (3, 3), activation="relu", input_shape=(32, 32, 3)))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(layers.Flatten())
    model.add(layers.Dense(64, activation="relu"))
    model.add(layers.Dense(10))
    model.summary()
    assert model.layers[4].output.shape == (None, 4, 4, 64)  # the base's last output, as the tutorial shows
    assert model.count_params() == 122_570  # the tutorial's total

    model.compile(
        optimizer="adam",
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    # The tutorial trains for 10 epochs on 50,000 images; 2 epochs on 300 keep this test fast
    history = model.fit(train_images, train_labels, epochs=2, validation_data=(test_images, test_labels))
    assert len(history.history["accuracy"]) == len(history.history["val_accuracy"]) == 2

    test_loss, test_acc = model.evaluate(test_images, test_labels, verbose=2)
    assert np.isfinite(test_loss) and 0.0 <= test_acc <= 1.0
