"""Your own photos as a data set: any size and colour mode, brought to one size; bad files skipped and reported."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

import cifar_course as cc


def _photo(path, size=(60, 40), mode="RGB", color=(200, 30, 30)):
    """Save one image; ``size`` is (width, height) as Pillow counts."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "P":
        img = Image.new("RGB", size, color).convert("P", palette=Image.Palette.ADAPTIVE)
    elif mode == "CMYK":
        img = Image.new("CMYK", size, (0, 200, 200, 0))
    elif mode == "L":
        img = Image.new("L", size, 90)
    elif mode == "RGBA":
        img = Image.new("RGBA", size, (*color, 0))  # fully transparent: should land on white
    else:
        img = Image.new(mode, size, color)
    suffix = ".jpg" if mode == "CMYK" else ".png"
    img.save(path.with_suffix(suffix))
    return path.with_suffix(suffix)


@pytest.fixture
def photos(tmp_path):
    """train/test folders of two classes with every awkward kind of file."""
    root = tmp_path / "pets"
    kinds = [("RGB", (60, 40)), ("RGBA", (33, 90)), ("P", (128, 128)), ("L", (20, 20)), ("CMYK", (50, 50))]
    for split, n in (("train", 2), ("test", 1)):
        for cls, color in (("cat", (200, 30, 30)), ("dog", (30, 30, 200))):
            for i in range(n):
                for k, (mode, size) in enumerate(kinds):
                    _photo(root / split / cls / f"{i}_{k}", size, mode, color)
    (root / "train" / "cat" / "notes.txt").write_text("not an image")
    good = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(good, "JPEG")
    (root / "train" / "dog" / "cut.jpg").write_bytes(good.getvalue()[:300])  # truncated
    return root


def test_photos_of_any_size_and_mode_load_at_one_size(photos, capsys):
    ds = cc.load_dataset(str(photos), profile="full")
    assert ds.name == "pets" and ds.class_names == ["cat", "dog"]
    assert ds.x_train.shape == (20, 32, 32, 3) and ds.x_test.shape == (10, 32, 32, 3) and ds.x_train.dtype == np.uint8
    assert np.bincount(ds.y_train).tolist() == [10, 10] and np.bincount(ds.y_test).tolist() == [5, 5]
    out = capsys.readouterr().out
    assert "skipped 1 non-image file(s)" in out and "skipped 1 unreadable or truncated image(s): cut.jpg" in out
    assert "brought to 32x32 (crop)" in ds.source
    # colours survive the conversions: every cat image is reddish or grey/white, never blue
    cats = ds.x_train[ds.y_train == 0].reshape(10, -1, 3).mean(axis=1)
    assert (cats[:, 2] <= cats[:, 0] + 1).all()


def test_transparent_pixels_land_on_white_and_pad_keeps_the_whole_photo(tmp_path):
    for cls in ("a", "b"):
        for split in ("train", "test"):
            _photo(tmp_path / "t" / split / cls / "wide", (64, 16), "RGBA")
    crop = cc.load_dataset(str(tmp_path / "t"), profile="full")
    assert (crop.x_train == 255).all()  # transparent on white, cropped to fill the frame
    padded = cc.load_dataset(str(tmp_path / "t"), profile="full", fit="pad", image_size=(16, 16))
    assert padded.x_train.shape[1:] == (16, 16, 3)
    assert (padded.x_train[:, 0, 0] == 128).all() and (padded.x_train[:, 8, 8] == 255).all()  # grey border


def test_one_folder_per_class_is_split_stratified(tmp_path):
    for cls in ("apple", "pear", "plum"):
        for i in range(10):
            _photo(tmp_path / "fruit" / cls / f"{i}", (40 + i, 30))
    ds = cc.load_dataset(str(tmp_path / "fruit"), profile="full")
    assert len(ds.x_train) == 24 and len(ds.x_test) == 6
    assert np.bincount(ds.y_test).tolist() == [2, 2, 2]
    assert any("20% of each class set aside for testing" in n for n in ds.notes)


def test_second_load_comes_from_the_cache(photos):
    first = cc.load_dataset(str(photos), profile="full")
    again = cc.load_dataset(str(photos), profile="full")
    assert again.source.endswith("(cached)") and np.array_equal(first.x_train, again.x_train)
    assert any("unreadable" in n for n in again.notes)
    bigger = cc.load_dataset(str(photos), profile="full", image_size=(48, 48))
    assert bigger.x_train.shape[1:] == (48, 48, 3) and not bigger.source.endswith("(cached)")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda r: _photo(r / "only" / "x", (10, 10)), "one class .*at least two class folders"),
        (lambda r: ((r / "a").mkdir(parents=True), _photo(r / "b" / "x", (10, 10))), "holds no images"),
        (
            lambda r: (
                _photo(r / "train" / "a" / "x"),
                _photo(r / "train" / "b" / "x"),
                _photo(r / "test" / "a" / "x"),
            ),
            r"differ from test classes.*only on one side: \['b'\]",
        ),
        (lambda r: (_photo(r / "a" / "x"), _photo(r / "b" / "x")), "each class needs at least 2"),
        (
            lambda r: ((r / "a").mkdir(parents=True), (r / "a" / "x.png").write_text("text"), _photo(r / "b" / "x")),
            r"no readable images left in class\(es\) \['a'\]",
        ),
    ],
    ids=["single class", "empty class", "class missing from test", "one image", "only unreadable files"],
)
def test_bad_folders_get_a_clear_error(tmp_path, make, message):
    make(tmp_path / "mine")
    with pytest.raises(cc.DataError, match=message):
        cc.load_dataset(str(tmp_path / "mine"), profile="full")


