"""Sampled frames classified per second by `tomjerry.inference.timeline.classify_video`, with the shipped model
(EfficientNet-Lite0, 224 px, mirror TTA as it was scored), decoding shown apart from classifying.

    python benchmarks/video.py [--seconds 120] [--source-fps 25] [--fps 1] [--model RUN_DIR]

The clip is written to a temporary folder and deleted: 480x270 (the dataset's size) at --source-fps,
MPEG-4 part 2 (mp4v, the codec OpenCV can write), each second one frame of the real dataset (or of
the demo data) panned a few pixels per frame so that consecutive frames differ as in a cartoon.
Every frame is decoded; one per second of video is classified (--fps).

Target: at least 40 sampled frames per second end to end on 2 CPU cores.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

SHIPPED = ROOT / "artifacts" / "runs" / "ref-20261129-163932-efficientnet_lite0-augmented-eef09d"
WIDTH, HEIGHT = 480, 270
PAN_PIXELS = 2  # per written frame: small camera motion, so the codec has real work


def source_frames(count: int) -> list[np.ndarray]:
    """`count` RGB frames (480x270): real dataset frames when the dataset is found, else demo ones."""
    from tomjerry.data.dataset import scan
    from tomjerry.data.demo import generate_demo_dataset
    from tomjerry.data.discovery import find_dataset

    source = find_dataset()
    path = source.path if not source.is_demo else generate_demo_dataset(Path(tempfile.mkdtemp()) / "demo")
    table = scan(path).usable.sort_values("frame")
    picks = table.path.iloc[np.linspace(0, len(table) - 1, count).astype(int)]
    print(f"frames from {'the demo data' if source.is_demo else path}", file=sys.stderr)
    return [cv2.resize(cv2.imread(str(p)), (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA) for p in picks]


def write_clip(path: Path, seconds: int, source_fps: int):
    frames = source_frames(seconds)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), source_fps, (WIDTH, HEIGHT))
    margin = PAN_PIXELS * source_fps
    for bgr in frames:
        padded = cv2.copyMakeBorder(bgr, 0, 0, margin, margin, cv2.BORDER_REFLECT)
        for step in range(source_fps):
            writer.write(np.ascontiguousarray(padded[:, step * PAN_PIXELS : step * PAN_PIXELS + WIDTH]))
    writer.release()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=120, help="clip length (s)")
    parser.add_argument("--source-fps", type=int, default=25, help="frames per second written")
    parser.add_argument("--fps", type=float, default=1.0, help="frames sampled per second of video")
    parser.add_argument("--model", default=str(SHIPPED), help="run folder (default: the shipped model)")
    args = parser.parse_args()

    from tomjerry.inference.predict import input_size, load_model
    from tomjerry.inference.timeline import BATCH_SIZE, classify_batch, classify_video, inference_settings
    from tomjerry.inference.video import open_video

    print(f"cpu cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} (1 min) at start")
    from tomjerry.inference.lite_runtime import accelerated

    settings = inference_settings(args.model)
    keras_model = load_model(args.model)
    started = time.perf_counter()
    model, note = accelerated(args.model, keras_model)  # what the Video page and the CLI run
    print(
        f"TensorFlow Lite model ready in {time.perf_counter() - started:.1f} s (converted once, then cached)"
        + (f"; {note}" if note else "")
    )
    with tempfile.TemporaryDirectory() as folder:
        clip = Path(folder) / "bench.mp4"
        write_clip(clip, args.seconds, args.source_fps)
        print(
            f"clip: {args.seconds} s, {WIDTH}x{HEIGHT}, {args.source_fps} fps mp4v, "
            f"{clip.stat().st_size / 2**20:.1f} MB; sampled at {args.fps:g} per second; model "
            f"{input_size(model)} px, TTA {settings.tta}"
        )

        started, cpu = time.perf_counter(), time.process_time()
        frames = [frame.rgb for frame in open_video(clip, args.fps).frames()]
        decode, cpu = time.perf_counter() - started, time.process_time() - cpu
        count = len(frames)
        print(
            f"decode only:   {count / decode:7.1f} sampled frames/s ({decode / count * 1000:5.1f} ms each, CPU "
            f"{cpu / count * 1000:5.1f} ms; {args.source_fps / args.fps:g} frames decoded per sampled frame)"
        )

        answers = {}
        for runtime, runner in (("Keras", keras_model), ("TF Lite", model)):
            for tta in (False, True):
                classify_batch(runner, frames[:BATCH_SIZE], tta)  # warm-up: tracing
                started, cpu = time.perf_counter(), time.process_time()
                answers[runtime, tta] = np.concatenate(
                    [
                        classify_batch(runner, frames[start : start + BATCH_SIZE], tta)
                        for start in range(0, count, BATCH_SIZE)
                    ]
                )
                seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
                print(
                    f"classify only: {count / seconds:7.1f} sampled frames/s ({seconds / count * 1000:5.1f} ms each, "
                    f"CPU {cpu / count * 1000:5.1f} ms), {runtime:<7}, TTA {tta} (frames in memory, batches of "
                    f"{BATCH_SIZE})"
                )
        difference = np.abs(answers["Keras", settings.tta] - answers["TF Lite", settings.tta]).max()
        flipped = (
            (
                (answers["Keras", settings.tta] >= settings.threshold)
                != (answers["TF Lite", settings.tta] >= settings.threshold)
            )
            .any(axis=1)
            .sum()
        )
        print(
            f"TF Lite against Keras: largest probability difference {difference:.1e}, verdicts changed {flipped} "
            f"of {count}"
        )
        del frames

        started, cpu = time.perf_counter(), time.process_time()
        result = classify_video(clip, model, tta=settings.tta, threshold=settings.threshold, fps=args.fps)
        total, cpu = time.perf_counter() - started, time.process_time() - cpu
        other = total - result.decode_seconds - result.classify_seconds
        print(
            f"end to end:    {count / total:7.1f} sampled frames/s with TTA {settings.tta} "
            f"({total:.1f} s: decoding {result.decode_seconds:.1f} s, classifying {result.classify_seconds:.1f} s, "
            f"shots and thumbnails {other:.1f} s)"
        )
        # On a shared machine the wall clock measures the neighbours too; the CPU time this process
        # used says what the same work needs on idle cores (an upper bound: contention inflates it).
        cores = len(os.sched_getaffinity(0))
        print(
            f"CPU time:      {cpu / count * 1000:7.1f} ms per sampled frame (all threads): on {cores} idle cores "
            f"about {count / cpu * cores:.0f} sampled frames/s if the work spreads over them all"
        )
    print(f"load average {os.getloadavg()[0]:.1f} (1 min) at the end")


if __name__ == "__main__":
    main()
