"""The inference wing: a trained run's model answering pictures, clips and "why".

    predict       the inference recipe (inference.json) and `Predictor`, the one way a picture
                  becomes an answer
    explain       Grad-CAM: where in the frame each label's score comes from
    novelty       out-of-distribution scores ("this does not look like a Tom and Jerry frame")
    lite_runtime  a run's model through TensorFlow Lite with XNNPACK, for video
    video         reading a clip as a bounded stream of sampled frames
    timeline      a whole clip classified: one row per sampled frame, shots and seconds per label
    workers       bounded shared inference work for a served app (one verdict and one Grad-CAM thread)

May import: runs, config, models, data, metrics and the shared bottom (tomjerry, paths, atomic,
quiet). This file imports nothing.
"""
