"""Class mode: one app served to a class, a presenter in charge and an audience that watches.

Who may do what is decided here (no streamlit); the app (serving.py, ui.py, the pages) asks and
applies it.

Class mode is on when the environment variable TOMJERRY_CLASS is 1 (off when it is 0); unset, it
is on exactly when the server binds an address other than loopback (`--server.address 0.0.0.0`),
that is when other machines can open the app.

The presenter is a session that
- gave the presenter key (TOMJERRY_PRESENTER_KEY, else `presenter_key` in .streamlit/secrets.toml)
  once, in the sidebar or as `?key=` in the address, or
- runs on the server machine itself (a loopback peer), but only while the server binds a network
  address: then the students come from other addresses. On a loopback-bound server in class mode (a
  rehearsal, or behind a reverse proxy) every peer is loopback, so there only the key counts.
Every other session is the audience: it browses, predicts, explains and watches runs, but does not
launch, cancel, resume or ship runs, nor choose the dataset (it sees the presenter's).

Outside class mode every session may do everything, as before.
"""

import hmac
import ipaddress
import os
import threading
import time
from dataclasses import dataclass

CLASS_ENV = "TOMJERRY_CLASS"
KEY_ENV = "TOMJERRY_PRESENTER_KEY"
KEY_SECRET = "presenter_key"

# What the audience may not do, as the pages name it in their one-line reason.
RUN_ACTIONS = "launch, cancel, resume or ship runs"
DATASET_ACTION = "choose the dataset"


def is_loopback(address: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost'; False for anything else, unparsable or None."""
    if not address:
        return False
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def class_mode(server_address: str | None, environ=None) -> bool:
    """On when TOMJERRY_CLASS=1, off when 0; otherwise on when the server binds a non-loopback
    address (an empty address binds every interface). ValueError for another TOMJERRY_CLASS value."""
    environ = os.environ if environ is None else environ
    value = (environ.get(CLASS_ENV) or "").strip()
    if value in ("1", "0"):
        return value == "1"
    if value:
        raise ValueError(f"{CLASS_ENV} must be 1 (class mode on) or 0 (off), not {value!r}")
    return not is_loopback(server_address)


def presenter_key(environ=None, secrets=None) -> str | None:
    """The presenter key: TOMJERRY_PRESENTER_KEY, else secrets[presenter_key]; None when neither
    is set or it is blank (then only the machine itself can present, where that counts)."""
    environ = os.environ if environ is None else environ
    for value in (environ.get(KEY_ENV), (secrets or {}).get(KEY_SECRET)):
        if value is not None and str(value).strip():
            return str(value).strip()
    return None


def key_matches(given: str | None, expected: str | None) -> bool:
    """A constant-time comparison; never True when no key is set."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


@dataclass(frozen=True)
class Role:
    """One session's role. `why` says in a few words how it was decided."""

    class_mode: bool
    presenter: bool
    why: str

    @property
    def may_run(self) -> bool:
        """May launch, cancel, resume or ship runs (and start a study)."""
        return self.presenter or not self.class_mode

    @property
    def may_pick_dataset(self) -> bool:
        return self.presenter or not self.class_mode

    def refusal(self, action: str) -> str:
        """The one line a page shows where it hides a control."""
        return f"Class mode: only the presenter can {action} (the sidebar takes the presenter key)."


def role_of(class_on: bool, server_address: str | None, peer: str | None, key_given: bool) -> Role:
    """The role of a session whose browser connects from `peer` (None when unknown) and which has
    (`key_given`) or has not given the presenter key."""
    if not class_on:
        return Role(False, True, "class mode is off")
    if key_given:
        return Role(True, True, "gave the presenter key")
    if is_loopback(peer) and not is_loopback(server_address):
        return Role(True, True, "opened on the server machine itself")
    return Role(True, False, "audience")


class ClassDataset:
    """The dataset folder the presenter chose (None: the server's configured one), shared by every
    session of the process so that the audience sees what the presenter shows. Thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._path: str | None = None

    def get(self) -> str | None:
        with self._lock:
            return self._path

    def set(self, path: str | None) -> None:
        with self._lock:
            self._path = path


@dataclass
class _SessionUploads:
    max_file_bytes: int
    seen: float


class UploadLimits:
    """Per-session upload limits, enforced where the bytes arrive (serving.py hooks them into
    Streamlit's upload handler; Streamlit itself checks only the global server.maxUploadSize).

    A page that shows an uploader says so (`allow(session, max_file_bytes)`): that session may then
    send files up to that size, and hold at most `quota(max_file_bytes)` bytes of uploads in all.
    A session whose page never showed an uploader may send nothing. Thread-safe."""

    MIN_QUOTA = 64 * 2**20  # bytes a session may hold at once on a page of small files (Predict)

    def __init__(self):
        self._lock = threading.Lock()
        self._sessions: dict[str, _SessionUploads] = {}

    @classmethod
    def quota(cls, max_file_bytes: int) -> int:
        """Bytes one session may hold: two of its largest files (a clip and its replacement while
        the browser swaps them), at least MIN_QUOTA."""
        return max(2 * max_file_bytes, cls.MIN_QUOTA)

    def allow(self, session_id: str, max_file_bytes: int) -> None:
        """The session's page shows an uploader taking files up to `max_file_bytes` (the page's
        largest uploader counts; a page shown later replaces what an earlier one allowed)."""
        with self._lock:
            self._sessions[session_id] = _SessionUploads(int(max_file_bytes), time.monotonic())

    def limit(self, session_id: str) -> int:
        """The largest file the session may send now (0: none)."""
        with self._lock:
            entry = self._sessions.get(session_id)
            return entry.max_file_bytes if entry else 0

    def refusal(self, session_id: str, size: int, held: int) -> str | None:
        """Why a file of `size` bytes from the session is refused while it holds `held` bytes of
        uploads, or None when it is accepted."""
        largest = self.limit(session_id)
        if largest == 0:
            return "this page takes no uploads"
        if size > largest:
            return f"the file is {size / 2**20:,.1f} MB; this page takes files up to {largest / 2**20:,.0f} MB"
        if held + size > self.quota(largest):
            return (
                f"this session already holds {held / 2**20:,.1f} MB of uploads; the most is "
                f"{self.quota(largest) / 2**20:,.0f} MB (remove some files first)"
            )
        return None

    def forget(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def sessions(self) -> list[str]:
        with self._lock:
            return list(self._sessions)
