"""The embedded demo dataset: drawn cat-like (Tom) and mouse-like (Jerry) cartoon figures on
varied backgrounds, in exactly the Kaggle layout with both CSVs. It is generated, deterministic
from a seed, so a fresh machine has something to explore and a small CNN learns it in seconds.
It is never the real data, and everything that shows it says so.
"""

import os
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np

from tomjerry import COMBINATIONS, FOLDER_OF
from tomjerry.paths import cache_dir

DEMO_VERSION = 1
# The generator leaves this file in the dataset, so demo data is labelled as such wherever it is read from.
DEMO_MARKER = "DEMO_DATA.txt"
WIDTH, HEIGHT = 256, 144
FRAMES_PER_SCENE = 8


def draw_background(rng, image):
    top = rng.integers(90, 256, 3)
    bottom = rng.integers(40, 200, 3)
    ramp = np.linspace(0, 1, HEIGHT)[:, None, None]
    image[:] = (top * (1 - ramp) + bottom * ramp).astype(np.uint8)
    floor = int(HEIGHT * rng.uniform(0.65, 0.8))
    image[floor:] = rng.integers(60, 180, 3)
    for _ in range(rng.integers(1, 4)):  # furniture: plain boxes, neither cat nor mouse
        x, y = int(rng.integers(0, WIDTH - 40)), int(rng.integers(10, floor - 20))
        w, h = int(rng.integers(20, 60)), int(rng.integers(15, 50))
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.rectangle(image, (x, y), (x + w, y + h), color, -1)


def draw_tom(image, x, y, scale):
    """A blue-grey cat: big body, round head, pointed ears, white muzzle, whiskers."""
    grey, light, dark = (150, 120, 105), (235, 235, 235), (40, 40, 40)  # BGR
    s = scale
    cv2.ellipse(image, (x, y + int(30 * s)), (int(22 * s), int(30 * s)), 0, 0, 360, grey, -1)
    cv2.circle(image, (x, y - int(8 * s)), int(18 * s), grey, -1)
    for side in (-1, 1):
        ear = np.array(
            [
                [x + side * int(6 * s), y - int(20 * s)],
                [x + side * int(18 * s), y - int(40 * s)],
                [x + side * int(18 * s), y - int(14 * s)],
            ],
            np.int32,
        )
        cv2.fillPoly(image, [ear], grey)
        cv2.circle(image, (x + side * int(7 * s), y - int(12 * s)), max(1, int(4 * s)), light, -1)
        cv2.circle(image, (x + side * int(7 * s), y - int(12 * s)), max(1, int(2 * s)), dark, -1)
        for dy in (-2, 2):
            cv2.line(image, (x + side * int(6 * s), y - int(2 * s)), (x + side * int(26 * s), y + int(dy * s)), dark, 1)
    cv2.ellipse(image, (x, y - int(1 * s)), (int(9 * s), int(6 * s)), 0, 0, 360, light, -1)
    cv2.line(image, (x + int(20 * s), y + int(50 * s)), (x + int(40 * s), y + int(20 * s)), grey, max(1, int(5 * s)))


def draw_jerry(image, x, y, scale):
    """A small brown mouse: pear body, big round pink-lined ears, long thin tail."""
    brown, pink, dark = (40, 95, 170), (170, 160, 240), (30, 30, 30)  # BGR
    s = scale
    cv2.ellipse(image, (x, y + int(14 * s)), (int(9 * s), int(13 * s)), 0, 0, 360, brown, -1)
    cv2.circle(image, (x, y - int(4 * s)), int(8 * s), brown, -1)
    for side in (-1, 1):
        center = (x + side * int(9 * s), y - int(12 * s))
        cv2.circle(image, center, int(6 * s), brown, -1)
        cv2.circle(image, center, max(1, int(3 * s)), pink, -1)
    cv2.circle(image, (x, y - int(2 * s)), max(1, int(2 * s)), dark, -1)
    cv2.line(image, (x - int(8 * s), y + int(24 * s)), (x - int(24 * s), y + int(20 * s)), brown, 1)


def draw_distractor(rng, image):
    """A green blob for 'neither' frames, so a model cannot just look for any figure."""
    x, y = int(rng.integers(30, WIDTH - 30)), int(rng.integers(40, HEIGHT - 30))
    color = tuple(int(c) for c in (rng.integers(20, 90), rng.integers(140, 220), rng.integers(20, 90)))
    cv2.ellipse(image, (x, y), (int(rng.integers(8, 22)), int(rng.integers(8, 22))), 0, 0, 360, color, -1)