def test_a_path_that_is_no_folder_and_bad_settings_are_config_errors(tmp_path):
    with pytest.raises(ValueError, match="or give the path of a folder of your own images"):
        cc.load_dataset(str(tmp_path / "nope"))
    for cls in ("a", "b"):
        for i in range(2):
            _photo(tmp_path / "ok" / cls / str(i))
    with pytest.raises(ValueError, match="fit must be one of crop, pad"):
        cc.load_dataset(str(tmp_path / "ok"), fit="stretch")
    with pytest.raises(ValueError, match="image_size must be"):
        cc.load_dataset(str(tmp_path / "ok"), image_size=(4, 4))
    with pytest.raises(ValueError, match="image_size is for folders of your own images"):
        cc.load_dataset("cifar10", image_size=(32, 32))


def test_load_image_takes_a_path_or_the_bytes_of_an_upload(tmp_path):
    path = _photo(tmp_path / "big", (640, 480), "RGB", (10, 200, 10))
    from_path = cc.data.load_image(path)
    from_bytes = cc.data.load_image(path.read_bytes(), image_size=(24, 24), fit="pad")
    assert from_path.shape == (32, 32, 3) and from_bytes.shape == (24, 24, 3)
    assert tuple(from_path[16, 16]) == (10, 200, 10)
    with pytest.raises(cc.DataError, match="is not a file"):
        cc.data.load_image(tmp_path / "missing.jpg")
    with pytest.raises(cc.DataError, match="not a readable image"):
        cc.data.load_image(b"not an image at all")


def test_cache_false_leaves_no_cache_file(photos, tmp_path):
    cc.load_dataset(str(photos), profile="full", cache=False)
    assert not list((tmp_path / "cache").glob("*.npz"))
    cc.load_dataset(str(photos), profile="full")
    assert len(list((tmp_path / "cache").glob("pets-*.npz"))) == 1


# --------------------------------------------------------------------------- issue 29: 16-bit images, bombs
def test_16_bit_grayscale_is_scaled_to_8_bits_not_clipped_to_white(tmp_path):
    ramp = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)  # black to white
    path = tmp_path / "ramp16.png"
    Image.fromarray(ramp).save(path)
    assert Image.open(path).mode in ("I;16", "I")
    want = np.round(ramp / 257)
    as_photo = cc.data.load_image(path, image_size=(64, 64))  # own photos: RGB
    assert as_photo.shape == (64, 64, 3) and abs(float(as_photo.mean()) - 127.5) < 1
    np.testing.assert_allclose(as_photo[..., 0], want, atol=1)
    as_is = cc.formats.decode_image(path)  # a data set's folder: one channel, as it is
    assert as_is.shape == (64, 64, 1)
    np.testing.assert_allclose(as_is[..., 0], want, atol=1)


def _png_header(path, width: int, height: int):
    """A PNG of a few dozen bytes whose header claims width x height pixels (the start of a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    return path


def test_decompression_bombs_are_skipped_and_counted_before_they_are_decoded(photos, capsys):
    bomb = photos / "train" / "cat" / "bomb.png"
    Image.new("1", (7500, 7500)).save(bomb)  # 56 megapixels in 7 KB, under Pillow's own limit
    assert bomb.stat().st_size < 20_000
    _png_header(photos / "train" / "dog" / "huge.png", 20_000, 20_000)  # over Pillow's limit: its own error
    ds = cc.load_dataset(str(photos), profile="full")
    assert ds.x_train.shape == (20, 32, 32, 3)  # the good photos, as without the bombs
    out = capsys.readouterr().out
    assert "skipped 1 unreadable or truncated image(s): cut.jpg" in out
    assert "skipped 2 image(s) over 50 megapixels, the most the course decodes: bomb.png, huge.png" in out
    with pytest.raises(cc.DataError, match=r"bomb.png is 7500x7500 pixels \(56 megapixels\), over the 50 megapixels"):
        cc.data.load_image(bomb)
    with pytest.raises(cc.DataError, match=r"huge.png is over the 50 megapixels the course decodes.*Shrink it"):
        cc.data.load_image(photos / "train" / "dog" / "huge.png")
    assert cc.formats.MAX_PIXELS == 50_000_000
