"""The result store: one row per verdict, so that `convtx run` recomputes only what changed.

An SQLite file (`.convtx/store.sqlite` in the current folder, or `$CONVTX_STORE`), in WAL mode,
written in short transactions, so that concurrent runs neither block each other for long nor corrupt
it.  Tables: `results` (cell key -> the Result as JSON, the known-bug entries it matched, a checksum),
`hellos` (system fingerprint -> the version and environment its worker reported, so a system whose
cells all come from the store needs no worker) and `timings` (per system: the last measured import,
call and IPC seconds; the runner starts the heaviest first).  Keys: `keys.py`.

Never trusted blindly: a file that is not SQLite, or an SQLite file of another application, or one
that fails SQLite's quick check, is ignored with a warning (and left alone); a row whose checksum does
not match its content is a miss.  A store of convtx's with another schema version is emptied.
Each row remembers when it was last written or read (`used`); closing drops rows unused for
`MAX_AGE_DAYS` and, beyond `MAX_BYTES` of results, the least recently used (the keys of old code and
old versions are never asked for again).  The compilers' persistent caches live beside it, in `cache/` (`cache_dir`).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from convtx.harness.engine.results import Result

DEFAULT_PATH = os.path.join(".convtx", "store.sqlite")
APPLICATION_ID = 0x63747831  # "ctx1": PRAGMA application_id marks the file as convtx's
SCHEMA = 2
MAX_AGE_DAYS = 30
MAX_BYTES = 256 * 2**20  # of stored results (JSON text)
_CHUNK = 500
_HEADER = b"SQLite format 3\x00"
_TABLES = """
CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, system TEXT NOT NULL, case_id TEXT NOT NULL,
    result TEXT NOT NULL, hits TEXT NOT NULL, checksum TEXT NOT NULL, used REAL NOT NULL);
