"""Which trial of a search the tuned cell keeps, and which learning rates its augmented cell may
inherit: the study's rule (lowest validation loss) with one guard, a deviation from the study.

Why the guard: on frames from unseen shots a from-scratch network at learning rate 1e-2 reaches
the lowest validation loss of its search by predicting the labels' base rates for every frame. In
the converged grid (shots split 42) ZFNet's 1e-2 trial had validation loss 0.671 against 0.686 and
0.694 for 1e-4 and 1e-3, but a validation AUC of 0.545 against 0.715 and 0.752; AlexNet's 0.580
against 0.685. The augmented ZFNet that inherited 1e-2 answered "neither" for every frame. A trial
whose validation AUC is below `MIN_VALIDATION_AUC` does not rank the frames: it is chosen only
when no trial does.

Pure pandas (no TensorFlow): the study's pages read it too.
"""

from pathlib import Path

import numpy as np
import pandas as pd

# 0.5-0.6 is the "fail" band of the usual grading of an AUC (0.6-0.7 poor, 0.7-0.8 fair, ...):
# a model below it ranks frames barely better than a coin. The mean over the two labels, as
# Keras's AUC(multi_label=True) reports it.
MIN_VALIDATION_AUC = 0.6
RULE = (
    f"lowest validation loss among the trials whose validation AUC (mean over tom and jerry, at the "
    f"epoch kept) is at least {MIN_VALIDATION_AUC}; the lowest validation loss of all when none is"
)


def kept_epoch_auc(history: pd.DataFrame) -> float | None:
    """The validation AUC of a trial at the epoch it keeps (its lowest validation loss: Keras
    Tuner's checkpoint and score). history: one row per epoch with `val_loss` and `val_auc`
    (a trial's tuner_history/trial_<id>.csv). None where either column is missing or empty."""
    if history is None or not {"val_loss", "val_auc"} <= set(history.columns):
        return None
    rows = history.dropna(subset=["val_loss", "val_auc"])
    if rows.empty:
        return None
    # By position: the first epoch with the lowest loss, as idxmin picks it, whatever the index holds.
    return float(rows.val_auc.to_numpy()[rows.val_loss.to_numpy().argmin()])


def add_validation_auc(trials: pd.DataFrame, history_folder: Path) -> pd.DataFrame:
    """trials (trials.csv: trial_id, status, val_loss, ...) with `val_auc`, read from each trial's
    history in `history_folder` (NaN where a trial has none)."""
    trials = trials.copy()
    values = []
    for trial_id in trials.trial_id:
        path = Path(history_folder) / f"trial_{trial_id}.csv"
        try:
            auc = kept_epoch_auc(pd.read_csv(path)) if path.is_file() else None
        except (OSError, ValueError, pd.errors.EmptyDataError, pd.errors.ParserError):
            auc = None
        values.append(np.nan if auc is None else round(auc, 6))
    trials["val_auc"] = values
    return trials


def selection_order(trials: pd.DataFrame) -> pd.DataFrame:
    """The completed trials in the order the study takes them: first those that rank the frames
    (`val_auc` at least MIN_VALIDATION_AUC, or unknown: a search recorded without AUC keeps the
    study's rule), by validation loss; then the others, by validation loss. Adds `ranks_frames`
    (bool) and `selection_rank` (0: the trial the tuned cell keeps; 1, 2, ...: the rates an
    augmented cell falls back to). Empty where no trial completed."""
    done = trials[(trials.status == "COMPLETED") & trials.val_loss.notna()].copy()
    auc = done["val_auc"] if "val_auc" in done else pd.Series(np.nan, index=done.index)
    done["ranks_frames"] = auc.isna() | (auc >= MIN_VALIDATION_AUC)
    done = done.sort_values(["ranks_frames", "val_loss"], ascending=[False, True], kind="stable")
    done["selection_rank"] = range(len(done))
    return done


def passed_over(order: pd.DataFrame) -> list[dict]:
    """Trials with a lower validation loss than the chosen one that the guard set aside."""
    if order.empty:
        return []
    chosen = order.iloc[0]
    lower = order[(order.val_loss < chosen.val_loss) & ~order.ranks_frames]
    return [
        {
            "trial_id": str(row.trial_id),
            "learning_rate": float(row.learning_rate),
            "val_loss": float(row.val_loss),
            "val_auc": float(row.val_auc),
        }
        for row in lower.itertuples()
    ]


def collapsed(result: dict) -> bool:
    """A finished run whose validation AUC (mean over the labels) is below MIN_VALIDATION_AUC:
    it does not rank the frames (e.g. it answers "neither" for every one). result: metrics.json."""
    labels = ((result or {}).get("validation") or {}).get("labels") or {}
    values = [entry.get("auc") for entry in labels.values()]
    if not values or any(value is None for value in values):
        return False
    return float(np.mean(values)) < MIN_VALIDATION_AUC
