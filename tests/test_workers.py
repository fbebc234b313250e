"""The shared inference workers of a served app (tomjerry.inference.workers): one keyed worker for
jobs, one batching thread for a class's verdicts, and the pictures of a batch answered exactly as
one at a time."""

import threading

import cv2
import numpy as np
import pytest

from tomjerry.data.decoding import BadImage
from tomjerry.inference.workers import Batcher, Worker, predict_batch


def test_a_worker_runs_each_key_once_and_again_after_a_failure():
    calls = []

    def job(value):
        calls.append(value)
        if value < 0:
            raise ValueError("negative")
        return value * 2

    worker = Worker("test-worker", max_entries=2)
    assert worker.submit("a", job, 1).result() == 2
    assert worker.submit("a", job, 1).result() == 2
    assert calls == [1]
    with pytest.raises(ValueError):
        worker.submit("b", job, -1).result()
    with pytest.raises(ValueError):
        worker.submit("b", job, -1).result()  # a failed job is run again, not its failure kept
    assert calls == [1, -1, -1]
    worker.submit("c", job, 3).result()
    worker.submit("d", job, 4).result()
    assert len(worker) == 2  # the oldest done keys pushed out


def test_items_queued_while_a_batch_runs_go_through_together_and_each_failure_stays_its_own():
    """The first item runs alone while the next five queue behind it: they form one batch. An item
    whose result is an exception fails alone; the other items of its batch get their results."""
    started, release = threading.Event(), threading.Event()
    seen = []

    def run_batch(items):
        seen.append(list(items))
        if items == ["first"]:
            started.set()
            release.wait(10)
        return [ValueError(f"bad {item}") if item == "bad" else item.upper() for item in items]

    batcher = Batcher("test-batcher", run_batch, max_batch=4)
    first = batcher.submit("first", "first")
    assert started.wait(10)
    queued = [batcher.submit(item, item) for item in ("b", "bad", "d", "e", "f")]
    assert batcher.pending() == 6
    release.set()
    assert first.result(10) == "FIRST"
    assert [future.exception(10) is None for future in queued] == [True, False, True, True, True]
    assert str(queued[1].exception()) == "bad bad"
    assert [queued[i].result() for i in (0, 2, 3, 4)] == ["B", "D", "E", "F"]
    assert seen == [["first"], ["b", "bad", "d", "e"], ["f"]]  # at most max_batch, oldest first
    assert batcher.batches == [1, 4, 1]
    assert batcher.submit("b", "b") is queued[0]  # a done key is its answer
    assert batcher.submit("bad", "bad") is not queued[1]  # a failed one runs again
    assert batcher.submit("bad", "bad").exception(10) is not None


def test_a_batch_that_raises_fails_each_of_its_items_with_that_error():
    def run_batch(items):
        if "boom" in items:
            raise RuntimeError("the model is gone")
        return items[:-1]  # one result short

    batcher = Batcher("test-broken", run_batch)
    assert str(batcher.submit("boom", "boom").exception(10)) == "the model is gone"
    short = batcher.submit("x", "x").exception(10)
    assert isinstance(short, ValueError) and "1 items" in str(short)


def test_a_batcher_keeps_a_bounded_number_of_answers():
    batcher = Batcher("test-bounded", lambda items: items, max_entries=3)
    for key in range(10):
        batcher.submit(key, key).result(10)
    assert len(batcher) == 3
    with pytest.raises(ValueError):
        Batcher("nothing", lambda items: items, max_batch=0)


def test_a_batch_of_pictures_gets_the_answers_each_gets_alone(trained_run, demo_root):
    """Predictor.predict_many (through predict_batch, as the Predict page's verdicts) against
    predict_with_pixels one picture at a time: the same probabilities, novelty, notes and model
    inputs; an unreadable file is answered with its BadImage and the others are unaffected."""
    from tomjerry.inference.predict import Predictor

    predictor = Predictor.from_path(trained_run.path)
    paths = sorted(demo_root.rglob("*.jpg"))[:4]
    wide = cv2.imencode(".png", np.random.default_rng(0).integers(0, 256, (100, 400, 3), dtype=np.uint8))[1].tobytes()
    sources = [(path.read_bytes(), path.name) for path in paths] + [
        (b"not a picture", "broken.png"),
        (wide, "wide.png"),
    ]
    found = predict_batch([(predictor, data, name) for data, name in sources])
    assert isinstance(found[4], BadImage)
    with pytest.raises(BadImage):
        predictor.predict_with_pixels(b"not a picture", "broken.png")
    for (data, name), result in zip(sources, found):
        if name == "broken.png":
            continue
        prediction, pixels = result
        alone, alone_pixels = predictor.predict_with_pixels(data, name)
        np.testing.assert_array_equal(pixels, alone_pixels)
        np.testing.assert_allclose([prediction.p_tom, prediction.p_jerry], [alone.p_tom, alone.p_jerry], atol=1e-5)
        assert prediction.note == alone.note and prediction.file == name
        assert prediction.novelty == pytest.approx(alone.novelty, abs=1e-3)
        assert prediction.fit == alone.fit
    assert found[5][0].note  # the wide picture was fitted to 16:9, and says so


def test_an_accelerated_predictor_answers_as_keras_does(trained_run, demo_root):
    """Predictor.accelerate runs the two-output model (probabilities and novelty features) through
    TensorFlow Lite: the same probabilities within lite_runtime.AGREEMENT, the same novelty score
    (to a thousandth of its threshold), the same labels."""
    from tomjerry.inference.lite_runtime import AGREEMENT
    from tomjerry.inference.predict import Predictor

    keras_predictor, lite_predictor = Predictor.from_path(trained_run.path), Predictor.from_path(trained_run.path)
    assert lite_predictor.accelerate() is None and lite_predictor.accelerated
    assert not keras_predictor.accelerated
    sources = [(path.read_bytes(), path.name) for path in sorted(demo_root.rglob("*.jpg"))[:6]]
    for (keras_answer, _), (lite_answer, _) in zip(
        keras_predictor.predict_many(sources), lite_predictor.predict_many(sources), strict=True
    ):
        assert abs(keras_answer.p_tom - lite_answer.p_tom) <= AGREEMENT
        assert abs(keras_answer.p_jerry - lite_answer.p_jerry) <= AGREEMENT
        assert keras_answer.label == lite_answer.label
        assert lite_answer.novelty == pytest.approx(keras_answer.novelty, abs=1e-3 * lite_predictor.reference.threshold)
