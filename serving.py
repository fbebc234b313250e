"""The served app's side of a class (tomjerry.lab.classroom decides, this file applies it to
Streamlit): the session's role, the presenter's dataset shared with the audience, upload limits
where the bytes arrive, sessions' leftovers dropped when they end, and optional timings.

Streamlit 1.67 internals this file relies on (each guarded: without them the app still runs, only
the guard is missing), read from its source:
- uploads: web/server/starlette/starlette_routes.py `_upload_put` checks only the global
  server.maxUploadSize, never the widget's max_upload_size, then calls
  `runtime.uploaded_file_mgr.add_file(session_id=..., file=...)`; `install` wraps that method, so
  a file over the session's page limit is answered 413 with the reason and not kept.
- sessions: a closed tab's session is saved for reconnecting (server.disconnectedSessionTTL) in a
  TTL cache that drops it without `AppSession.shutdown()`, so its uploaded files and media stayed
  in memory for good (issue 28: 600 MB after four 150 MB uploads). `install` starts a janitor that
  shuts such sessions down on Streamlit's event loop and drops files of sessions no longer known.
- a client's address: `st.context.ip_address` hides loopback (None), so the raw websocket peer
  (client_context.remote_ip, as Streamlit's backend_operation_handler reads it) is used.
"""

import contextlib
import ctypes
import gc
import hashlib
import json
import logging
import os
import threading
import time

import streamlit as st

from tomjerry.lab.classroom import (
    ClassDataset,
    Role,
    UploadLimits,
    class_mode,
    key_matches,
    presenter_key,
    role_of,
)

TIMINGS_ENV = "TOMJERRY_TIMINGS"  # a file: one JSON line per page run, verdict and maps shown
JANITOR_SECONDS = 10

_LOG = logging.getLogger("tomjerry.serving")
LIMITS = UploadLimits()
CLASS_DATASET = ClassDataset()
_install_lock = threading.Lock()
_installed = False
_arrivals: dict[tuple[str, str, int], float] = {}  # (session, file name, size) -> time.time() it arrived
_timings_lock = threading.Lock()
_told: set[tuple[str, str, str, int]] = set()  # (event, session, name, size) already written
_pictures: dict[tuple[str, str], tuple[str, int]] = {}  # (session, model input digest) -> (name, size)


def _runtime():
    """Streamlit's running server runtime; None under AppTest (which puts a mock in its place)."""
    from streamlit import runtime

    found = runtime.get_instance() if runtime.exists() else None
    return found if "_session_mgr" in vars(found or object()) else None  # a mock specced as Runtime passes isinstance


def session_id() -> str | None:
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx else None


def peer_address() -> str | None:
    """The raw address of this session's browser connection (loopback included); None when unknown
    (AppTest, or no runtime)."""
    rt, sid = _runtime(), session_id()
    if rt is None or sid is None:
        return None
    client = rt.get_client(sid)
    address = getattr(getattr(client, "client_context", None), "remote_ip", None)
    return address if isinstance(address, str) else None


def server_address() -> str:
    return st.get_option("server.address") or ""


def _secrets() -> dict:
    try:
        return {"presenter_key": st.secrets.get("presenter_key")} if "presenter_key" in st.secrets else {}
    except Exception:  # no secrets.toml, or one that does not parse: no key from there
        return {}


def role() -> Role:
    """This session's role (cheap: the pages ask it where they need it). The presenter key given as
    ?key= in the address is taken (and removed from the address) here, or in the sidebar's box
    (`presenter_box`); either makes the session the presenter for the rest of its life."""
    install()
    try:
        on = class_mode(server_address())
    except ValueError:  # a TOMJERRY_CLASS that is neither 0 nor 1: class mode on (presenter_box says why)
        on = True
    given = st.query_params.get("key") if on else None
    if given is not None:
        del st.query_params["key"]  # not left in the address bar for the room to read
        if key_matches(given, presenter_key(secrets=_secrets())):
            st.session_state["_presenter"] = True
        else:  # said once, in the sidebar (presenter_box), rather than silently ignored
            st.session_state["_wrong_key_in_address"] = True
    return role_of(on, server_address(), peer_address(), bool(st.session_state.get("_presenter")))


def presenter_box(found: Role) -> None:
    """The sidebar's part of class mode, once per page run: who this session is, and for the
    audience a password box for the presenter key."""
    if not found.class_mode:
        return
    with st.sidebar:
        try:
            class_mode(server_address())
        except ValueError as error:
            st.error(str(error))
        if found.presenter:
            st.caption(f"Class mode: you are the presenter ({found.why}).")
            return
        expected = presenter_key(secrets=_secrets())
        if st.session_state.pop("_wrong_key_in_address", False):
            st.error("The key in the address (?key=) is not the presenter key.")
        typed = st.text_input(
            "Presenter key",
            type="password",
            key="presenter_key_input",
            help="Class mode: the presenter launches and stops runs and chooses the dataset.",
        )
        if typed and key_matches(typed, expected):
            st.session_state["_presenter"] = True
            st.rerun()
        if typed:
            st.error("That is not the presenter key.")
        if expected is None:
            st.caption("No presenter key is set on this server (TOMJERRY_PRESENTER_KEY).")


