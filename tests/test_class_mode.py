"""Class mode (issue 28): a presenter in charge, an audience that browses, predicts and watches.

The rules (tomjerry.lab.classroom) on their own; both roles through AppTest on the Train page and
the sidebar's dataset picker; the server-side upload limits and the janitor of ended sessions on
Streamlit's own upload manager (serving.py). The two-browser check against `streamlit run` is in
tests/test_class_browser.py (slow)."""

import json
import shutil
import types

import pytest
from conftest import ROOT
from starlette.exceptions import HTTPException
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.uploaded_file_manager import UploadedFileRec
from streamlit.testing.v1 import AppTest

import serving
from tomjerry.lab.classroom import UploadLimits, class_mode, is_loopback, key_matches, presenter_key, role_of

TIMEOUT = 180
KEY = "tom-chases-jerry"
MB = 2**20


# ---- the rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address,env,on",
    [
        ("127.0.0.1", {}, False),
        ("localhost", {}, False),
        ("::1", {}, False),
        ("0.0.0.0", {}, True),
        ("192.168.1.20", {}, True),
        ("", {}, True),  # Streamlit binds every interface when no address is given
        ("127.0.0.1", {"TOMJERRY_CLASS": "1"}, True),
        ("0.0.0.0", {"TOMJERRY_CLASS": "0"}, False),
    ],
)
def test_class_mode_follows_the_bound_address_unless_the_environment_says(address, env, on):
    assert class_mode(address, env) is on


def test_a_class_setting_other_than_0_or_1_is_refused_with_its_value():
    with pytest.raises(ValueError, match="'yes'"):
        class_mode("127.0.0.1", {"TOMJERRY_CLASS": "yes"})


def test_the_presenter_key_comes_from_the_environment_then_the_secrets_and_blank_is_none():
    assert presenter_key({"TOMJERRY_PRESENTER_KEY": "a"}, {"presenter_key": "b"}) == "a"
    assert presenter_key({}, {"presenter_key": " b "}) == "b"
    assert presenter_key({"TOMJERRY_PRESENTER_KEY": "  "}, {}) is None
    assert not key_matches("", None) and not key_matches("x", None) and not key_matches(None, "x")
    assert key_matches(" x", "x") and not key_matches("y", "x")


@pytest.mark.parametrize(
    "on,server,peer,key,presenter",
    [
        (False, "0.0.0.0", "10.0.0.5", False, True),  # no class: everyone may do everything
        (True, "0.0.0.0", "10.0.0.5", False, False),  # a student's laptop
        (True, "0.0.0.0", "10.0.0.5", True, True),  # ... that gave the key
        (True, "0.0.0.0", "127.0.0.1", False, True),  # the teacher's browser on the server machine
        (True, "0.0.0.0", "::1", False, True),
        (True, "127.0.0.1", "127.0.0.1", False, False),  # loopback-bound class: every peer is loopback
        (True, "127.0.0.1", "127.0.0.1", True, True),
        (True, "0.0.0.0", None, False, False),  # unknown peer
    ],
)
def test_who_presents(on, server, peer, key, presenter):
    found = role_of(on, server, peer, key)
    assert found.presenter is presenter
    assert found.may_run is found.may_pick_dataset is (presenter or not on)
    assert "only the presenter" in found.refusal("launch runs")


def test_is_loopback_takes_only_addresses():
    assert is_loopback("127.0.0.2") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("10.0.0.1") and not is_loopback(None) and not is_loopback("not an address")


def test_upload_limits_per_file_and_per_session():
    limits = UploadLimits()
    assert limits.refusal("s", 1, 0) == "this page takes no uploads"
    limits.allow("s", 20 * MB)
    assert limits.refusal("s", 20 * MB, 0) is None
    assert "up to 20 MB" in limits.refusal("s", 20 * MB + 1, 0)
    assert "already holds" in limits.refusal("s", 10 * MB, UploadLimits.quota(20 * MB) - 5 * MB)
    limits.allow("s", 200 * MB)  # the Video page shown after Predict
    assert limits.refusal("s", 150 * MB, 0) is None
    limits.forget("s")
    assert limits.limit("s") == 0


# ---- where the bytes arrive (Streamlit's own upload manager) -----------------------------------


def upload(manager, session, file_id, size):
    manager.add_file(session_id=session, file=UploadedFileRec(file_id, f"{file_id}.png", "image/png", b"\0" * size))


