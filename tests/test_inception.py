"""InceptionV3 transfer learning with a weights file a user placed: checked by its md5 before
Keras sees it (Keras's own check re-downloads and, offline, deletes it), clear messages, and one
real epoch on the demo data from a locally made weights file."""

import hashlib

import h5py
import pytest

import tomjerry.models.builders as models
from tomjerry.config import RunConfig
from tomjerry.lab.execute import execute_run
from tomjerry.models.specs import WeightsUnavailableError
from tomjerry.runs.lifecycle import create_run


def test_a_file_with_the_wrong_hash_is_named_and_left_untouched(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    placed = tmp_path / "models" / models.INCEPTION_WEIGHTS_FILE
    placed.parent.mkdir()
    placed.write_bytes(b"not the weights")
    with pytest.raises(WeightsUnavailableError, match="md5") as raised:
        models.build_model("inceptionv3", 75)
    assert str(placed) in str(raised.value) and models.INCEPTION_WEIGHTS_MD5 in str(raised.value)
    assert placed.read_bytes() == b"not the weights"


def test_offline_without_a_file_says_so_and_names_keras_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))

    def offline(*args, **kwargs):
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(models.keras.utils, "get_file", offline)
    with pytest.raises(WeightsUnavailableError, match="could not be downloaded") as raised:
        models.build_model("inceptionv3", 75)
    assert str(tmp_path / "kh" / "models") in str(raised.value) and "no network" in str(raised.value)


@pytest.mark.slow
def test_one_epoch_from_a_locally_made_weights_file(demo_root, tmp_path, monkeypatch):
    from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    weights = tmp_path / "kh" / "models" / models.INCEPTION_WEIGHTS_FILE
    weights.parent.mkdir(parents=True)
    base = models.keras.applications.InceptionV3(include_top=False, weights=None, input_shape=(75, 75, 3))
    with h5py.File(weights, "w") as handle:  # the legacy layout Keras's own file has
        save_weights_to_hdf5_group(handle, base)
    # The hash check bypassed in this test only: the file is ours, not Google's.
    monkeypatch.setattr(models, "INCEPTION_WEIGHTS_MD5", hashlib.md5(weights.read_bytes()).hexdigest())
    config = RunConfig(model="inceptionv3", image_size=75, epochs=1, batch_size=32, patience=0)
    result = execute_run(create_run(config, tmp_path / "artifacts", demo_root), demo_root)
    assert result["test"]["count"] > 0 and 0 <= result["test"]["exact_match_accuracy"] <= 1
    assert weights.is_file()
