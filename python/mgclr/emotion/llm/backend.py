"""What every backend shares: the request key, the disk cache, ordered concurrent calls, call statistics.

A backend answers a :class:`~mgclr.emotion.llm.prompts.ChatRequest` with text: :meth:`ChatBackend.complete` for
one (raises :class:`LLMError`), :meth:`ChatBackend.chat_many` for many (a :class:`Completion` per request, in
order, errors recorded instead of raised). Subclasses implement :meth:`ChatBackend.identity` (what, besides
the request, decides the answer: endpoint and model) and :meth:`ChatBackend._answer`.

The cache key is the SHA-256 of the identity, the messages, every sampling parameter and the repeat index, so
R repeats of one prompt are R entries and a rerun with the same settings is answered from disk without a
network. One JSON file per entry (``<dir>/<key[:2]>/<key>.json``), written to a temporary file and renamed,
so an interrupted run leaves no half-written entry. Only answers are cached, never errors.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ..._files import write_json_atomic
from .prompts import ChatRequest

__all__ = ["SETUP_STATUSES", "BackendStats", "ChatBackend", "Completion", "DiskCache", "LLMError", "request_key"]

# HTTP statuses that say the setup is wrong, not the request: the key (401, 403), the URL or the model (404).
# Every other request to that endpoint would be refused alike, so ``chat_many(fail_fast="setup")`` stops there.
SETUP_STATUSES = (401, 403, 404)


class LLMError(ValueError):
    """A request the backend could not answer: the message names the endpoint, the HTTP status (if any), how
    many attempts were made and why it stopped."""

    def __init__(self, message: str, status: Optional[int] = None, attempts: int = 0, retryable: bool = False):
        super().__init__(message)
        self.status = status
        self.attempts = attempts
        self.retryable = retryable


@dataclass
class Completion:
    """The answer to one request: ``text`` (None when ``error`` says why there is none), whether it came from
    the cache, how many attempts it took, its cache ``key``, the server's ``finish_reason`` when known, and the HTTP
    ``status`` of a failure when there was one."""

    text: Optional[str]
    error: Optional[str] = None
    cached: bool = False
    attempts: int = 0
    key: str = ""
    finish_reason: Optional[str] = None
    seconds: float = 0.0
    status: Optional[int] = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class BackendStats:
    """Counts since the backend was made: requests answered, of them from the cache, calls sent (attempts
    included), retries, failures, requests not sent because an earlier one failed, cache entries unreadable."""

    requests: int = 0
    cache_hits: int = 0
    calls: int = 0
    retries: int = 0
    errors: int = 0
    not_sent: int = 0
    cache_unreadable: int = 0

    def as_dict(self) -> Dict[str, int]:
        return asdict(self)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=repr)


def request_key(request: ChatRequest, identity: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the backend identity, the messages, every sampling parameter and the repeat index."""
    material = {"identity": dict(identity), "messages": [dict(m) for m in request.messages],
                "sampling": request.sampling(), "repeat": request.repeat}
    return hashlib.sha256(_canonical(material).encode("utf-8")).hexdigest()


class DiskCache:
    """Answers on disk, one JSON file per request key."""

    def __init__(self, directory: Union[str, Path]):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> Tuple[Optional[Dict[str, Any]], bool]:
        """(entry, unreadable): the entry or None; ``unreadable`` when a file was there but could not be read
        (the caller counts it; the request is then sent again and the entry rewritten)."""
        path = self.path(key)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None, False
        except (OSError, ValueError):
            return None, True
        if not isinstance(entry, dict) or entry.get("key") != key or not isinstance(entry.get("text"), str):
            return None, True
        return entry, False

    def put(self, key: str, entry: Mapping[str, Any]) -> Path:
        return write_json_atomic(self.path(key), {**entry, "key": key}, indent=1, ensure_ascii=False)