def distort(rng, image):
    """The challenge set's kind of damage: heavy blur, noise and darkening."""
    image = cv2.GaussianBlur(image, (7, 7), 0)
    noise = rng.normal(0, 25, image.shape)
    return np.clip(image * rng.uniform(0.45, 0.7) + noise, 0, 255).astype(np.uint8)


def render_scene(rng, combination: str, frames: int) -> list:
    """Consecutive frames of one shot: the same background, the figures moving a little, so that
    neighbouring frames are near-duplicates as in the real cartoon."""
    background = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    draw_background(rng, background)
    tom = combination in ("tom", "both")
    jerry = combination in ("jerry", "both")
    tx, jx = int(rng.integers(40, WIDTH - 40)), int(rng.integers(20, WIDTH - 20))
    ty, jy = int(rng.integers(45, 70)), int(rng.integers(60, 100))
    ts, js = rng.uniform(0.8, 1.2), rng.uniform(0.9, 1.4)
    dx = int(rng.integers(-4, 5))
    images = []
    for i in range(frames):
        image = background.copy()
        if combination == "neither" or rng.random() < 0.3:
            draw_distractor(rng, image)
        # A pixel or two of jitter per frame: near-duplicates, never byte-identical ones.
        jitter = rng.integers(-2, 3, 4)
        if tom:
            draw_tom(image, int(np.clip(tx + dx * i + jitter[0], 25, WIDTH - 25)), ty + int(jitter[1]), ts)
        if jerry:
            draw_jerry(image, int(np.clip(jx - dx * i + jitter[2], 15, WIDTH - 15)), jy + int(jitter[3]), js)
        # Faint sensor-like noise makes every frame unique (never byte-identical).
        images.append(cv2.add(image, rng.integers(0, 4, image.shape, dtype=np.uint8)))
    return images


def generate_demo_dataset(dest, frames: int = 320, seed: int = 7, challenges: int = 12) -> Path:
    """Write the demo dataset under dest in the Kaggle layout; returns dest."""
    if frames < 4 * FRAMES_PER_SCENE:
        raise ValueError(f"the demo needs at least {4 * FRAMES_PER_SCENE} frames")
    dest = Path(dest)
    rng = np.random.default_rng(seed)
    base = dest / "tom_and_jerry" / "tom_and_jerry"
    for folder in FOLDER_OF.values():
        (base / folder).mkdir(parents=True, exist_ok=True)
    rows, number = [], 0
    scene = 0
    while number < frames:
        combination = COMBINATIONS[scene % 4] if scene < 4 else COMBINATIONS[int(rng.integers(0, 4))]
        scene += 1
        for image in render_scene(rng, combination, min(FRAMES_PER_SCENE, frames - number)):
            name = f"frame{number}.jpg"
            rows.append((name, combination))
            cv2.imwrite(str(base / FOLDER_OF[combination] / name), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
            number += 1
    candidates = [i for i, (_, c) in enumerate(rows) if c in ("tom", "jerry")]
    chosen = sorted(rng.choice(candidates, size=min(challenges, len(candidates)), replace=False))
    for i in chosen:
        name, combination = rows[i]
        path = base / FOLDER_OF[combination] / name
        cv2.imwrite(str(path), distort(rng, cv2.imread(str(path))), [cv2.IMWRITE_JPEG_QUALITY, 90])
    lines = ["filename,tom,jerry"] + [
        f"{name},{int(c in ('tom', 'both'))},{int(c in ('jerry', 'both'))}" for name, c in rows
    ]
    (dest / "ground_truth.csv").write_text("\n".join(lines) + "\n")
    challenge_lines = ["folder,image_name"] + [f"{FOLDER_OF[rows[i][1]]},{rows[i][0]}" for i in chosen]
    (dest / "challenges.csv").write_text("\n".join(challenge_lines) + "\n")
    (dest / DEMO_MARKER).write_text(
        "DEMO DATA: generated by tomjerry.data.demo (drawn figures, not frames of the cartoon).\n"
        f"frames={frames} seed={seed} version={DEMO_VERSION}\n"
    )
    return dest


def ensure_demo_dataset() -> Path:
    """The default demo dataset in the cache folder, generated once (atomically) on first use."""
    dest = cache_dir() / f"demo-v{DEMO_VERSION}"
    if (dest / DEMO_MARKER).is_file():
        return dest
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=".demo-"))
    try:
        generate_demo_dataset(tmp)
        try:
            os.replace(tmp, dest)
        except OSError:  # another process finished first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest
