"""Model files: checking and loading a .keras file under tomjerry's model contract (a fixed-size
square RGB input and exactly two sigmoid outputs, tom and jerry). A bad file is refused in one
line naming the likely cause, before Keras is even imported. This module takes a file path and
knows no run folder: a run folder's model.keras is tomjerry.runs.folder.RunFolder.model_file, and
tomjerry.inference.predict.load_model takes either."""

import zipfile
from pathlib import Path

from tomjerry.data.decoding import ASPECT_TOLERANCE, FRAME_ASPECT, one_line

LFS_POINTER = b"version https://git-lfs"
ZIP_MAGIC = b"PK\x03\x04"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
KERAS_ARCHIVE_FILES = ("config.json", "model.weights.h5")  # what keras.saving writes into every .keras
# A zip bomb (a small file that unpacks to gigabytes) is refused from its zip directory, before a byte
# is unpacked: Keras reads the weights into memory, so a 1.5 MB bomb peaked at 3.9 GB before failing.
# The largest model tomjerry builds, InceptionV3, is about 90 MB unpacked (the shipped Lite models 14
# and 17 MB); 1 GiB leaves ten times that. Python's zipfile never yields more than a member's
# declared size (it stops there and checks the CRC), so the declared sizes bound what is unpacked.
MAX_UNPACKED_BYTES = 2**30
# keras.saving stores its members uncompressed (ratio 1.0); float weights deflate by well under 2:1.
# A ratio past 20 is a run of zeros, not a model; small members (config.json compresses 10:1) are
# left alone below RATIO_FLOOR_BYTES.
MAX_RATIO = 20
RATIO_FLOOR_BYTES = 64 * 2**20


class UnreadableModelError(ValueError):
    """The model file cannot be loaded at all; the message names the likely cause in one line."""


class ModelContractError(ValueError):
    """The model loads but is not a tomjerry model: a fixed-size RGB input and exactly two sigmoid
    outputs (tom, jerry). The message names what is wrong in one line."""


def check_readable(path: Path) -> None:
    """UnreadableModelError when the file cannot be a Keras archive, found from its first bytes and
    its zip directory before Keras is asked (Keras's own messages for these are misleading: a Git LFS
    pointer is reported as "File not found")."""
    name = path.name
    if not path.is_file():
        raise UnreadableModelError(f"no model at {path}: pick a finished run or a .keras file")
    with open(path, "rb") as handle:
        head = handle.read(64)
    if not head:
        raise UnreadableModelError(f"{name} is empty (0 bytes): train the run again or copy the model again")
    if head.startswith(LFS_POINTER):
        raise UnreadableModelError(f"{name} is a Git LFS pointer, not the model: run `git lfs pull`")
    if head.startswith(HDF5_MAGIC):
        raise UnreadableModelError(
            f"{name} is a legacy HDF5 model, not a .keras archive: save it again with model.save('model.keras')"
        )
    if not head.startswith(ZIP_MAGIC):
        raise UnreadableModelError(f"{name} is not a Keras archive (a .keras file is a zip; this one is not)")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        # A zip is read from its end: a cut-off copy starts right but has no directory.
        raise UnreadableModelError(f"{name} is truncated (an incomplete zip): copy or download it again") from None
    check_unpacked_size(name, members)
    names = {member.filename for member in members}
    missing = [member for member in KERAS_ARCHIVE_FILES if member not in names]
    if missing:
        raise UnreadableModelError(f"{name} is a zip but not a Keras archive (no {', '.join(missing)} inside)")


def check_unpacked_size(name: str, members: list) -> None:
    """UnreadableModelError when a zip's members, as its directory declares them, would unpack to
    more than MAX_UNPACKED_BYTES, or to more than RATIO_FLOOR_BYTES at over MAX_RATIO times their
    compressed size (a zip bomb). Reads only the directory: nothing is unpacked."""
    unpacked = sum(member.file_size for member in members)
    packed = sum(member.compress_size for member in members)
    if unpacked > MAX_UNPACKED_BYTES:
        raise UnreadableModelError(
            f"{name} would unpack to {unpacked / 2**20:,.0f} MB, over the {MAX_UNPACKED_BYTES // 2**20:,} MB "
            "a model may take (the largest tomjerry builds is about 90 MB): refused before unpacking"
        )
    if unpacked > RATIO_FLOOR_BYTES and unpacked > MAX_RATIO * max(packed, 1):
        raise UnreadableModelError(
            f"{name} would unpack {packed / 2**20:,.1f} MB to {unpacked / 2**20:,.0f} MB ({unpacked / max(packed, 1):,.0f} "
            f"times; model weights barely compress): a zip bomb, not a model; refused before unpacking"
        )


