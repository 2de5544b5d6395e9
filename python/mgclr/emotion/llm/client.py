"""The backend for any OpenAI-compatible chat endpoint: vLLM, llama.cpp's server, Ollama, hosted APIs.

Needs the ``openai`` package (``pip install "mgclr[llm]"``), imported only when the first request is sent.
The base URL is the one the server documents for OpenAI clients, usually ending in ``/v1``
(``http://127.0.0.1:8000/v1`` for vLLM, ``http://127.0.0.1:11434/v1`` for Ollama).

Retries are ours, not the library's (its ``max_retries`` is 0), so they are predictable and testable: on HTTP
408 / 429 / 5xx, a timeout or a connection error, wait and try again, up to ``max_retries`` more times. The wait
is the server's ``Retry-After`` (or ``retry-after-ms``) when it sends one (capped at ``retry_after_cap``), else
exponential backoff with jitter: ``min(backoff_cap, backoff_base * 2**(attempt-1))`` times a factor drawn
from [0.5, 1). Any other 4xx is not retried: the error names the status and shows the start of the body.
A 200 whose body is not the JSON of a chat completion (cut short, or garbled by a proxy) is retried like a
5xx and, when it stays so, reported with the start of the body as it came.

``timeout`` bounds the whole of one attempt (connecting, waiting and reading): the HTTP library's own timeout
restarts with every byte, so a server trickling its answer would hold an attempt far longer. Each attempt
runs in a helper thread with its own client; at the deadline the client is closed and the attempt counts as
a timeout.
"""

from __future__ import annotations

import email.utils
import math
import os
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, Union

from .backend import ChatBackend, LLMError
from .prompts import ChatRequest

__all__ = ["ClientConfig", "OpenAIChatBackend", "import_openai"]

INSTALL_HINT = 'pip install "mgclr[llm]"'
# sent when no key is set: local servers ignore the key but the library refuses to send none
PLACEHOLDER_KEY = "sk-no-key-required"


def import_openai():
    """The ``openai`` module, or an ImportError saying how to install it."""
    try:
        import openai
    except ImportError as exc:
        raise ImportError(f"the OpenAI-compatible backend needs the openai package: {INSTALL_HINT} "
                          f"(or use the offline backend: --backend rule) [{exc}]") from None
    return openai


@dataclass
class ClientConfig:
    """Where and how to ask.

    Attributes:
        base_url: the endpoint, e.g. ``http://127.0.0.1:8000/v1``.
        model: the model name the server knows.
        api_key_env: the environment variable holding the key; when unset or empty a placeholder is sent
            (what local servers expect). The key itself is never written to reports or the cache.
        timeout: seconds to wait for one answer.
        max_retries: further attempts after the first, for the retryable failures (module docstring).
        backoff_base, backoff_cap: seconds of the exponential backoff.
        retry_after_cap: the longest ``Retry-After`` honoured, in seconds.
        concurrency: requests in flight at once in :meth:`~ChatBackend.chat_many`.
        cache_dir: the disk cache's folder (None: no cache).
        jitter_seed: seeds the jitter (None: from the OS), for reproducible waits in tests.
    """

    base_url: str
    model: str
    api_key_env: str = "OPENAI_API_KEY"
    timeout: float = 120.0
    max_retries: int = 4
    backoff_base: float = 1.0
    backoff_cap: float = 30.0
    retry_after_cap: float = 120.0
    concurrency: int = 4
    cache_dir: Union[str, Path, None] = None
    jitter_seed: Optional[int] = None

    def __post_init__(self):
        if not isinstance(self.base_url, str) or not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url: expected an http:// or https:// URL such as http://127.0.0.1:8000/v1, got "
                             f"{self.base_url!r}")
        self.base_url = self.base_url.rstrip("/")
        if not isinstance(self.model, str) or not self.model.strip():
            raise ValueError(f"model: expected the served model's name, got {self.model!r}")
        for key in ("timeout", "backoff_base", "backoff_cap", "retry_after_cap"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or \
                    value < 0 or (key == "timeout" and value == 0):
                raise ValueError(f"{key}: expected a number of seconds {'> 0' if key == 'timeout' else '>= 0'}, "
                                 f"got {value!r}")
        for key, low in (("max_retries", 0), ("concurrency", 1)):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{key}: expected an int >= {low}, got {value!r}")


def _retry_after(headers: Optional[Mapping[str, str]]) -> Optional[float]:
    """Seconds from ``retry-after-ms`` / ``Retry-After`` (seconds or an HTTP date); None when absent/unreadable."""
    if not headers:
        return None
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) / scale)
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            continue
        if when is not None:
            return max(0.0, when.timestamp() - time.time())
    return None


