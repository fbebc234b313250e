"""Every way this project differs from the study and the papers it follows, in one list: the
report renders it, and a test keeps the README's "Differences from the study and the papers"
section naming the same items."""

# (title, what differs and why). Plain text: the README says the same in Markdown.
DIFFERENCES = [
    (
        "Normalisation",
        "AlexNet and ZFNet use batch normalisation after every convolution (momentum 0.9), not local "
        "response normalisation; AlexNet has no grouped convolutions (the paper's two-GPU split). Inputs are "
        "normalised inside each model.",
    ),
    (
        "Schedule",
        "every preset stops early on validation loss and evaluates the best epoch's weights (seed: at most "
        "10 epochs, patience 3; cpu: at most 40, patience 3, and at most 200 for EfficientNet-Lite0, whose head at 1e-4 "
        "was still improving at epoch 40); the study trained fixed epochs. metrics.json records best_epoch and "
        "evaluated_epoch.",
    ),
    (
        "Image size",
        "seed is 224 px as the study; cpu is 136 px (the smallest size at which AlexNet's last pooled map "
        "is 3x3; 128 px gives 2x2, 96 px 1x1) and fast 96 px, to fit 2 CPU cores.",
    ),
    (
        "Augmentation",
        "the study's ImageDataGenerator settings as Keras layers (rotation 5 degrees, shifts 0.01, zoom "
        "0.2 with x and y drawn independently as ImageDataGenerator does, both flips, nearest fill). The light "
        "variant (horizontal flip, zoom 0.1) is ours.",
    ),
    (
        "Frames",
        "the copy used here re-encodes the Kaggle frames at 480x270 (JPEG quality 90, same 16:9); the study "
        "read the originals (1280x720 and 854x480). Both are resized to the model's square input with INTER_AREA; "
        "a run with the 16:9 input shape (ours) keeps the frame's shape instead of squeezing it into a square.",
    ),
    (
        "Splits",
        "the study used one random 80/10/10 split; ours are stratified by the four combinations, and the "
        "headline is the shots split (the random split is shown beside it).",
    ),
    (
        "Metrics",
        "exact match (both labels right) and 95 % intervals (bootstrap over shots) are ours; the study "
        'reported binary accuracy and "correct predictions" (binary accuracy x N, hence half frames).',
    ),
    (
        "Tuning",
        "Keras Tuner random search over the learning rate {1e-2, 1e-3, 1e-4} on validation loss as the study "
        "(3 points, so 3 trials cover it), each trial with the same budget; InceptionV3 also searches dropout. One "
        "guard: a trial whose validation AUC (mean over the labels, at the epoch kept) is below 0.6 is kept only when "
        "no trial reaches 0.6, because on unseen shots a from-scratch net at 1e-2 reached the lowest validation loss "
        "by predicting the base rates (AUC 0.55). A tuned-with-augmentation cell that diverges (no improvement after "
        "epoch 1) or collapses (validation AUC below 0.6) is retried with the search's next rate whose trial ranked "
        "the frames (if any is left), and the study record says so.",
    ),
    (
        "Models",
        "InceptionV3 needs its ImageNet weights file (no network here to fetch it); nothing is trained from "
        "random weights under its name. EfficientNet-Lite0 is not in the study.",
    ),
    (
        "Frozen base",
        "a pretrained model whose base is frozen and whose frames are not augmented trains its head on "
        "the base's features, computed once per run (Chollet's fast feature extraction), instead of running the base "
        "every epoch as the study's InceptionV3 did; the weights it learns are the same up to floating-point order "
        "(a test checks it), and metrics.json says so (cached_features).",
    ),
    (
        "Inference",
        "the Video page and the video command run the same float32 network through TensorFlow Lite "
        "(XNNPACK), checked against Keras before use; probabilities agree to about 1e-6.",
    ),
]
