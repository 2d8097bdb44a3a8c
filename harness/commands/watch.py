"""`convtx watch`: the edit-and-re-run loop, with every system's worker kept warm.

It starts the selected systems' workers at once in the background (the heaviest first) and keeps
them (`engine.pool.Pool(keep=True)`), runs the suite, then re-runs it each time a case file (`.yaml`,
`.yml`, or a tensor `.npy`/`.npz`) under the watched paths, or a `--known-bugs` file, changes.
Every run goes through the result store, so a re-run computes only the cells of what changed - on
workers whose framework is already imported and whose compilations are cached - and says so on its
store line.  Each run prints the summary `convtx run` prints and rewrites `--json`/`--html`/`--junit`
if given.  Bad input is reported as by `convtx run` (file:line:col, the other cases still run) and
the watch goes on.  Ctrl-C (or SIGTERM) stops the workers and ends it with exit code 0, or 130 if it
interrupted a run.

File events come from watchfiles (inotify/FSEvents, or polling with `--poll`, e.g. on network
file systems): changes within a short window are one re-run.
"""

from __future__ import annotations

import queue
import signal
import threading
import time

from convtx.harness.caseformat.casefile import load_suite
from convtx.harness.commands.options import add_known_bugs_option, add_systems_option, selected_systems
from convtx.harness.commands.run import (DEFAULT_CASES, EXIT_INTERRUPTED, EXIT_OK, add_output_options,
                                         existing_paths, print_errors, sigterm_as_interrupt, store_line,
                                         write_outputs)
from convtx.harness.commands.selection import select

WATCHED = (".yaml", ".yml", ".npy", ".npz")


def add_parser(sub) -> None:
    p = sub.add_parser("watch", help="run the cases, then again on every change, with the workers kept warm")
    p.add_argument("paths", nargs="*", default=[DEFAULT_CASES], help="case files or folders (default: cases/)")
    add_systems_option(p)
    p.add_argument("-k", dest="keyword", metavar="EXPR", help="only cases whose id, title or tags match")
    add_known_bugs_option(p)
    add_output_options(p)
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per framework call (default 120)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="device for frameworks that have one")
    p.add_argument("--poll", action="store_true", help="poll the files instead of file-system events")


def watched(change, path: str) -> bool:
    """A change that can alter a result: a case file or a tensor file beside it."""
    return path.endswith(WATCHED)


def run(args) -> int:
    from convtx.harness.engine.pool import Pool
    from convtx.harness.engine.store import Store
    frameworks = selected_systems(args.frameworks)
    paths = existing_paths(args.paths)
    store = Store.open()
    pool = Pool(keep=True)
    # watching from now (a file saved during a run is not missed): the cases and the user's known-bug files
    changes = _Changes(paths + existing_paths(list(args.known_bugs)), args.poll)
    previous = signal.signal(signal.SIGTERM, sigterm_as_interrupt)
    try:
        _warm(pool, frameworks, args, store)
        n, why = 1, "start"
        while not _cycle(args, paths, frameworks, store, pool, n, why):
            n, why = n + 1, changes.next()
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        changes.stop()
        signal.signal(signal.SIGTERM, previous)
        pool.close()
        if store is not None:
            store.close()
        print("watch: stopped", flush=True)


class _Changes:
    """The watched files' changes, collected by a thread (watchfiles) from the start."""

    def __init__(self, paths: list[str], poll: bool):
        import watchfiles
        self._queue: queue.Queue = queue.Queue()
        self._stop = threading.Event()

        def collect() -> None:
            for found in watchfiles.watch(*paths, watch_filter=watched, force_polling=poll or None,
                                          stop_event=self._stop, raise_interrupt=False):
                self._queue.put(found)
        threading.Thread(target=collect, daemon=True, name="convtx-watch-files").start()

    def next(self) -> str:
        """Wait for changes (every change made meanwhile is one re-run); what changed, in a few words."""
        found: set = set()
        while not found:
            try:
                found |= self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
        while not self._queue.empty():
            found |= self._queue.get_nowait()
        names = sorted({path for _, path in found})
        return "changed: " + ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")

    def stop(self) -> None:
        self._stop.set()


def _options(args, store, pool, frameworks: list[str]):
    from convtx.harness.engine import knownbugs
    from convtx.harness.engine.runner import RunOptions
    return RunOptions(timeout=args.timeout, device=args.device, known_bugs=knownbugs.load(frameworks, args.known_bugs),
                      store=store, pool=pool)


def _warm(pool, frameworks: list[str], args, store) -> None:
    """Start every installed system's worker now, and say when they are all up."""
    from convtx.harness.engine.runner import prestart
    t0 = time.perf_counter()
    started = prestart(pool, frameworks, _options(args, store, pool, frameworks))
    print(f"watch: starting {len(started)} worker(s) in the background: {', '.join(started) or 'none'}", flush=True)

    def announce() -> None:
        up = pool.ready()
        print(f"watch: {len(up)} worker(s) warm after {time.perf_counter() - t0:.1f} s", flush=True)
    threading.Thread(target=announce, daemon=True, name="convtx-watch-ready").start()


def _cycle(args, paths: list[str], frameworks: list[str], store, pool, n: int, why: str) -> bool:
    """One run of the suite as the files are now; True if it was interrupted."""
    from convtx.harness.engine.runner import run_suite
    from convtx.reports import terminal
    t0 = time.perf_counter()
    print(f"watch: run {n} ({why})", flush=True)
    suite = select(load_suite(paths), args.keyword, False)
    print_errors(suite)
    opts = _options(args, store, pool, frameworks)
    printer = terminal.Printer()
    try:
        results = run_suite(suite, frameworks, progress=printer.progress, opts=opts)
    finally:
        printer.close()
    store_line(opts)
    failing = len(results.failing())
    printer.summary(results, terminal.Verdict(failing, len(suite.errors)))
    if not results.partial:
        write_outputs(args, results, suite)
    print(f"watch: run {n} done in {time.perf_counter() - t0:.1f} s; watching {', '.join(paths)} "
          "(Ctrl-C to stop)", flush=True)
    return results.partial