def test_an_upload_over_the_pages_limit_is_refused_where_it_arrives_and_not_kept(monkeypatch):
    monkeypatch.setattr(serving, "LIMITS", UploadLimits())
    manager = MemoryUploadedFileManager("/_stcore/upload_file")
    serving._guard_uploads(manager)
    serving._guard_uploads(manager)  # once only
    with pytest.raises(HTTPException) as refused:
        upload(manager, "student", "a", 1024)  # no uploader shown yet
    assert refused.value.status_code == 413
    serving.LIMITS.allow("student", 20 * MB)
    upload(manager, "student", "small", 3 * MB)
    with pytest.raises(HTTPException) as refused:
        upload(manager, "student", "big", 21 * MB)
    assert refused.value.status_code == 413 and "up to 20 MB" in refused.value.detail
    for index in range(20):  # many small files: the session's quota ends it
        try:
            upload(manager, "student", f"f{index}", 5 * MB)
        except HTTPException as error:
            assert "already holds" in error.detail
            break
    else:
        pytest.fail("the session's quota never refused a file")
    held = sum(len(r.data) for r in manager.file_storage["student"].values())
    assert held <= UploadLimits.quota(20 * MB)
    assert "big" not in manager.file_storage["student"]


def test_the_janitor_drops_what_ended_sessions_held(monkeypatch):
    """Streamlit keeps a closed tab's session for reconnecting in a TTL cache that drops it without
    shutting it down, so its uploads stayed in memory; the janitor shuts it down and drops files,
    media and limits of every session Streamlit no longer knows."""
    from streamlit.runtime.caching.ttl_cache import TTLCache

    monkeypatch.setattr(serving, "LIMITS", UploadLimits())
    uploads = MemoryUploadedFileManager("/_stcore/upload_file")
    for session in ("live", "gone", "expired"):
        serving.LIMITS.allow(session, 20 * MB)
        upload(uploads, session, "x", 1000)
    shut = []
    now = [0.0]
    storage = TTLCache(maxsize=10, ttl=60, timer=lambda: now[0])

    def info(session_id):
        session = types.SimpleNamespace(id=session_id, shutdown=lambda: shut.append(session_id))
        return types.SimpleNamespace(session=session)

    storage["expired"] = info("expired")
    now[0] = 61.0  # past the reconnect time
    cleared = []
    media = types.SimpleNamespace(
        _files_by_session_and_coord={"live": {}, "gone": {}},
        clear_session_refs=cleared.append,
        remove_orphaned_files=lambda: cleared.append("orphans"),
    )
    manager = types.SimpleNamespace(
        _session_storage=types.SimpleNamespace(_cache=storage),
        _storage_lock=__import__("threading").Lock(),
        list_sessions=lambda: [info("live"), *storage.values()],
    )
    rt = types.SimpleNamespace(_session_mgr=manager, uploaded_file_mgr=uploads, media_file_mgr=media)
    serving._sweep(rt)
    assert shut == ["expired"]
    assert set(uploads.file_storage) == {"live"}
    assert cleared == ["gone", "orphans"]
    assert serving.LIMITS.sessions() == ["live"]


# ---- both roles through AppTest ----------------------------------------------------------------


def open_page(page, monkeypatch, data, artifacts, class_on=True, key=KEY, secrets=None, query=None):
    monkeypatch.setenv("TOMJERRY_DATA", str(data))
    monkeypatch.setenv("TOMJERRY_ARTIFACTS", str(artifacts))
    monkeypatch.setenv("TOMJERRY_CLASS", "1" if class_on else "0")
    if key:
        monkeypatch.setenv("TOMJERRY_PRESENTER_KEY", key)
    else:
        monkeypatch.delenv("TOMJERRY_PRESENTER_KEY", raising=False)
    app = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT)
    app.secrets.update(secrets or {})
    app.query_params.update(query or {})
    return app.run()


def labelled(app, kind, label):
    return [element for element in getattr(app, kind) if element.label == label]


def captions(app):
    return " ".join(str(c.value) for c in [*app.caption, *app.sidebar.caption])


def launch_button(app):
    buttons = [b for b in app.button if b.label == "Launch"]
    assert len(buttons) == 1
    return buttons[0]


@pytest.fixture(autouse=True)
def fresh_class_dataset(monkeypatch):
    monkeypatch.setattr(serving, "CLASS_DATASET", serving.ClassDataset())


