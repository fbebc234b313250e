"""A class on one app: N sessions each open Predict and then, all at the same moment, upload 3
frames of their own.

The server (`streamlit run app.py`, loopback only, class mode on) is pinned to core 0 and the
headless Chromium that plays the students to core 1 (`taskset`), because in a classroom the
browsers run on the students' devices. For each N it reports what the browsers see (Predict
opened; upload to all verdicts shown; to all Grad-CAM maps shown) beside the server's own times,
written by the app itself when TOMJERRY_TIMINGS names a file (serving.py: script run start to
page done; an upload's arrival at the server to its verdict, and to its maps, on their way to the
browser; and the verdict from the browser's request for the run that shows it, the server's own
part, since the browser asks only once all its files are up), the server's CPU seconds and memory (RSS) over time, and its memory 2 minutes after the
sessions close. The tabs open a few at a time (OPENING: thirty at once starved the browsers'
one core so that none opened); the uploads all start together. Before the first N one session
(not counted) loads the model; the memory baseline is taken after it. Every session uploads frames no other session sends (real frames from the
dataset when found, else demo frames), so no answer comes from another student's cache.

    python benchmarks/class_load.py --sessions 1 10 [--after 120] [--limit 480] [--out FILE.json]

Goal (issue 28), N = 30, server on one core: p95 verdict within 3 s of the upload reaching the
server, p95 page run within 2 s, memory at most 20 MB more per session, and back within 20 % of
its start 2 minutes after the sessions close. The machine's load average is printed beside.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "tests"))
from local_app import CHROMIUM, start_app  # noqa: E402  (the browser tests' way to serve the app)
from local_app import FLAGS as BROWSER_FLAGS  # noqa: E402

FLAGS = [
    *BROWSER_FLAGS,
    # Thirty tabs of one browser stand for thirty devices: none may be throttled as a background tab.
    "--disable-renderer-backgrounding",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
]
FRAMES = 3
SERVER_CORE, BROWSER_CORE = 0, 1


def p95(values):
    values = sorted(values)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, round(0.95 * len(values) + 0.5) - 1))]


def median(values):
    return statistics.median(values) if values else float("nan")


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as file:
            return [int(child) for child in file.read().split()]
    except OSError:
        return []


def _rss_cpu(pid: int) -> tuple[float, float]:
    with open(f"/proc/{pid}/status") as file:
        rss = next(int(line.split()[1]) for line in file if line.startswith("VmRSS:")) / 1024
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return rss, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Monitor:
    """The server process's RSS (MB) and CPU seconds, and those of its children (the Grad-CAM
    worker process), sampled every second from /proc."""

    def __init__(self, pid: int):
        self.pid, self.samples, self._stop = pid, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def read(self):
        """(time, server RSS, server CPU s, children's RSS, children's CPU s)."""
        rss, cpu = _rss_cpu(self.pid)
        child_rss = child_cpu = 0.0
        for child in _children(self.pid):
            try:
                r, c = _rss_cpu(child)
            except (OSError, StopIteration):
                continue
            child_rss, child_cpu = child_rss + r, child_cpu + c
        return time.time(), rss, cpu, child_rss, child_cpu

    def _run(self):
        while not self._stop.is_set():
            try:
                self.samples.append(self.read())
            except (OSError, StopIteration):
                return
            self._stop.wait(1.0)

    def stop(self):
        self._stop.set()


def pick_frames(count: int, data: str | None) -> tuple[list[Path], str]:
    """`count` distinct frames: the dataset's (discovery order) when it is not the demo, else demo ones."""
    from tomjerry.data.discovery import find_dataset

    try:
        source = find_dataset(data)
    except ValueError:
        source = find_dataset(use_environment=False)
    files = sorted((Path(source.path) / "tom_and_jerry").rglob("*.jpg"))
    if source.is_demo or len(files) < count:
        from tomjerry.data.demo import generate_demo_dataset

        root = Path(tempfile.mkdtemp(prefix="class-load-demo-")) / "tom_and_jerry"
        generate_demo_dataset(root)
        files = sorted(root.rglob("*.png")) + sorted(root.rglob("*.jpg"))
        source_text = "demo frames"
    else:
        source_text = f"real frames from {source.path}"
    step = max(1, len(files) // count)
    return files[::step][:count], source_text


def start_server(timings: Path, data: str | None, log: Path):
    env = {"TOMJERRY_TIMINGS": str(timings), "TOMJERRY_CLASS": "1"}
    if data:
        env["TOMJERRY_DATA"] = data
    try:
        return start_app(env, 90, log=log.open("w"), prefix=("taskset", "-c", str(SERVER_CORE)))
    except RuntimeError as error:
        raise SystemExit(str(error)) from None


VERDICTS_SHOWN = """n => [...document.querySelectorAll("[data-testid='stMetricLabel']")]
    .filter(e => e.textContent.includes("Verdict")).length >= n"""
MAPS_SHOWN = """n => [...document.querySelectorAll("[data-testid='stImageCaption']")]
    .filter(e => e.textContent.includes("Grad-CAM")).length >= n
    && !document.body.textContent.includes("being drawn")"""


async def student(context, url: str, frames: list[Path], timeout_s: float, opening, go) -> dict:
    """One session (a tab): open Predict (at most OPENING tabs loading at a time), wait until every
    session has opened, then upload its frames and wait for every verdict and every map. The
    conditions are checked inside the page every 250 ms, not polled from here."""
    page = await context.new_page()
    result = {"ok": False}
    try:
        async with opening:
            start = time.time()
            await page.goto(f"{url}/Predict", timeout=timeout_s * 1000, wait_until="commit")
            chooser = page.locator("input[type='file']").first
            await chooser.wait_for(state="attached", timeout=timeout_s * 1000)
            result["open"] = time.time() - start
    except Exception as error:  # a session that does not open is counted, not fatal
        result["error"] = f"open: {type(error).__name__}: {str(error).splitlines()[0][:120]}"
    await go.wait()
    try:
        if "error" in result:
            return result
        sent = time.time()
        await chooser.set_input_files([str(frame) for frame in frames])
        left = lambda: max(1.0, sent + timeout_s - time.time()) * 1000  # noqa: E731
        await page.wait_for_function(VERDICTS_SHOWN, arg=len(frames), polling=250, timeout=left())
        result["verdict"] = time.time() - sent
        await page.wait_for_function(MAPS_SHOWN, arg=2 * len(frames), polling=250, timeout=left())
        result["maps"] = time.time() - sent
        result["errors"] = await page.locator("[data-testid='stException']").count()
        result["ok"] = True
    except Exception as error:  # a session that does not finish is counted, not fatal
        result["error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"
    finally:
        await page.close()
    return result


# Tabs loading the app at once. Thirty tabs of one Chromium on one core, all loading Streamlit's
# scripts at the same moment, did not open in 4 minutes (0 of 30): that measures the one core
# playing thirty devices, not the server. So the tabs open a few at a time, and then every
# session uploads at the same moment, which is the hardest case for the server's verdicts.
OPENING = 3


async def play(url: str, groups: list[list[Path]], timeout_s: float) -> list[dict]:
    """Every session a tab of one browser context: a tab is a session of its own (Streamlit's
    sessions are per connection), and the tabs share Chromium's HTTP and code caches, so the app's
    scripts are parsed once, as each student's own browser would have them cached. The tabs open
    OPENING at a time; once all are open (or failed to), all upload at once."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 1600})
            go = asyncio.Barrier(len(groups))  # every session uploads once all have opened
            opening = asyncio.Semaphore(OPENING)
            return await asyncio.gather(*(student(context, url, frames, timeout_s, opening, go) for frames in groups))
        finally:
            await browser.close()


def read_timings(path: Path, since: float, until: float) -> dict:
    runs, verdicts, maps, asked = [], [], [], []
    if path.exists():
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if record["event"] == "run" and not record.get("fragment") and since <= record["start"] <= until:
                runs.append(record["end"] - record["start"])
            elif record["event"] == "verdict" and since <= record["arrived"] <= until:
                verdicts.append(record["seconds"])
                asked.append(record.get("from_request", float("nan")))
            elif record["event"] == "maps" and since <= record["arrived"] <= until:
                maps.append(record["seconds"])
    return {"runs": runs, "verdicts": verdicts, "maps": maps, "from_request": asked}


def rss_at(monitor: Monitor, moment: float) -> float:
    before = [sample[1] for sample in monitor.samples if sample[0] <= moment]
    return before[-1] if before else monitor.samples[0][1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--after", type=float, default=120, help="seconds to watch memory after the sessions close")
    parser.add_argument("--limit", type=float, default=480, help="seconds the whole benchmark may take")
    parser.add_argument("--data", default=None)
    parser.add_argument("--out", default=None, help="a JSON file for the figures")
    args = parser.parse_args()
    if max(args.sessions) > 40 or min(args.sessions) < 1:
        raise SystemExit("--sessions: 1 to 40 each (a bounded benchmark)")
    began = time.time()
    frames, frames_text = pick_frames(FRAMES * (sum(args.sessions) + 1), args.data)
    work = Path(tempfile.mkdtemp(prefix="class-load-"))
    timings = work / "timings.jsonl"
    process, url = start_server(timings, args.data, work / "server.log")
    os.sched_setaffinity(0, {BROWSER_CORE})  # this process and the Chromium it starts: the other core
    monitor = Monitor(process.pid)
    report = {"frames": frames_text, "load_before": os.getloadavg(), "results": []}
    try:
        print(f"warm-up session ({frames_text}) ...", flush=True)
        warm = asyncio.run(play(url, [frames[:FRAMES]], 180))[0]
        print(f"  {warm}", flush=True)
        time.sleep(5)
        baseline = monitor.samples[-1][1]
        report["baseline_rss_mb"] = baseline
        used = FRAMES
        for count in args.sessions:
            left = args.limit - (time.time() - began) - args.after - 10
            if left < 30:
                print(f"N={count}: skipped, the time limit is near", flush=True)
                break
            groups = [frames[used + FRAMES * i : used + FRAMES * (i + 1)] for i in range(count)]
            used += FRAMES * count
            load = os.getloadavg()
            before, start = monitor.read(), time.time()
            results = asyncio.run(play(url, groups, min(240, left)))
            closed, then = time.time(), monitor.read()
            peak = max(sample[1] for sample in monitor.samples if sample[0] >= start)
            maps_peak = max(sample[3] for sample in monitor.samples if sample[0] >= start)
            time.sleep(args.after)
            after = monitor.read()
            server = read_timings(timings, start, closed)
            done = [r for r in results if r["ok"]]
            row = {
                "sessions": count,
                "finished": len(done),
                "errors_shown": sum(r.get("errors", 0) for r in done),
                "failures": [r["error"] for r in results if not r["ok"]],
                "load_average": load,
                "browser_open_median": median([r["open"] for r in results if "open" in r]),
                "browser_open_p95": p95([r["open"] for r in results if "open" in r]),
                "browser_verdicts_p95": p95([r["verdict"] for r in results if "verdict" in r]),
                "browser_maps_p95": p95([r["maps"] for r in done]),
                "server_run_median": median(server["runs"]),
                "server_run_p95": p95(server["runs"]),
                "server_runs": len(server["runs"]),
                "server_verdict_p95": p95(server["verdicts"]),
                "server_verdict_max": max(server["verdicts"], default=float("nan")),
                # From the browser's request for the run that shows it (after its uploads): the
                # server's own part; the rest is the browser finishing its uploads and asking.
                "server_verdict_from_request_p95": p95(server["from_request"]),
                "server_verdict_from_request_max": max(server["from_request"], default=float("nan")),
                "server_verdicts": len(server["verdicts"]),
                "server_maps_p95": p95(server["maps"]),
                "server_cpu_s": then[2] - before[2],
                "maps_process_cpu_s": then[4] - before[4],
                "maps_process_rss_peak_mb": maps_peak,
                "maps_process_rss_after_mb": after[3],
                "seconds": closed - start,
                "rss_baseline_mb": baseline,
                "rss_peak_mb": peak,
                "rss_close_mb": rss_at(monitor, closed),
                "rss_after_mb": after[1],
                "after_s": args.after,
                "per_session_mb": (peak - baseline) / count,
            }
            report["results"].append(row)
            print(json.dumps(row), flush=True)
    finally:
        monitor.stop()
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    report["load_after"] = os.getloadavg()
    report["rss_series"] = [tuple(round(v, 2) for v in (t - began, *rest)) for t, *rest in monitor.samples]
    print()
    print(f"{frames_text}; server on core {SERVER_CORE}, Chromium on core {BROWSER_CORE}; load {report['load_before']}")
    print(
        "| N | done | load (1 min) | open median / p95 (browser) | verdicts p95 (browser) | maps p95 (browser) "
        "| page run median / p95 (server) | verdict p95 / max (server) | from the run request p95 / max (server) "
        "| maps p95 (server) | CPU s server / maps "
        "| RSS base / peak / +per session / after (MB) | maps process RSS peak (MB) |"
    )
    print("|" + "---|" * 13)
    for r in report["results"]:
        print(
            f"| {r['sessions']} | {r['finished']} | {r['load_average'][0]:.1f} "
            f"| {r['browser_open_median']:.1f} / {r['browser_open_p95']:.1f} s | {r['browser_verdicts_p95']:.1f} s "
            f"| {r['browser_maps_p95']:.1f} s | {r['server_run_median']:.2f} / {r['server_run_p95']:.2f} s "
            f"| {r['server_verdict_p95']:.2f} / {r['server_verdict_max']:.2f} s "
            f"| {r['server_verdict_from_request_p95']:.2f} / {r['server_verdict_from_request_max']:.2f} s "
            f"| {r['server_maps_p95']:.1f} s "
            f"| {r['server_cpu_s']:.0f} / {r['maps_process_cpu_s']:.0f} | {r['rss_baseline_mb']:.0f} / "
            f"{r['rss_peak_mb']:.0f} / {r['per_session_mb']:+.1f} / {r['rss_after_mb']:.0f} after {r['after_s']:.0f} s "
            f"| {r['maps_process_rss_peak_mb']:.0f} |"
        )
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1))
    print(f"server log and timings: {work}")


if __name__ == "__main__":
    main()
