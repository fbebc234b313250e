"""Reading a PyTorch `.pth` state dict without installing torch, safely.

The file is a pickle, and unpickling runs whatever code the file names. This reader names every
global it will build and refuses all others, so a malicious file raises `UnsafeWeightsError`
instead of running code. It reads both of torch's formats: the legacy one (a sequence of pickles
followed by raw storages) and the zip one (data.pkl plus one file per storage).
"""

import io
import pickle
import struct
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class UnsafeWeightsError(ValueError):
    """The weights file names code that a state dict never needs."""


class StorageType:
    def __init__(self, name):
        self.dtype = np.dtype(STORAGE_DTYPES[name])


class StorageRef:
    def __init__(self, key, dtype, numel):
        self.key, self.dtype, self.numel = key, dtype, numel


class LazyTensor:
    """Where a tensor's values live; filled in once the storages are read."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def materialise(self, buffers: dict) -> np.ndarray:
        flat = buffers[self.storage.key]
        item = flat.itemsize
        if not self.size:
            return flat[self.offset].copy()
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset :], shape=self.size, strides=tuple(s * item for s in self.stride)
        )
        return np.array(view)


def rebuild_tensor(storage, storage_offset, size, stride, *unused):
    return LazyTensor(storage, storage_offset, size, stride)


ALLOWED = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): rebuild_tensor,
}


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in ALLOWED:
            return ALLOWED[(module, name)]
        if module == "torch" and name in STORAGE_DTYPES:
            return StorageType(name)
        raise UnsafeWeightsError(
            f"refusing to load {module}.{name} from a weights file: only tensors and dicts are allowed"
        )

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, numel[, view_metadata])
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise UnsafeWeightsError(f"unexpected persistent id in weights file: {pid!r}")
        storage_type, key, numel = pid[1], str(pid[2]), pid[4]
        if isinstance(storage_type, StorageType):
            dtype = storage_type.dtype
        else:
            raise UnsafeWeightsError("weights file uses an unknown storage type")
        return StorageRef(key, dtype, numel)


def restricted_load(stream):
    return RestrictedUnpickler(stream).load()


def read_legacy(stream) -> tuple[dict, dict]:
    magic = restricted_load(stream)
    if magic != LEGACY_MAGIC:
        raise ValueError("not a PyTorch weights file (bad magic number)")
    restricted_load(stream)  # protocol version
    restricted_load(stream)  # sys info (endianness, type sizes)
    state = restricted_load(stream)
    keys = restricted_load(stream)
    refs: dict[str, StorageRef] = {}
    collect_refs(state, refs)
    buffers = {}
    for key in keys:
        (numel,) = struct.unpack("<q", stream.read(8))
        dtype = refs[str(key)].dtype if str(key) in refs else np.dtype(np.float32)
        buffers[str(key)] = np.frombuffer(stream.read(numel * dtype.itemsize), dtype=dtype)
    return state, buffers


def read_zip(path) -> tuple[dict, dict]:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickle_name = next(n for n in names if n.endswith("data.pkl"))
        prefix = pickle_name[: -len("data.pkl")]
        state = restricted_load(io.BytesIO(archive.read(pickle_name)))
        refs: dict[str, StorageRef] = {}
        collect_refs(state, refs)
        buffers = {
            key: np.frombuffer(archive.read(f"{prefix}data/{key}"), dtype=ref.dtype) for key, ref in refs.items()
        }
    return state, buffers


def collect_refs(node, refs):
    if isinstance(node, LazyTensor):
        refs[node.storage.key] = node.storage
    elif isinstance(node, dict):
        for value in node.values():
            collect_refs(value, refs)


def load_state_dict(path) -> "OrderedDict[str, np.ndarray]":
    """A torch state dict as NumPy arrays, without torch and without running foreign code."""
    path = Path(path)
    if zipfile.is_zipfile(path):
        state, buffers = read_zip(path)
    else:
        with open(path, "rb") as stream:
            state, buffers = read_legacy(stream)
    if not isinstance(state, dict):
        raise ValueError(f"{path.name} does not hold a state dict")
    return OrderedDict(
        (name, value.materialise(buffers)) for name, value in state.items() if isinstance(value, LazyTensor)
    )