def activation_name(layer) -> str:
    activation = getattr(layer, "activation", None)
    if activation is None:
        return f"a {type(layer).__name__} layer"
    return getattr(activation, "__name__", str(activation))


def symbolic(model, attribute: str) -> list:
    """A model's input or output tensors; none for a model that was never built (Keras raises)."""
    try:
        return list(getattr(model, attribute) or [])
    except (AttributeError, ValueError):
        return []


def check_contract(model, name: str = "model.keras") -> None:
    """ModelContractError unless the model takes one fixed-size RGB input (None, H, W, 3), square or
    16:9 (within 5 %), and
    gives one output tensor (None, 2) from a sigmoid: tomjerry reads column 0 as tom, 1 as jerry."""
    inputs, outputs = symbolic(model, "inputs"), symbolic(model, "outputs")
    if len(inputs) != 1:
        raise ModelContractError(f"{name} has {len(inputs)} inputs; tomjerry needs one RGB image input")
    shape = tuple(inputs[0].shape)
    if len(shape) != 4 or shape[3] != 3 or shape[1] is None or shape[2] is None:
        raise ModelContractError(
            f"{name} takes input of shape {shape}; tomjerry needs a fixed-size RGB image (None, H, W, 3)"
        )
    if shape[1] != shape[2] and abs(shape[2] / shape[1] / FRAME_ASPECT - 1) > ASPECT_TOLERANCE:
        raise ModelContractError(
            f"{name} takes {shape[2]}x{shape[1]} input; tomjerry feeds square or 16:9 frames (W = H or W = 16/9 H)"
        )
    if len(outputs) != 1:
        raise ModelContractError(
            f"{name} has {len(outputs)} output heads; tomjerry needs one output of 2 sigmoid units (tom, jerry)"
        )
    units = tuple(outputs[0].shape)
    history = getattr(outputs[0], "_keras_history", None)
    layer = history.operation if history is not None else model.layers[-1]
    activation = activation_name(layer)
    if len(units) != 2 or units[1] != 2 or activation != "sigmoid":
        count = f"{units[1]} output{'' if units[1] == 1 else 's'}" if len(units) == 2 else f"an output of shape {units}"
        raise ModelContractError(f"{name} has {count} with {activation}; tomjerry needs 2 sigmoid outputs (tom, jerry)")


def load_model(path):
    """A .keras file, loaded with Keras safe_mode (no arbitrary code) and checked against the model
    contract (see check_contract). Raises UnreadableModelError when the file is missing (a folder
    included), a Git LFS pointer, truncated, not a Keras archive or refused by safe mode, and
    ModelContractError when the model is not a tomjerry model; both are ValueErrors with a one-line
    message."""
    path = Path(path)
    check_readable(path)  # before importing Keras: a bad file is refused in milliseconds, not seconds
    # No import of tomjerry.models.builders: every registered model is made of Keras's own layers
    # (no custom objects), and each loads in a process that never imported tomjerry.
    import keras

    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # noqa: BLE001
        # Keras raises ValueError, TypeError, KeyError, OSError... from deep inside deserialisation;
        # whichever it is, this file cannot be used, and the first sentence says why.
        first = one_line(str(error)).split(". ")[0]
        if "safe_mode" in str(error):
            raise UnreadableModelError(
                one_line(f"{path.name} is refused by Keras safe mode, as it holds Python code: {first}")
            ) from None
        raise UnreadableModelError(
            one_line(f"{path.name} cannot be loaded by Keras ({type(error).__name__}: {first})")
        ) from None
    check_contract(model, path.name)
    return model