class ChatBackend:
    """Base of the backends: caching, statistics and :meth:`chat_many`; see the module docstring."""

    name = "backend"

    def __init__(self, cache_dir: Union[str, Path, None] = None, concurrency: int = 1):
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency: expected an int >= 1, got {concurrency!r}")
        self.concurrency = concurrency
        self.cache = DiskCache(cache_dir) if cache_dir is not None else None
        self.stats = BackendStats()
        self._lock = threading.Lock()

    # -- to implement
    def identity(self) -> Dict[str, Any]:
        raise NotImplementedError

    def _answer(self, request: ChatRequest) -> Tuple[str, int, Optional[str]]:
        """(text, attempts, finish_reason); raise :class:`LLMError` when there is no answer."""
        raise NotImplementedError

    # -- shared
    def describe(self) -> Dict[str, Any]:
        """What to record in a report: the identity, the cache folder and the statistics."""
        return {**self.identity(), "cache": str(self.cache.directory) if self.cache else None,
                "stats": self.stats.as_dict()}

    def key(self, request: ChatRequest) -> str:
        return request_key(request, self.identity())

    def _count(self, **increments: int) -> None:
        with self._lock:
            for name, value in increments.items():
                setattr(self.stats, name, getattr(self.stats, name) + value)

    def _lookup(self, request: ChatRequest, key: str) -> Optional[Completion]:
        if self.cache is None:
            return None
        entry, unreadable = self.cache.get(key)
        if unreadable:
            self._count(cache_unreadable=1)
        if entry is None:
            return None
        self._count(requests=1, cache_hits=1)
        return Completion(entry["text"], None, True, 0, key, entry.get("finish_reason"))

    def _send(self, request: ChatRequest, key: str) -> Completion:
        start = time.perf_counter()
        try:
            text, attempts, finish = self._answer(request)
        except LLMError as exc:
            self._count(requests=1, errors=1, calls=max(exc.attempts, 1), retries=max(exc.attempts - 1, 0))
            return Completion(None, str(exc), False, exc.attempts, key, None, time.perf_counter() - start, exc.status)
        self._count(requests=1, calls=attempts, retries=attempts - 1)
        if self.cache is not None:
            self.cache.put(key, {"text": text, "finish_reason": finish, "identity": self.identity(),
                                 "request": {"messages": request.messages, "sampling": request.sampling(),
                                             "repeat": request.repeat}, "created": time.time()})
        return Completion(text, None, False, attempts, key, finish, time.perf_counter() - start)

    def chat(self, request: ChatRequest) -> Completion:
        """One request through the cache; errors are in the :class:`Completion`, not raised."""
        key = self.key(request)
        return self._lookup(request, key) or self._send(request, key)

    def complete(self, request: ChatRequest) -> str:
        """The answer text of one request; raises :class:`LLMError` when there is none."""
        done = self.chat(request)
        if done.error is not None:
            raise LLMError(done.error, done.status, done.attempts)
        return done.text

    def chat_many(self, requests: Sequence[ChatRequest], concurrency: Optional[int] = None,
                  fail_fast: Union[bool, str] = True, on_done: Optional[Callable[[int, Completion], None]] = None
                  ) -> List[Completion]:
        """A :class:`Completion` per request, in the order given, at most ``concurrency`` (default the backend's)
        in flight at once; identical requests (same key) are sent once. ``fail_fast``: once a request fails for
        good, the ones not yet sent are not sent (their error says so) -- ``True``: after any failure;
        ``"setup"``: only after a failure that says the setup is wrong (HTTP 401 / 403 / 404,
        :data:`SETUP_STATUSES`: a wrong key, URL or model would fail them all the same way, each after its own
        retries), any other failure is recorded and the rest are sent; ``False``: never.
        ``on_done(index, completion)`` is called (one call at a time) as each request is answered, so a caller
        can keep every answer as it comes (a run killed later loses none). A ``KeyboardInterrupt`` stops at once:
        nothing more is sent, the requests in flight are abandoned, and the interrupt propagates."""
        if fail_fast not in (True, False, "setup"):
            raise ValueError(f"fail_fast: expected True, False or 'setup', got {fail_fast!r}")
        workers = self.concurrency if concurrency is None else concurrency
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"concurrency: expected an int >= 1, got {workers!r}")
        keys = [self.key(r) for r in requests]
        positions: Dict[str, List[int]] = {}
        for i, key in enumerate(keys):
            positions.setdefault(key, []).append(i)
        results: Dict[str, Completion] = {}
        todo: Dict[str, ChatRequest] = {}
        report_lock = threading.Lock()

        def report(key: str, done: Completion) -> None:
            if on_done is not None:
                with report_lock:
                    for i in positions[key]:
                        on_done(i, done)

        for key, request in zip(keys, requests):
            if key in results or key in todo:
                continue
            hit = self._lookup(request, key)
            if hit is not None:
                results[key] = hit
                report(key, hit)
            else:
                todo[key] = request
        stop = threading.Event()
        interrupted = threading.Event()
        failure: List[str] = []

        def run(key: str, request: ChatRequest) -> Completion:
            if interrupted.is_set():
                return Completion(None, "not sent: interrupted", False, 0, key)
            if stop.is_set():
                self._count(not_sent=1)
                done = Completion(None, f"not sent: an earlier request failed ({failure[0][:200]})", False, 0, key)
            else:
                done = self._send(request, key)
                if done.error is not None and (fail_fast is True or (fail_fast == "setup"
                                                                     and done.status in SETUP_STATUSES)):
                    with self._lock:
                        failure.append(done.error)
                    stop.set()
            if not interrupted.is_set():
                report(key, done)
            return done

        if todo:
            pool = ThreadPoolExecutor(max_workers=min(workers, len(todo)))
            try:
                futures = {key: pool.submit(run, key, request) for key, request in todo.items()}
                for key, future in futures.items():
                    results[key] = future.result()
            except BaseException:  # Ctrl-C: send nothing more, wait for nothing
                interrupted.set()
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            pool.shutdown(wait=True)
        out = []
        seen = set()
        for key in keys:
            done = results[key]
            if key in seen and done.ok:  # a repeated identical request: answered once, the copy is a cache hit
                done = Completion(done.text, None, True, 0, key, done.finish_reason)
            seen.add(key)
            out.append(done)
        return out