def test_outside_class_mode_every_session_launches_and_picks_the_dataset(monkeypatch, demo_root, tmp_path):
    app = open_page("pages/2_Train.py", monkeypatch, demo_root, tmp_path, class_on=False)
    assert not app.exception, app.exception
    assert not launch_button(app).disabled
    assert labelled(app.sidebar, "text_input", "Dataset folder")
    assert not labelled(app.sidebar, "text_input", "Presenter key")


def test_the_audience_cannot_launch_nor_type_a_dataset_and_is_told_why(monkeypatch, demo_root, tmp_path):
    app = open_page("pages/2_Train.py", monkeypatch, demo_root, tmp_path)
    assert not app.exception, app.exception
    assert launch_button(app).disabled
    assert [b for b in app.button if b.label == "Start the study"][0].disabled
    assert not labelled(app.sidebar, "text_input", "Dataset folder")
    assert labelled(app.sidebar, "text_input", "Presenter key")
    text = captions(app)
    assert "only the presenter can launch, cancel, resume or ship runs" in text
    assert "only the presenter can choose the dataset" in text


def test_the_presenter_key_in_the_sidebar_gives_the_session_control(monkeypatch, demo_root, tmp_path):
    app = open_page("pages/2_Train.py", monkeypatch, demo_root, tmp_path)
    labelled(app.sidebar, "text_input", "Presenter key")[0].input("wrong").run()
    assert "That is not the presenter key." in [e.value for e in app.sidebar.error]
    assert launch_button(app).disabled
    labelled(app.sidebar, "text_input", "Presenter key")[0].input(KEY).run()
    assert not app.exception, app.exception
    assert not launch_button(app).disabled
    assert labelled(app.sidebar, "text_input", "Dataset folder")
    assert "you are the presenter" in captions(app)


def test_the_key_in_the_address_or_from_secrets_toml_makes_the_presenter(monkeypatch, demo_root, tmp_path):
    app = open_page("pages/2_Train.py", monkeypatch, demo_root, tmp_path, query={"key": KEY})
    assert not launch_button(app).disabled
    assert "key" not in app.query_params  # taken out of the address bar
    app = open_page(
        "pages/2_Train.py", monkeypatch, demo_root, tmp_path, key=None, secrets={"presenter_key": "from-secrets"}
    )
    assert launch_button(app).disabled
    labelled(app.sidebar, "text_input", "Presenter key")[0].input("from-secrets").run()
    assert not launch_button(app).disabled


def test_without_a_key_set_the_audience_is_told_and_stays_audience(monkeypatch, demo_root, tmp_path):
    app = open_page("pages/2_Train.py", monkeypatch, demo_root, tmp_path, key=None, query={"key": ""})
    assert launch_button(app).disabled
    assert "No presenter key is set" in captions(app)


def test_the_audience_sees_the_dataset_the_presenter_chose(monkeypatch, demo_root, tmp_path):
    other = shutil.copytree(demo_root, tmp_path / "class-data")
    presenter = open_page("home.py", monkeypatch, demo_root, tmp_path / "artifacts", query={"key": KEY})
    labelled(presenter.sidebar, "text_input", "Dataset folder")[0].input(str(other)).run()
    assert not presenter.exception, presenter.exception
    assert str(other) in captions(presenter) + " ".join(m.value for m in presenter.markdown)
    student = open_page("home.py", monkeypatch, demo_root, tmp_path / "artifacts")
    assert not student.exception, student.exception
    assert str(other) in " ".join(m.value for m in student.markdown)


def test_a_second_presenter_session_keeps_the_class_dataset(monkeypatch, demo_root, tmp_path):
    """A presenter who reloads or opens a second tab starts from the class's dataset: each
    presenter page run wrote its own (empty, the default) folder over it, so the audience's
    dataset changed back behind the presenter's back."""
    other = shutil.copytree(demo_root, tmp_path / "class-data")
    presenter = open_page("home.py", monkeypatch, demo_root, tmp_path / "artifacts", query={"key": KEY})
    labelled(presenter.sidebar, "text_input", "Dataset folder")[0].input(str(other)).run()
    second = open_page("pages/1_Data.py", monkeypatch, demo_root, tmp_path / "artifacts", query={"key": KEY})
    assert not second.exception, second.exception
    assert labelled(second.sidebar, "text_input", "Dataset folder")[0].value == str(other)
    assert serving.CLASS_DATASET.get() == str(other)
    student = open_page("home.py", monkeypatch, demo_root, tmp_path / "artifacts")
    assert str(other) in " ".join(m.value for m in student.markdown)


