"""Fetching the real Kaggle dataset with kagglehub."""

import shutil
from pathlib import Path

from tomjerry.data.discovery import KAGGLE_HANDLE, looks_like_dataset


class DownloadError(RuntimeError):
    """The download failed; the message says why and what to do, with no traceback needed."""


def download_dataset(dest=None) -> Path:
    try:
        import kagglehub
    except ImportError:
        raise DownloadError("kagglehub is not installed: pip install kagglehub") from None
    try:
        path = Path(kagglehub.dataset_download(KAGGLE_HANDLE))
    except Exception as error:  # kagglehub raises many kinds: network, HTTP 401/403, ...
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
        raise DownloadError(
            f"Could not download {KAGGLE_HANDLE} from Kaggle ({type(error).__name__}: {first_line}).\n"
            "Check the internet connection and Kaggle credentials (~/.kaggle/kaggle.json or "
            "KAGGLE_USERNAME/KAGGLE_KEY), or download the dataset by hand and pass --data PATH."
        ) from None
    if dest:
        dest = Path(dest)
        if dest.exists() and any(dest.iterdir()):
            raise DownloadError(f"{dest} exists and is not empty; choose another --dest.")
        shutil.copytree(path, dest)
        path = dest
    if not looks_like_dataset(path):
        raise DownloadError(f"The download at {path} has no ground_truth.csv; the dataset layout has changed.")
    return path