CREATE INDEX IF NOT EXISTS results_used ON results (used);
CREATE TABLE IF NOT EXISTS hellos (fingerprint TEXT PRIMARY KEY, system TEXT NOT NULL, version TEXT,
    environment TEXT NOT NULL, checksum TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS timings (system TEXT PRIMARY KEY, figures TEXT NOT NULL, created REAL NOT NULL);
"""
Warn = Callable[[str], None]


def store_path() -> str:
    return os.environ.get("CONVTX_STORE") or DEFAULT_PATH


def cache_dir(path: str | None = None) -> str:
    """Where the frameworks' persistent compilation caches go: `$CONVTX_CACHE_DIR`, else beside the store."""
    return os.environ.get("CONVTX_CACHE_DIR") or os.path.join(os.path.dirname(os.path.abspath(path or store_path())),
                                                              "cache")


def _warn(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr)


def _checksum(*parts: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


@dataclass
class Hit:
    """A result read back, and the known-bug entries (their content digests) it matched."""

    result: Result
    bugs: list[str] = field(default_factory=list)


@dataclass
class StoredHello:
    version: str | None
    environment: dict[str, Any]


class Store:
    """An open store (use `Store.open`: it returns None, with a warning, for a file it will not trust)."""

    def __init__(self, conn: sqlite3.Connection, path: str, warn: Warn = _warn):
        self.conn, self.path, self.warn = conn, path, warn
        self.pending: list[tuple] = []
        self.touched: list[str] = []  # keys read this run: their `used` time is renewed on flush
        self.bad_rows = 0
        self.broken = False  # an SQLite error happened: no more reads or writes this run

    def _failed(self, err: sqlite3.Error, doing: str) -> None:
        if not self.broken:
            self.warn(f"{self.path}: {doing} failed ({err}): the rest of this run does without the result store")
        self.broken = True

    @classmethod
    def open(cls, path: str | None = None, warn: Warn = _warn) -> "Store | None":
        path = path or store_path()
        why = _foreign_file(path)
        if why:
            warn(f"{path}: {why}: the result store is ignored (remove the file, or set CONVTX_STORE)")
            return None
        try:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as err:
            warn(f"{path}: cannot open the result store ({err}): running without it")
            return None
        try:
            why = _prepare(conn)
        except sqlite3.Error as err:
            why = f"not a usable SQLite database ({err})"
        if why:
            conn.close()
            warn(f"{path}: {why}: the result store is ignored (remove the file, or set CONVTX_STORE)")
            return None
        return cls(conn, path, warn)

    # ---- results ---------------------------------------------------------------------------------

    def results(self, keys: Iterable[str]) -> dict[str, Hit]:
        """The stored results of these keys (rows that fail their checksum or do not parse are misses)."""
        keys = list(keys)
        out: dict[str, Hit] = {}
        if self.broken:
            return out
        try:
            self._read(keys, out)
        except sqlite3.Error as err:
            self._failed(err, "reading")
            return {}
        return out

    def _read(self, keys: list[str], out: dict[str, Hit]) -> None:
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i:i + _CHUNK]
            rows = self.conn.execute(f"SELECT key, result, hits, checksum FROM results WHERE key IN "
                                     f"({','.join('?' * len(chunk))})", chunk).fetchall()
            for key, text, hits, checksum in rows:
                hit = _parse_result(key, text, hits, checksum)
                if hit is None:
                    self.bad_rows += 1
                else:
                    out[key] = hit
                    self.touched.append(key)

    def add(self, key: str, result: Result, bugs: list[str]) -> None:
        """Queue one computed result (written by `flush`)."""
        text = json.dumps(result.to_json(), allow_nan=True, separators=(",", ":"))
        hits = json.dumps(sorted(bugs))
        self.pending.append((key, result.framework, result.case, text, hits, _checksum(key, text, hits), time.time()))

    def flush(self) -> None:
        rows, self.pending = self.pending, []
        if rows:
            self._write("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        touched, self.touched = self.touched, []
        if touched:
            now = time.time()
            self._write("UPDATE results SET used = ? WHERE key = ?", [(now, key) for key in touched])

    def _write(self, statement: str, rows: list[tuple]) -> None:
        if self.broken:
            return
        try:
            with _transaction(self.conn):
                self.conn.executemany(statement, rows)
        except sqlite3.Error as err:
            self._failed(err, "writing")

    # ---- hellos and timings ----------------------------------------------------------------------

    def hello(self, fingerprint: str) -> StoredHello | None:
        try:
            row = None if self.broken else self.conn.execute(
                "SELECT version, environment, checksum FROM hellos WHERE fingerprint = ?", (fingerprint,)).fetchone()
        except sqlite3.Error as err:
            self._failed(err, "reading")
            return None
        if row is None or _checksum(fingerprint, str(row[0]), row[1]) != row[2]:
            return None
        try:
            return StoredHello(row[0], dict(json.loads(row[1])))
        except (ValueError, TypeError):
            return None

    def add_hello(self, fingerprint: str, system: str, version: str | None, environment: dict[str, Any]) -> None:
        env = json.dumps(environment, sort_keys=True, default=str)
        self._write("INSERT OR REPLACE INTO hellos VALUES (?, ?, ?, ?, ?, ?)",
                    [(fingerprint, system, version, env, _checksum(fingerprint, str(version), env), time.time())])

    def timings(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        try:
            rows = [] if self.broken else self.conn.execute("SELECT system, figures FROM timings").fetchall()
        except sqlite3.Error as err:
            self._failed(err, "reading")
            return out
        for system, figures in rows:
            try:
                out[system] = {k: float(v) for k, v in json.loads(figures).items()}
            except (ValueError, TypeError, AttributeError):
                continue
        return out

    def add_timing(self, system: str, figures: dict[str, float]) -> None:
        self._write("INSERT OR REPLACE INTO timings VALUES (?, ?, ?)", [(system, json.dumps(figures), time.time())])

    def close(self) -> None:
        """Write what is queued, drop rows unused for MAX_AGE_DAYS or beyond MAX_BYTES, close."""
        try:
            self.flush()
            self._write("DELETE FROM results WHERE used < ?", [(time.time() - MAX_AGE_DAYS * 86400,)])
            self._write("DELETE FROM results WHERE key IN (SELECT key FROM (SELECT key, SUM(length(result)) OVER "
                        "(ORDER BY used DESC, key) AS kept FROM results) WHERE kept > ?)", [(MAX_BYTES,)])
        finally:
            self.conn.close()


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on an error): one writer at a time, never half a batch."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, value, tb) -> None:
        self.conn.execute("COMMIT" if kind is None else "ROLLBACK")


def _foreign_file(path: str) -> str | None:
    """Why an existing file is not a store convtx may open (None: absent, empty, or SQLite)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(_HEADER))
    except FileNotFoundError:
        return None
    except OSError as err:
        return f"unreadable ({err})"
    return None if head in (b"", _HEADER) else "not an SQLite file"


def _prepare(conn: sqlite3.Connection) -> str | None:
    """Check (and if new, create) the store's tables; why it is not to be used, or None."""
    conn.execute("PRAGMA busy_timeout = 60000")
    with _transaction(conn):
        app = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if app != APPLICATION_ID and (app != 0 or tables):
            return f"an SQLite file of another application (application_id {app:#x})"
        if conn.execute("PRAGMA quick_check(1)").fetchone()[0] != "ok":
            return "a damaged SQLite file (quick_check failed)"
        if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA:
            for table in tables:
                conn.execute(f'DROP TABLE IF EXISTS "{table}"')
        for statement in filter(str.strip, _TABLES.split(";")):
            conn.execute(statement)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return None


def _parse_result(key: str, text: str, hits: str, checksum: str) -> Hit | None:
    if _checksum(key, text, hits) != checksum:
        return None
    try:
        data = json.loads(text)
        fields = set(Result.__dataclass_fields__)
        if set(data) != fields:
            return None
        return Hit(Result(**data), [str(h) for h in json.loads(hits)])
    except (ValueError, TypeError):
        return None
