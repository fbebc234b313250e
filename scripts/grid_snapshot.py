"""Before a session ends: the converged grid's finished cells, ready to commit, so the next session
(on another machine) resumes from them. Stop the grid first (it rewrites study.json as it goes).

    .venv/bin/python scripts/grid_snapshot.py [grid]      then: git add grid && git commit

study.json keeps only finished cells; the folders of unfinished cells are deleted (their
checkpoints and tuner folders are never committed, so they could not resume elsewhere anyway
and would read "interrupted" with a half history). Prints what it kept.
"""

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tomjerry.atomic import read_json, write_json  # noqa: E402
from tomjerry.runs import states  # noqa: E402
from tomjerry.runs.record import read_run  # noqa: E402


def main(grid: Path) -> None:
    for record_path in sorted((grid / "studies").glob("*/study.json")):
        record = read_json(record_path)
        kept = []
        for cell in record.get("cells", []):
            run_dir = grid / "runs" / cell["run_id"]
            if run_dir.is_dir() and read_run(run_dir).state == states.FINISHED:
                kept.append(cell)
                print(f"kept     {cell['model']:<20} {cell['variant']:<10} {cell['run_id']}")
            else:
                print(f"dropped  {cell['model']:<20} {cell['variant']:<10} {cell['run_id']} (not finished)")
                shutil.rmtree(run_dir, ignore_errors=True)
        record["cells"], record["runs"] = kept, [cell["run_id"] for cell in kept]
        write_json(record_path, record)
    listed = {cell["run_id"] for p in (grid / "studies").glob("*/study.json") for cell in read_json(p)["cells"]}
    for run_dir in (grid / "runs").glob("*"):
        if run_dir.name not in listed:
            shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "grid"))
