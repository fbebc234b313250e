"""Grad-CAM maps go back on the picture as it was given: tomjerry.data.decoding.fit_of says where each
part of a picture went when the shape rule fitted it to 16:9, and tomjerry.data.images.map_to_picture
inverts it (the square squeeze undone, padding dropped, the crop placed back). Known answers: a map
with one marked cell lands where that cell came from."""

import numpy as np
import pytest
from pictures import cartoon

from tomjerry.data.decoding import fit_of, fit_to_frame
from tomjerry.data.images import map_to_picture
from tomjerry.inference.explain import UNSEEN_NOTE, overlay_on_picture

SIDE = 16  # the square map's side: one cell is 1/16 of the fitted picture's width and height


def marked(row: int, column: int) -> np.ndarray:
    square = np.zeros((SIDE, SIDE), np.float32)
    square[row, column] = 1.0
    return square


def centroid(heat: np.ndarray) -> tuple[float, float]:
    """(x, y) of a map's mass, in pixel centres."""
    ys, xs = np.indices(heat.shape)
    return float((xs * heat).sum() / heat.sum()), float((ys * heat).sum() / heat.sum())


def test_a_16_9_picture_gets_the_map_stretched_back_from_the_square():
    fit = fit_of(180, 320)
    assert fit.kind == "unchanged" and fit.sees_all
    heat, seen = map_to_picture(marked(8, 4), fit)
    assert heat.shape == seen.shape == (180, 320) and seen.all()
    # Column 4 of 16 is x 80-100 of 320; row 8 of 16 is y 90-101.25 of 180.
    x, y = centroid(heat)
    assert abs(x - 89.5) < 1.5 and abs(y - 95.1) < 1.5
    peak_y, peak_x = np.unravel_index(np.argmax(heat), heat.shape)
    assert 80 <= peak_x < 100 and 90 <= peak_y < 102


def test_a_portrait_picture_drops_the_mirror_padding():
    rgb = cartoon(90, 160)  # 9:16: padded to 284 x 160 with 97 mirror columns on the left
    fitted, _ = fit_to_frame(rgb)
    fit = fit_of(160, 90, rgb)
    assert fit.kind == "pad" and fit.size == (284, 160) and fit.target == (97, 0, 187, 160) and fit.sees_all
    assert fitted.shape == (160, 284, 3) and np.array_equal(fitted[:, 97:187], rgb)
    heat, seen = map_to_picture(marked(4, 8), fit)
    assert heat.shape == (160, 90) and seen.all()
    # Column 8 of 16 is x 142-159.75 of the fitted 284, so x 45-62.75 of the picture; row 4: y 40-50.
    x, y = centroid(heat)
    assert abs(x - 53.4) < 1.5 and abs(y - 44.5) < 1.5
    # A cell in the padding (column 0: fitted x 0-17.75) is not on the picture at all.
    padding, _ = map_to_picture(marked(4, 0), fit)
    assert padding.max() == 0


def test_a_wide_picture_gets_its_map_on_the_cropped_centre_and_none_outside():
    rgb = cartoon(960, 180)  # 5.3:1: the centre 320 x 180 is kept
    fitted, _ = fit_to_frame(rgb)
    fit = fit_of(180, 960, rgb)
    assert fit.kind == "crop" and fit.source == (320, 0, 640, 180) and not fit.sees_all
    assert np.array_equal(fitted, rgb[:, 320:640])
    heat, seen = map_to_picture(marked(0, 0), fit)
    assert seen[:, 320:640].all() and not seen[:, :320].any() and not seen[:, 640:].any()
    assert heat[:, :320].max() == 0 and heat[:, 640:].max() == 0
    peak_y, peak_x = np.unravel_index(np.argmax(heat), heat.shape)
    assert 320 <= peak_x < 340 and peak_y < 12


def test_a_letterboxed_picture_gets_its_map_between_the_bars():
    frame = cartoon(480, 270)
    phone = np.zeros((853, 480, 3), np.uint8)
    phone[291:561] = frame
    fit = fit_of(853, 480, phone)
    assert fit.kind == "bars" and fit.source == (0, 291, 480, 561)
    assert np.array_equal(fit_to_frame(phone)[0], phone[291:561])
    heat, seen = map_to_picture(marked(15, 15), fit)  # the bottom-right cell of the frame
    assert seen[291:561].all() and not seen[:291].any() and not seen[561:].any()
    peak_y, peak_x = np.unravel_index(np.argmax(heat), heat.shape)
    assert 450 <= peak_x < 480 and 543 <= peak_y < 561


def test_a_smaller_copy_for_the_screen_keeps_the_places():
    fit = fit_of(180, 960, cartoon(960, 180))
    heat, seen = map_to_picture(marked(0, 0), fit, out_size=(480, 90))
    assert heat.shape == (90, 480) and seen[:, 160:320].all() and not seen[:, :160].any()
    peak_y, peak_x = np.unravel_index(np.argmax(heat), heat.shape)
    assert 160 <= peak_x < 170


def test_a_very_tall_picture_shrunk_before_padding_still_maps_onto_all_of_it():
    rgb = np.zeros((20000, 2, 3), np.uint8) + np.arange(2, dtype=np.uint8)[None, :, None]
    fit = fit_of(20000, 2, rgb)
    fitted, _ = fit_to_frame(rgb)
    assert fit.size == (fitted.shape[1], fitted.shape[0]) and fit.sees_all
    heat, seen = map_to_picture(np.ones((SIDE, SIDE), np.float32), fit, out_size=(2, 200))
    assert seen.all() and heat.min() > 0.99


@pytest.mark.parametrize("width, height", [(320, 180), (300, 300), (960, 180), (90, 160), (451, 300)])
def test_fit_of_is_where_fit_to_frame_put_the_picture(width, height):
    rgb = cartoon(width, height)
    fitted, _ = fit_to_frame(rgb)
    fit = fit_of(height, width, rgb)
    assert fit.size == (fitted.shape[1], fitted.shape[0])
    sx0, sy0, sx1, sy1 = fit.source
    tx0, ty0, tx1, ty1 = fit.target
    assert np.array_equal(fitted[ty0:ty1, tx0:tx1], rgb[sy0:sy1, sx0:sx1])


def test_the_overlay_is_the_picture_as_given_with_unseen_parts_greyed():
    wide = cartoon(960, 180)
    drawn, note = overlay_on_picture(wide, marked(8, 8), probability=0.9, threshold=0.5)
    assert drawn.shape == (180, 960, 3) and note == UNSEEN_NOTE
    assert np.abs(drawn[:, :320].astype(int) - 128).max() < 128 * 0.36 + 2  # greyed, no colours
    portrait = cartoon(90, 160)
    drawn, note = overlay_on_picture(portrait, marked(8, 8), probability=0.9, threshold=0.5)
    assert drawn.shape == (160, 90, 3) and note is None
    big = cartoon(4000, 3000)
    drawn, _ = overlay_on_picture(big, marked(8, 8), max_side=800)
    assert drawn.shape == (600, 800, 3)


def test_a_smaller_copy_drawn_with_the_full_pictures_fit():
    wide = cartoon(1920, 360)
    fit = fit_of(360, 1920, wide)
    drawn, note = overlay_on_picture(wide[::4, ::4], marked(8, 8), probability=0.9, fit=fit)
    assert drawn.shape == (90, 480, 3) and note == UNSEEN_NOTE
    assert np.abs(drawn[:, :150].astype(int) - 128).max() < 128 * 0.36 + 2
