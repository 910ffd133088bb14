"""Barnraise client for Python: submit jobs to a Barnraise master and read their results.

Python 3.9+, standard library only: copy this one file next to your script.

    from barnraise import Client
    client = Client("http://127.0.0.1:8080", token)      # or BARNRAISE_URL / BARNRAISE_TOKEN
    squares = client.map("export default (n) => n * n", range(10))

    with client.submit(code, inputs) as job:             # leaving the block cancels an unfinished job
        for line in job.as_completed():                  # {"index": 3, "status": "done", "output": ...}
            print(line)

Job code is JavaScript (an ES module whose default export is `(input, ctx) => output`), or Python: a module
defining `main(input, ctx)` (`language="python"`), or simply a function, whose source is sent:

    def square(n):
        return n * n

    client.map(square, range(10))                         # runs on Pyodide in the volunteers' browsers

Volunteers run it in their browsers. Results stream back as dicts, the lines of the REST results stream.
"""
from __future__ import annotations

import ast
import hashlib
import inspect
import http.client
import json
import os
import random
import socket
import sys
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, BinaryIO, Callable, Dict, Iterable, Iterator, List, Optional, Union

__all__ = ["Client", "Job", "python_job_source", "BarnraiseError", "ApiError", "MasterUnreachable", "JobCancelledError", "TaskError"]

_FINISHED = ("completed", "cancelled")
_TRANSIENT_STATUS = (429, 502, 503, 504)
# Reconnections in a row that bring no new result before a followed stream gives up (about half a minute).
_MAX_FRUITLESS = 8
# A followed stream says nothing while tasks run; after this long in silence it is read again (nothing repeats).
_STREAM_IDLE_S = 300.0