_allowed_on: dict[str, str] = {}  # session id -> the page (script hash) whose uploader set its limit


def _page() -> str | None:
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    return getattr(ctx, "page_script_hash", None) if ctx is not None else None


def allow_uploads(max_mb: int) -> int:
    """A page shows an uploader taking files up to `max_mb` MB: this session may send such files
    (the server refuses larger ones where they arrive) while it stays on this page (page_started).
    Returns max_mb, for the widget."""
    install()
    sid = session_id()
    if sid is not None:
        LIMITS.allow(sid, max_mb * 2**20)
        page = _page()
        if page is not None:
            _allowed_on[sid] = page
    return max_mb


def page_started() -> None:
    """A page's script run starts (ui.start_page): an upload limit that another page of this
    session set is withdrawn, so a session that left the Video page for one without an uploader
    may send nothing. Reruns of the same page keep theirs: withdrawing it at every run start
    would refuse a file dropped while the page reruns (its maps arriving)."""
    sid, page = session_id(), _page()
    if sid is None or page is None:
        return
    if _allowed_on.get(sid) not in (None, page):
        LIMITS.forget(sid)
        _allowed_on.pop(sid, None)


# ---- where the bytes arrive -------------------------------------------------------------


def _held(manager, sid: str, except_id: str) -> int:
    files = dict(getattr(manager, "file_storage", {}).get(sid, {}))
    return sum(len(record.data) for file_id, record in files.items() if file_id != except_id)


def _guard_uploads(manager) -> None:
    if getattr(manager.add_file, "_tomjerry_guarded", False):
        return
    original = manager.add_file

    def add_file(session_id, file):
        """Streamlit's add_file, after the session's upload limits (tomjerry.lab.classroom)."""
        reason = LIMITS.refusal(session_id, len(file.data), _held(manager, session_id, file.file_id))
        if reason:
            from starlette.exceptions import HTTPException

            _LOG.warning("Upload refused (%s): %s", file.name, reason)
            raise HTTPException(status_code=413, detail=f"Upload refused: {reason}.")
        _arrivals[(session_id, file.name, len(file.data))] = time.time()
        return original(session_id=session_id, file=file)

    add_file._tomjerry_guarded = True
    manager.add_file = add_file


def _sweep(rt) -> None:
    """On Streamlit's event loop: shut down sessions whose reconnect time ran out, and drop the
    files, media and limits of any session Streamlit no longer knows."""
    manager = rt._session_mgr
    storage = getattr(getattr(manager, "_session_storage", None), "_cache", None)
    lock = getattr(manager, "_storage_lock", None)
    if storage is not None and lock is not None:
        with lock:
            expired = storage.expire()
        for _, info in expired:
            info.session.shutdown()
    live = {info.session.id for info in manager.list_sessions()}
    dropped = False
    uploads = rt.uploaded_file_mgr
    for sid in list(getattr(uploads, "file_storage", {})):
        if sid not in live:
            uploads.remove_session_files(sid)
            dropped = True
    media = rt.media_file_mgr
    for sid in list(getattr(media, "_files_by_session_and_coord", {})):
        if sid not in live:
            media.clear_session_refs(sid)
            dropped = True
    if dropped:
        media.remove_orphaned_files()
    for sid in LIMITS.sessions():
        if sid not in live:
            LIMITS.forget(sid)
    for table in (_arrivals, _pictures):
        for key in [key for key in table if key[0] not in live]:
            table.pop(key, None)
    for table in (_requests, _allowed_on):
        for sid in [sid for sid in table if sid not in live]:
            table.pop(sid, None)
    with _timings_lock:
        _told.difference_update({key for key in _told if key[1] not in live})
    if dropped or expired:
        # The one full collection a closed session gets: Streamlit's after every script run is off
        # (.streamlit/config.toml, runner.postScriptGC: it cost 0.2 s of GIL a run with TensorFlow).
        gc.collect()
        _trim_heap()


def _trim_heap() -> None:
    """Give freed heap pages back to the system (glibc keeps them otherwise)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _janitor(rt) -> None:
    while True:
        time.sleep(JANITOR_SECONDS)
        try:
            loop = rt._async_objs.eventloop
            if loop.is_closed():
                return
            loop.call_soon_threadsafe(_sweep, rt)
        except Exception:  # a Streamlit whose internals moved: the janitor stops, the app goes on
            _LOG.exception("session janitor stopped")
            return


def install() -> None:
    """Once per process, in a running server: the upload guard, the session janitor, and glibc
    limited to two malloc arenas (each of thirty session threads otherwise kept an arena of freed
    memory). Nothing under AppTest (no server)."""
    global _installed
    if _installed:
        return
    with _install_lock:
        if _installed:
            return
        rt = _runtime()
        if rt is not None and getattr(rt, "uploaded_file_mgr", None) is not None:
            with contextlib.suppress(OSError, AttributeError):
                ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX
            try:
                if os.environ.get(TIMINGS_ENV):
                    _time_script_runs()
                _guard_uploads(rt.uploaded_file_mgr)
                threading.Thread(target=_janitor, args=(rt,), name="tomjerry-janitor", daemon=True).start()
            except Exception:
                _LOG.exception("the upload guard or the session janitor could not be installed")
        _installed = True


# ---- server-initiated reruns --------------------------------------------------------------


def can_rerun() -> bool:
    """Whether this session's page can be rerun from the server (not under AppTest)."""
    rt, sid = _runtime(), session_id()
    return rt is not None and sid is not None and rt._session_mgr.get_active_session_info(sid) is not None