def test_the_audience_is_told_the_presenter_chose_the_dataset(monkeypatch, demo_root, tmp_path):
    """Where a typed folder came from is said as a user reads it ('chosen by the presenter'), not
    as the discovery code names it ('argument'). A copy without the demo marker, so its origin shows."""
    from tomjerry.data.discovery import DEMO_MARKER

    other = shutil.copytree(demo_root, tmp_path / "class-data")
    (other / DEMO_MARKER).unlink()
    presenter = open_page("home.py", monkeypatch, demo_root, tmp_path / "artifacts", query={"key": KEY})
    labelled(presenter.sidebar, "text_input", "Dataset folder")[0].input(str(other)).run()
    student = open_page("home.py", monkeypatch, demo_root, tmp_path / "artifacts")
    shown = " ".join(m.value for m in student.markdown) + captions(student)
    assert f"{other}` — chosen by the presenter" in shown and "argument" not in shown


def test_a_wrong_key_in_the_address_is_said(monkeypatch, demo_root, tmp_path):
    app = open_page("pages/2_Train.py", monkeypatch, demo_root, tmp_path, query={"key": "wrong"})
    assert launch_button(app).disabled
    assert "The key in the address (?key=) is not the presenter key." in [e.value for e in app.sidebar.error]
    assert "key" not in app.query_params


def test_an_upload_limit_ends_when_the_session_leaves_its_page(monkeypatch, demo_root, finished_artifacts):
    """Video's 200 MB limit held on after the student went to a page without an uploader; now the
    next page's run withdraws it (a rerun of the same page keeps it)."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setattr(serving, "LIMITS", UploadLimits())
    monkeypatch.setattr(serving, "_allowed_on", {})
    monkeypatch.setenv("TOMJERRY_DATA", str(demo_root))
    monkeypatch.setenv("TOMJERRY_ARTIFACTS", str(finished_artifacts))
    monkeypatch.setenv("TOMJERRY_CLASS", "1")
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    app.switch_page("pages/7_Video.py").run()
    assert not app.exception, app.exception
    (session,) = serving.LIMITS.sessions()
    assert serving.LIMITS.limit(session) > 100 * MB
    app.run()  # a rerun of the same page keeps it
    assert serving.LIMITS.limit(session) > 100 * MB
    app.switch_page("pages/1_Data.py").run()
    assert not app.exception, app.exception
    assert serving.LIMITS.limit(session) == 0
    assert serving.LIMITS.refusal(session, 1, 0) == "this page takes no uploads"


def test_the_audience_cannot_cancel_or_resume_a_run(monkeypatch, demo_root, finished_artifacts, tmp_path):
    artifacts = tmp_path / "artifacts"
    shutil.copytree(finished_artifacts, artifacts)
    status_path = next((artifacts / "runs").glob("*/status.json"))
    status = json.loads(status_path.read_text())
    status["state"] = "cancelled"
    status_path.write_text(json.dumps(status))
    student = open_page("pages/2_Train.py", monkeypatch, demo_root, artifacts)
    assert not student.exception, student.exception
    resume = [b for b in student.button if b.label == "Resume this run"]
    assert len(resume) == 1 and resume[0].disabled
    presenter = open_page("pages/2_Train.py", monkeypatch, demo_root, artifacts, query={"key": KEY})
    resume = [b for b in presenter.button if b.label == "Resume this run"]
    assert len(resume) == 1 and not resume[0].disabled


def test_the_audience_predicts(monkeypatch, demo_root, finished_artifacts):
    from test_pages import png_bytes

    app = open_page("pages/5_Predict.py", monkeypatch, demo_root, finished_artifacts)
    app.file_uploader(key="frames").set_value([("frame.png", png_bytes(), "image/png")]).run()
    assert not app.exception, app.exception
    shown = [m.label for m in app.metric] + [m.value for m in app.markdown] + [m.value for m in app.caption]
    assert any("Verdict" in text or "p(tom)" in text for text in shown), shown  # the page's layout may change
    assert not app.error, [e.value for e in app.error]


def test_streamlit_does_not_collect_garbage_after_every_script_run():
    """Streamlit's gc.collect(2) after each run held the GIL about 0.2 s with TensorFlow loaded,
    two thirds of the server's CPU with ten students (README, Running a class): it stays off."""
    import tomllib

    settings = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert settings["runner"]["postScriptGC"] is False  # Streamlit's default is True