class BarnraiseError(Exception):
    """Base of this module's errors; `code` is a literal such as "JOB_NOT_FOUND"."""

    code = "BARNRAISE"

    def __init__(self, message: str, code: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class ApiError(BarnraiseError):
    """An error reply of the REST API: `status` is the HTTP status, `code` and `message` the body's."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{message} ({code})", code)
        self.status = status
        self.message = message


class MasterUnreachable(BarnraiseError):
    """No reply: the master is down or the connection broke."""

    code = "CONNECTION"


class JobCancelledError(BarnraiseError):
    """`map` on a job that someone cancelled before every task ended."""

    code = "JOB_CANCELLED"


class TaskError(BarnraiseError):
    """A task that failed after its attempts: `index`, `message` (its last error), `attempts`."""

    code = "TASK_FAILED"

    def __init__(self, job: "Job", index: int, message: str) -> None:
        super().__init__(f"task {index} failed: {message}")
        self.job_id = job.id
        self.index = index
        self.message = message
        self._job = job
        self._attempts: Optional[int] = None

    @property
    def attempts(self) -> int:
        """Attempts the task had (its attempt history on the master; looked up on first use)."""
        if self._attempts is None:
            self._attempts = len(self._job.task(self.index)["attempts"])
        return self._attempts


def _backoff(n: int, base: float = 0.2, cap: float = 5.0) -> float:
    delay = min(cap, base * 2 ** (n - 1))
    return delay / 2 + random.random() * delay / 2


class Client:
    """The connection to one master. Requests that fail for a passing reason are tried `retries` more times."""

    def __init__(self, url: Optional[str] = None, token: Optional[str] = None, *, retries: int = 3, timeout: float = 30.0) -> None:
        url = url or os.environ.get("BARNRAISE_URL")
        if not url:
            raise BarnraiseError("no master URL: pass Client(url) or set BARNRAISE_URL", "NO_URL")
        self.url = url.rstrip("/")
        self.token = token or os.environ.get("BARNRAISE_TOKEN")
        self.retries = retries
        self.timeout = timeout

    def _open(self, method: str, path: str, body: Union[bytes, BinaryIO, None] = None, headers: Optional[Dict[str, str]] = None, timeout: Optional[float] = None) -> http.client.HTTPResponse:
        """One try; the open response when 2xx, else ApiError or MasterUnreachable."""
        h = dict(headers or {})
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        if body is not None:
            h.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(self.url + path, data=body, headers=h, method=method)
        try:
            return urllib.request.urlopen(req, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as err:
            text = err.read().decode("utf-8", "replace")
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = {}
            raise ApiError(err.code, parsed.get("code", f"HTTP_{err.code}"), parsed.get("message", text[:200] or err.reason)) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
            raise MasterUnreachable(f"{method} {path}: cannot reach the master at {self.url} ({err})") from err

    def _request(self, method: str, path: str, payload: Any = None, headers: Optional[Dict[str, str]] = None) -> Any:
        """`_open` with retries of transient failures (every operation of the API may be repeated); the JSON reply."""
        body = None if payload is None else json.dumps(payload).encode("utf-8")
        for n in range(1, self.retries + 2):
            try:
                with self._open(method, path, body, headers) as resp:
                    return json.loads(resp.read())
            except (MasterUnreachable, ApiError) as err:
                transient = isinstance(err, MasterUnreachable) or err.status in _TRANSIENT_STATUS
                if not transient or n > self.retries:
                    raise
                time.sleep(_backoff(n))

    def submit(self, code: Union[str, Callable[..., Any]], inputs: Iterable[Any], *, name: Optional[str] = None, timeout_ms: Optional[int] = None, max_attempts: Optional[int] = None, priority: Optional[int] = None, idempotency_key: Optional[str] = None, **extra: Any) -> "Job":
        """Submit a job; returns once the master has stored it. Sends an Idempotency-Key (a new UUID unless
        given), the same on each retry, so a lost reply never makes two jobs. `extra` fields go in the body as they are,
        e.g. `assets={"model.wasm": client.upload_asset("model.wasm")}`, or `language="python"` for Python code.
        `code` may be a Python function instead: its source becomes a Python job (see `python_job_source`)."""
        if callable(code):
            code, extra = python_job_source(code), {**extra, "language": "python"}
        body: Dict[str, Any] = {"code": code, "inputs": list(inputs), **extra}
        for key, value in (("name", name), ("timeoutMs", timeout_ms), ("maxAttempts", max_attempts), ("priority", priority)):
            if value is not None:
                body[key] = value
        summary = self._request("POST", "/api/jobs", body, {"Idempotency-Key": idempotency_key or str(uuid.uuid4())})
        return Job(self, summary["id"], summary)

    def upload_asset(self, source: Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]) -> str:
        """Store an asset on the master (PUT /api/assets/<sha256>) unless it has it already (HEAD), and return
        its hex SHA-256, which a job names it by: `client.submit(code, inputs, assets={"model.wasm": sha})`;
        job code reads it as `ctx.assets.bytes("model.wasm")`. A file path is hashed and sent in chunks,
        never read whole into memory."""
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            sha, size = hashlib.sha256(data).hexdigest(), len(data)
            body: Callable[[], Any] = lambda: data
        else:
            path = os.fspath(source)
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
            sha, size = digest.hexdigest(), os.path.getsize(path)
            body = lambda: open(path, "rb")  # noqa: E731 (a fresh file for each try)
        if self.has_asset(sha):
            return sha
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        for n in range(1, self.retries + 2):
            data_or_file = body()
            try:
                with self._open("PUT", f"/api/assets/{sha}", data_or_file, headers, timeout=max(self.timeout, 600.0)) as resp:
                    resp.read()
                    return sha
            except (MasterUnreachable, ApiError) as err:
                transient = isinstance(err, MasterUnreachable) or err.status in _TRANSIENT_STATUS
                if not transient or n > self.retries:
                    raise
                time.sleep(_backoff(n))
            finally:
                if hasattr(data_or_file, "close"):
                    data_or_file.close()
        raise AssertionError("unreachable")

    def has_asset(self, sha256: str) -> bool:
        """Whether the master has the asset with this SHA-256 (HEAD /api/assets/<sha256>)."""
        try:
            with self._open("HEAD", f"/api/assets/{sha256}") as resp:
                resp.read()
                return True
        except ApiError as err:
            if err.status == 404:
                return False
            raise

    def map(self, code: Union[str, Callable[..., Any]], inputs: Iterable[Any], *, return_exceptions: bool = False, **job_options: Any) -> List[Any]:
        """Run `code` (job code, or a Python function: see `submit`) on every input and return the outputs in input order. A failed task raises its TaskError
        (and the job is cancelled), unless `return_exceptions`, which puts the TaskError in its place."""
        with self.submit(code, inputs, **job_options) as job:
            outputs: List[Any] = []
            for line in job.results():
                if line["status"] == "done":
                    outputs.append(line["output"])
                elif return_exceptions:
                    outputs.append(TaskError(job, line["index"], line["error"]))
                else:
                    raise TaskError(job, line["index"], line["error"])
            if len(outputs) < job.total:
                raise JobCancelledError(f"job {job.id} was cancelled before all its tasks ended")
            return outputs

    def job(self, job_id: str) -> "Job":
        """A handle on an existing job (no request is made)."""
        return Job(self, job_id)

    def jobs(self, limit: int = 50) -> List[Dict[str, Any]]:
        """The newest jobs' summaries, newest first."""
        return self._request("GET", f"/api/jobs?limit={int(limit)}")["jobs"]

    def stats(self) -> Dict[str, Any]:
        """The swarm: volunteers, threads, tasksPerSecond, queued, leased, activeJobs."""
        return self._request("GET", "/api/stats")


def python_job_source(fn: Callable[..., Any]) -> str:
    """The Python job that runs `fn` on each input: the source of `fn` (a plain function defined with `def` at
    the top level of a module, taking `(input)` or `(input, ctx)`), after the module's top-level imports of the
    standard library, with a `main` that calls it. Only what `fn` itself says travels: the rest of its module
    (other functions, globals, `if __name__ == "__main__"`) stays on this machine."""
    if not inspect.isfunction(fn) or fn.__name__ == "<lambda>":
        raise TypeError("a Python job's function must be a plain function defined with def")
    if "<locals>" in fn.__qualname__:
        raise TypeError(f"{fn.__qualname__} is defined inside another function: define it at the top level of its module")
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except OSError as err:
        raise TypeError(f"the source of {fn.__name__} cannot be found (define it in a file, not at an interactive prompt): {err}") from err
    imports: List[str] = []
    module = inspect.getmodule(fn)
    try:
        module_source = inspect.getsource(module) if module else ""
    except (OSError, TypeError):
        module_source = ""
    stdlib = getattr(sys, "stdlib_module_names", None)
    for node in ast.parse(module_source).body if module_source else []:
        if isinstance(node, (ast.Import, ast.ImportFrom)) and not (isinstance(node, ast.ImportFrom) and node.level):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            # Volunteers have the standard library (and the job's wheels), not this machine's site-packages.
            if stdlib is None or all(n.split(".")[0] in stdlib for n in names):
                imports.append(ast.get_source_segment(module_source, node) or "")
    takes_ctx = len(inspect.signature(fn).parameters) >= 2
    call = f"{fn.__name__}(input, ctx)" if takes_ctx else f"{fn.__name__}(input)"
    head = "\n".join(i for i in imports if i)
    return f"{head}\n\n{source}\n\ndef main(input, ctx):\n    return {call}\n"


class Job:
    """One job: its results (followed), progress, cancel, wait. A context manager: leaving a `with` block
    cancels the job unless it has ended."""

    def __init__(self, client: Client, job_id: str, summary: Optional[Dict[str, Any]] = None) -> None:
        self.client = client
        self.id = job_id
        self.summary = summary
        self._all_read = False

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.summary['status'] if self.summary else '?'}>"

    @property
    def total(self) -> int:
        return (self.summary or self.get())["total"]

    def _path(self, rest: str = "") -> str:
        return f"/api/jobs/{urllib.parse.quote(self.id)}{rest}"

    def get(self) -> Dict[str, Any]:
        """The job's summary now: status, total, counts {queued, leased, done, failed}, ..."""
        self.summary = self.client._request("GET", self._path())
        return self.summary

    def as_completed(self, follow: bool = True) -> Iterator[Dict[str, Any]]:
        """Each task's result line once, as tasks end (those final already first, in index order):
        {"index", "status": "done", "output"} or {"index", "status": "failed", "error"}. A dropped connection
        is read again, skipping the indices already given: nothing repeats, nothing is missed."""
        total = self.total
        seen = bytearray(total)
        count, fruitless, last_read = 0, 0, False
        while True:
            progressed = False
            try:
                query = "?follow=true" if follow and not last_read else ""
                with self.client._open("GET", self._path(f"/results{query}"), timeout=_STREAM_IDLE_S) as resp:
                    for raw in resp:
                        if not raw.endswith(b"\n"):
                            raise MasterUnreachable("the results stream ended inside a line")
                        line = json.loads(raw)
                        if seen[line["index"]]:
                            continue
                        seen[line["index"]] = 1
                        count += 1
                        progressed = True
                        yield line
                if count >= total:
                    self._all_read = True
                    return
                if not follow or last_read:
                    return
                # The stream ended before every task did: the job was cancelled, or the master is going away.
                if self.get()["status"] in _FINISHED:
                    last_read = True
                    continue
                raise MasterUnreachable("the results stream ended before the job did")
            except (MasterUnreachable, OSError, http.client.HTTPException, ApiError) as err:
                if isinstance(err, ApiError) and err.status not in _TRANSIENT_STATUS:
                    raise
                # A read that timed out (the master sends even the headers only with the first line).
                timed_out = isinstance(err, socket.timeout) or isinstance(err.__cause__, socket.timeout)
                if timed_out and not progressed and self._silent(count):
                    continue  # tasks are running and none has ended since: a quiet stream, not a dead one
                fruitless = 1 if progressed else fruitless + 1
                if fruitless > _MAX_FRUITLESS:
                    raise err if isinstance(err, BarnraiseError) else MasterUnreachable(f"the results stream of {self.id} keeps breaking ({err})")
                time.sleep(_backoff(fruitless, 0.1))

    def _silent(self, count: int) -> bool:
        """True when the master says no more than `count` tasks have ended (False when it cannot be asked)."""
        try:
            counts = self.get()["counts"]
        except BarnraiseError:
            return False
        return counts["done"] + counts["failed"] <= count

    def results(self, follow: bool = True) -> Iterator[Dict[str, Any]]:
        """Each task's result line once, in index order (a line that comes early waits for those before it)."""
        early: Dict[int, Dict[str, Any]] = {}
        following = 0
        for line in self.as_completed(follow):
            early[line["index"]] = line
            while following in early:
                yield early.pop(following)
                following += 1
        for index in sorted(early):  # a cancelled job's results have gaps: what came, in order
            yield early[index]

    def progress(self, interval: float = 1.0) -> Iterator[Dict[str, Any]]:
        """Progress dicts every `interval` seconds until the job ends: status, total, done, failed, queued,
        leased, tasks_per_second (over the last 10 s), eta_seconds (None while unknown), finished."""
        samples: List[tuple] = []
        while True:
            s = self.get()
            counts = s["counts"]
            ended = counts["done"] + counts["failed"]
            now = time.monotonic()
            samples.append((now, ended))
            while len(samples) > 2 and now - samples[1][0] >= 10.0:
                samples.pop(0)
            span = now - samples[0][0]
            rate = (ended - samples[0][1]) / span if span >= 0.5 else 0.0
            finished = s["status"] in _FINISHED
            eta = 0.0 if finished else ((s["total"] - ended) / rate if rate > 0 else None)
            yield {"status": s["status"], "total": s["total"], **counts, "tasks_per_second": rate, "eta_seconds": eta, "finished": finished}
            if finished:
                return
            time.sleep(interval)

    def wait(self, interval: float = 1.0) -> Dict[str, Any]:
        """Block until the job has ended; returns its final summary."""
        delay = 0.05
        while self.get()["status"] not in _FINISHED:
            time.sleep(delay)
            delay = min(interval, delay * 2)
        return self.summary  # type: ignore[return-value]

    def cancel(self) -> Dict[str, Any]:
        """Stop the job; volunteers running its tasks abort them. A completed job is left as it is."""
        try:
            self.summary = self.client._request("POST", self._path("/cancel"))
            return self.summary
        except ApiError as err:
            if err.code == "JOB_FINISHED":
                return self.get()
            raise

    def retry_failed(self) -> Dict[str, Any]:
        """Queue the job's failed tasks again."""
        self._all_read = False
        self.summary = self.client._request("POST", self._path("/retry-failed"))
        return self.summary

    def task(self, index: int) -> Dict[str, Any]:
        """One task: state, input, output or error, and its attempt history."""
        return self.client._request("GET", self._path(f"/tasks/{int(index)}"))

    def __enter__(self) -> "Job":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._all_read or (self.summary is not None and self.summary["status"] in _FINISHED):
            return
        try:
            self.cancel()
        except BarnraiseError:
            if exc_type is None:  # do not hide the error that is leaving the block
                raise