def rerun_when_done(future) -> bool:
    """Rerun this session's page when `future` is done (a Grad-CAM map drawn in the background).
    False where that cannot be done (AppTest): then the caller waits for it instead."""
    rt, sid = _runtime(), session_id()
    if rt is None or sid is None:
        return False
    info = rt._session_mgr.get_active_session_info(sid)
    if info is None:
        return False
    session = info.session
    pending = st.session_state.setdefault("_reruns_pending", set())
    if id(future) in pending:
        return True
    pending.add(id(future))

    def rerun(_):
        pending.discard(id(future))
        with contextlib.suppress(Exception):  # a session (or the server) closed meanwhile
            # With the session's last client state (its page, widgets and uploads), as Streamlit's own
            # rerun on a changed source file does (AppSession._on_source_file_changed); None would
            # start the app afresh on its first page.
            rt._async_objs.eventloop.call_soon_threadsafe(session.request_rerun, session._client_state)

    future.add_done_callback(rerun)
    return True


# ---- timings (TOMJERRY_TIMINGS) -------------------------------------------------------------


def _write(record: dict) -> None:
    path = os.environ.get(TIMINGS_ENV)
    if not path:
        return
    with _timings_lock, open(path, "a", encoding="utf-8") as file:
        file.write(json.dumps(record) + "\n")


_run_starts: dict[str, float] = {}  # session id -> time.time() its current script run started
_requests: dict[str, float] = {}  # session id -> time.time() the browser last asked for a run
_STOPPED = ("SCRIPT_STOPPED_WITH_SUCCESS", "SCRIPT_STOPPED_FOR_RERUN", "SCRIPT_STOPPED_WITH_COMPILE_ERROR")


def _time_script_runs() -> None:
    """Write one 'run' line (start, end) per script run of every session, from the ScriptRunner's
    own events (SCRIPT_STARTED, then SCRIPT_STOPPED_* or FRAGMENT_STOPPED_WITH_SUCCESS): a page
    opened by its address runs its file alone, without app.py, so no wrapper in app.py sees it."""
    from streamlit.runtime.app_session import AppSession

    original = AppSession._on_scriptrunner_event
    if getattr(original, "_tomjerry_timed", False):
        return

    def timed(self, sender, *args, **kwargs):
        event = kwargs.get("event", args[0] if args else None)
        name = getattr(event, "name", "")
        if name == "SCRIPT_STARTED":
            _run_starts[self.id] = time.time()
        elif name in _STOPPED or name == "FRAGMENT_STOPPED_WITH_SUCCESS":
            start = _run_starts.pop(self.id, None)
            if start is not None:
                fragment = name.startswith("FRAGMENT")
                _write(
                    {
                        "event": "run",
                        "session": self.id,
                        "start": start,
                        "end": time.time(),
                        "ended": name,
                        "fragment": fragment,
                    }
                )
        return original(self, sender, *args, **kwargs)

    timed._tomjerry_timed = True
    AppSession._on_scriptrunner_event = timed

    # When the browser asks for a run (after an upload: the uploader's new value). Its time is
    # written beside each verdict, so the server's part of an upload-to-verdict time (request to
    # verdict) is told apart from the browser's (its upload done to its request sent).
    handle = AppSession.handle_backmsg

    def requested(self, msg):
        if msg.WhichOneof("type") == "rerun_script":
            _requests[self.id] = time.time()
        return handle(self, msg)

    AppSession.handle_backmsg = requested


def shown(event: str, name: str | None = None, size: int | None = None, pixels=None) -> None:
    """An upload's `event` ('verdict' or 'maps') is on its way to the browser: write its time from
    the upload's arrival at the server, once per upload. The maps of an upload are found by its
    model input `pixels` (as its verdict gave them). Nothing without TOMJERRY_TIMINGS."""
    if not os.environ.get(TIMINGS_ENV):
        return
    sid = session_id()
    digest = hashlib.sha1(pixels.tobytes()).hexdigest() if pixels is not None else None
    if name is None:
        name, size = _pictures.get((sid, digest), (None, None))
    elif digest is not None:
        _pictures[(sid, digest)] = (name, size)
    arrived = _arrivals.get((sid, name, size))
    key = (event, sid, name, size)
    with _timings_lock:
        if key in _told or arrived is None:
            return
        _told.add(key)
    now = time.time()
    asked = max(_requests.get(sid, arrived), arrived)  # the run request that came with (or after) the upload
    _write(
        {
            "event": event,
            "session": sid,
            "name": name,
            "arrived": arrived,
            "requested": asked,
            "shown": now,
            "seconds": now - arrived,
            "from_request": now - asked,
        }
    )