def _body_excerpt(exc: Any, n: int = 300) -> str:
    text = None
    response = getattr(exc, "response", None)
    if response is not None:
        try:
            text = response.text
        except Exception:  # a streamed or closed body has no text; the parsed body below still helps
            text = None
    if not text:
        body = getattr(exc, "body", None)
        text = "" if body is None else str(body)
    flat = " ".join(str(text).split())
    return flat[:n] + ("..." if len(flat) > n else "")


class _Malformed(Exception):
    """A 200 reply whose body is not a chat completion."""


class _Deadline(Exception):
    """An attempt that took longer than ``timeout`` in total."""


class OpenAIChatBackend(ChatBackend):
    """Chat completions from an OpenAI-compatible server (module docstring); ``sleep`` is injectable for tests."""

    name = "openai"

    def __init__(self, config: ClientConfig, sleep: Callable[[float], None] = time.sleep):
        super().__init__(config.cache_dir, config.concurrency)
        import_openai()  # fail here, with the install hint, rather than inside a worker thread
        self.config = config
        self._sleep = sleep
        self._rng = random.Random(config.jitter_seed)
        self._rng_lock = threading.Lock()

    def identity(self) -> Dict[str, Any]:
        return {"backend": "openai-compatible", "base_url": self.config.base_url, "model": self.config.model}

    def describe(self) -> Dict[str, Any]:
        key_set = bool(os.environ.get(self.config.api_key_env))
        return {**super().describe(), "timeout": self.config.timeout, "max_retries": self.config.max_retries,
                "api_key": f"from ${self.config.api_key_env}" if key_set else
                f"placeholder (${self.config.api_key_env} not set)"}

    def _openai_client(self):
        """A client of its own for one attempt (closing it at the deadline affects no other request)."""
        openai = import_openai()
        key = os.environ.get(self.config.api_key_env) or PLACEHOLDER_KEY
        return openai.OpenAI(base_url=self.config.base_url, api_key=key, timeout=self.config.timeout, max_retries=0)

    def _attempt(self, kwargs: Dict[str, Any]) -> Any:
        """One request, bounded by ``timeout`` in total: the parsed completion, or the library's exception, or
        :class:`_Deadline` at the deadline, or :class:`_Malformed` for a 200 that is not a completion."""
        client = self._openai_client()
        outcome: Dict[str, Any] = {}

        def run() -> None:
            try:
                raw = client.chat.completions.with_raw_response.create(**kwargs)
                try:
                    outcome["response"] = raw.parse()
                except Exception as exc:  # a body that is not the JSON of a completion
                    try:
                        body = raw.http_response.text
                    except Exception:
                        body = ""
                    outcome["error"] = _Malformed(f"{type(exc).__name__}: {exc}; body: "
                                                  f"{' '.join(str(body).split())[:300]!r}")
            except BaseException as exc:  # handed to the caller's thread
                outcome["error"] = exc

        worker = threading.Thread(target=run, name="mgclr-llm-request", daemon=True)
        worker.start()
        worker.join(self.config.timeout)
        if worker.is_alive():  # the deadline: stop reading (a trickling server), count it as a timeout
            client.close()
            worker.join(1.0)
            raise _Deadline()
        client.close()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["response"]

    def backoff(self, attempt: int, retry_after: Optional[float]) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(retry_after, self.config.retry_after_cap)
        ceiling = min(self.config.backoff_cap, self.config.backoff_base * 2 ** (attempt - 1))
        with self._rng_lock:
            return ceiling * (0.5 + 0.5 * self._rng.random())

    def _kwargs(self, request: ChatRequest) -> Dict[str, Any]:
        kwargs: Dict[str, Any] = {"model": self.config.model,
                                  "messages": [{"role": m["role"], "content": m["content"]} for m in request.messages]}
        for name in ("temperature", "top_p", "seed", "max_tokens"):
            value = getattr(request, name)
            if value is not None:
                kwargs[name] = value
        if request.params:
            # extra_body sends parameters the library does not know (top_k, repetition_penalty, ...) verbatim
            kwargs["extra_body"] = dict(request.params)
        return kwargs

    def _answer(self, request: ChatRequest) -> Tuple[str, int, Optional[str]]:
        openai = import_openai()
        kwargs = self._kwargs(request)
        where = f"{self.config.base_url}/chat/completions (model {self.config.model})"
        attempts_allowed = self.config.max_retries + 1
        for attempt in range(1, attempts_allowed + 1):
            retry_after = None
            try:
                response = self._attempt(kwargs)
            except _Malformed as exc:
                status, reason = 200, f"HTTP 200 with a body that is not a chat completion ({exc})"
            except openai.APIStatusError as exc:
                status = exc.status_code
                retryable = status in (408, 429) or status >= 500
                headers = getattr(getattr(exc, "response", None), "headers", None)
                retry_after = _retry_after(headers)
                reason = f"HTTP {status}: {_body_excerpt(exc)}"
                if not retryable:
                    hint = ""
                    if status in (401, 403):
                        hint = f" (is ${self.config.api_key_env} set to a key this server accepts?)"
                    elif status == 404:
                        hint = " (is the base URL right -- usually ending in /v1 -- and is the model served?)"
                    raise LLMError(f"{where}: HTTP {status} after {attempt} attempt(s), not retried (a 4xx other "
                                   f"than 408/429 means the request itself was refused){hint}; body: "
                                   f"{_body_excerpt(exc)}", status, attempt, False) from None
            except (openai.APITimeoutError, _Deadline):
                status, reason = None, f"no answer within {self.config.timeout:g} s (timeout)"
            except ValueError as exc:  # the library's own JSON decoding of a garbled body
                status = 200
                reason = f"HTTP 200 with a body that is not a chat completion ({type(exc).__name__}: {exc})"
            except openai.APIConnectionError as exc:
                cause = exc.__cause__ or exc.__context__ or exc
                status, reason = None, f"connection failed ({type(cause).__name__}: {cause})"
            except openai.OpenAIError as exc:
                raise LLMError(f"{where}: {type(exc).__name__}: {exc}", None, attempt, False) from None
            else:
                return self._text(response, where, attempt)
            if attempt == attempts_allowed:
                hint = "; raise --timeout / --retries or check the server" if status in (None, 200) or status >= 500 \
                    else ""
                raise LLMError(f"{where}: gave up after {attempt} attempt(s) (max_retries={self.config.max_retries}); "
                               f"last: {reason}{hint}", status, attempt, True)
            self._sleep(self.backoff(attempt, retry_after))
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _text(response: Any, where: str, attempt: int) -> Tuple[str, int, Optional[str]]:
        choices = getattr(response, "choices", None)
        if not choices:
            raise LLMError(f"{where}: the response has no choices ({str(response)[:200]})", None, attempt, False)
        choice = choices[0]
        message = getattr(choice, "message", None)
        content = getattr(message, "content", None)
        # an empty answer is still an answer: the parser reports it, the raw record keeps it
        return ("" if content is None else str(content)), attempt, getattr(choice, "finish_reason", None)
