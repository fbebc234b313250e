"""tomjerry.atomic: one write-and-replace sequence for every writer."""

import os

import numpy as np
import pytest

from tomjerry.atomic import write_bytes, write_json, write_npy, write_with


def test_a_failed_write_leaves_the_previous_version_and_no_temporary_file(tmp_path):
    path = write_bytes(tmp_path / "a.bin", b"old")

    def half_then_fail(handle):
        handle.write(b"half")
        raise KeyboardInterrupt  # an interrupt too, not only an Exception

    with pytest.raises(KeyboardInterrupt):
        write_with(path, half_then_fail)
    assert path.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["a.bin"]


def test_every_writer_goes_through_it_with_a_plain_files_mode(tmp_path):
    umask = os.umask(0o022)
    try:
        written = [
            write_bytes(tmp_path / "sub" / "a.bin", b"x"),
            write_json(tmp_path / "b.json", {"n": np.int64(3)}),
            write_npy(tmp_path / "c.npy", np.arange(4)),
        ]
    finally:
        os.umask(umask)
    assert [oct(p.stat().st_mode & 0o777) for p in written] == ["0o644"] * 3  # not mkstemp's 0o600
    assert (np.load(written[2]) == np.arange(4)).all() and written[1].read_text() == '{\n  "n": 3\n}\n'
