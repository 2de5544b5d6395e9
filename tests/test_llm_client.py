"""The OpenAI-compatible backend against a fake server on 127.0.0.1 (started here, ephemeral port): answers,
retries on 429 / 5xx / timeouts / refused connections, no retry on other 4xx, the disk cache, the concurrency
limit, fail-fast, and that no connection goes anywhere but the loopback interface."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional

import pytest

from mgclr.emotion.llm import ChatRequest, ClientConfig, LLMError, OpenAIChatBackend, request_key
from mgclr.emotion.llm.client import _retry_after, import_openai

pytest.importorskip("openai")

LOOPBACK = ("127.0.0.1", "::1", "localhost")


class Reply:
    """What the fake server does with one request: wait ``delay`` seconds, then answer ``status`` with ``content``
    as the assistant message (200) or ``body`` verbatim, plus ``headers``."""

    def __init__(self, content: Optional[str] = None, status: int = 200, body: Any = None,
                 headers: Optional[Dict[str, str]] = None, delay: float = 0.0):
        self.content, self.status, self.body, self.headers, self.delay = content, status, body, headers or {}, delay


class FakeServer:
    """An OpenAI-compatible ``/v1/chat/completions`` on 127.0.0.1. ``plan`` replies are used first, one per
    request; then ``answer(body) -> Reply``. Records every request body and the most requests in flight at once."""

    def __init__(self):
        self.plan: List[Reply] = []
        self.answer: Callable[[Dict[str, Any]], Reply] = lambda body: Reply('{"win": 70, "lose": 30}')
        self.requests: List[Dict[str, Any]] = []
        self.headers: List[Dict[str, str]] = []
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()
        self.closing = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server.lock:
                    server.requests.append(body)
                    server.headers.append({k.lower(): v for k, v in self.headers.items()})
                    server.active += 1
                    server.max_active = max(server.max_active, server.active)
                    reply = server.plan.pop(0) if server.plan else None
                try:
                    if self.path != "/v1/chat/completions":
                        reply = Reply(status=404, body={"error": {"message": f"no route {self.path}"}})
                    reply = reply or server.answer(body)
                    if reply.delay and server.closing.wait(reply.delay):
                        return
                    if reply.body is not None:
                        payload = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                    else:
                        payload = json.dumps({"id": f"fake-{len(server.requests)}", "object": "chat.completion",
                                              "created": 0, "model": body.get("model"),
                                              "choices": [{"index": 0, "finish_reason": "stop",
                                                           "message": {"role": "assistant", "content": reply.content}}],
                                              "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})
                    data = payload.encode()
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout): expected
                    pass
                finally:
                    with server.lock:
                        server.active -= 1

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self):
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Any socket connection to a non-loopback address fails the test: nothing may leave the machine."""
    original = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if host not in LOOPBACK:
            raise AssertionError(f"a test tried to connect to {address!r}")
        return original(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def make_backend(server, sleeps=None, model="fake-model", **kwargs) -> OpenAIChatBackend:
    """A backend for the fake server with tiny backoff; ``sleeps`` (a list) records the waits instead of sleeping."""
    options = {"timeout": 5.0, "max_retries": 3, "backoff_base": 0.01, "backoff_cap": 0.05, "jitter_seed": 0}
    options.update(kwargs)
    config = ClientConfig(server.url, model, **options)
    assert config.base_url.startswith("http://127.0.0.1:")
    return OpenAIChatBackend(config, sleep=(sleeps.append if sleeps is not None else time.sleep))


def req(text="hello", **kwargs) -> ChatRequest:
    return ChatRequest([{"role": "system", "content": "be brief"}, {"role": "user", "content": text}], **kwargs)


def test_normal_answer_and_what_is_sent(server, monkeypatch):
    monkeypatch.setenv("MGCLR_TEST_KEY", "sk-test-123")
    backend = make_backend(server, api_key_env="MGCLR_TEST_KEY")
    text = backend.complete(req(temperature=0.7, seed=3, max_tokens=50, top_p=0.9, params={"top_k": 20}))
    assert text == '{"win": 70, "lose": 30}'
    body = server.requests[0]
    assert body["model"] == "fake-model" and body["messages"][1] == {"role": "user", "content": "hello"}
    sent = tuple(body[k] for k in ("temperature", "seed", "max_tokens", "top_p", "top_k"))
    assert sent == (0.7, 3, 50, 0.9, 20)
    assert server.headers[0]["authorization"] == "Bearer sk-test-123"
    assert backend.stats.calls == 1 and backend.stats.retries == 0
    assert backend.describe()["api_key"] == "from $MGCLR_TEST_KEY"


def test_no_key_sends_a_placeholder(server, monkeypatch):
    monkeypatch.delenv("MGCLR_NO_SUCH_KEY", raising=False)
    backend = make_backend(server, api_key_env="MGCLR_NO_SUCH_KEY")
    backend.complete(req())
    assert server.headers[0]["authorization"] == "Bearer sk-no-key-required"
    assert "placeholder" in backend.describe()["api_key"]


def test_unset_sampling_parameters_are_not_sent(server):
    make_backend(server).complete(req())
    assert not {"temperature", "seed", "max_tokens", "top_p"} & set(server.requests[0])


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_retryable_status_then_success(server, status):
    server.plan = [Reply(status=status, body={"error": {"message": "busy"}}), Reply(status=status, body="oops"),
                   Reply("fine")]
    sleeps: List[float] = []
    backend = make_backend(server, sleeps)
    done = backend.chat(req())
    assert done.text == "fine" and done.attempts == 3 and len(server.requests) == 3
    assert backend.stats.retries == 2 and len(sleeps) == 2
    # exponential backoff with jitter: attempt k waits in [0.5, 1) x min(cap, base * 2**(k-1))
    assert 0.005 <= sleeps[0] < 0.01 and 0.01 <= sleeps[1] < 0.02


def test_retry_after_header_is_honoured(server):
    server.plan = [Reply(status=429, body={"error": {"message": "slow down"}}, headers={"Retry-After": "0.2"}),
                   Reply(status=429, body={}, headers={"retry-after-ms": "30"}), Reply("ok")]
    sleeps: List[float] = []
    assert make_backend(server, sleeps).complete(req()) == "ok"
    assert sleeps == [pytest.approx(0.2), pytest.approx(0.03)]


def test_retry_after_forms():
    assert _retry_after({"retry-after": "2"}) == 2.0
    assert _retry_after({"retry-after-ms": "1500"}) == 1.5
    assert _retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # a date in the past
    assert _retry_after({"retry-after": "soon"}) is None and _retry_after(None) is None


def test_retries_exhausted_gives_a_clear_error(server):
    server.answer = lambda body: Reply(status=503, body={"error": {"message": "model is loading"}})
    backend = make_backend(server, [], max_retries=2)
    with pytest.raises(LLMError) as exc:
        backend.complete(req())
    message = str(exc.value)
    assert len(server.requests) == 3 and exc.value.attempts == 3 and exc.value.status == 503
    assert "gave up after 3 attempt(s)" in message and "HTTP 503" in message and "model is loading" in message


@pytest.mark.parametrize("status, hint", [(400, "bad parameter"), (401, "$OPENAI_API_KEY"), (404, "/v1"),
                                          (422, "bad parameter")])
def test_other_4xx_is_not_retried(server, status, hint):
    server.answer = lambda body: Reply(status=status, body={"error": {"message": "bad parameter: temperature"}})
    backend = make_backend(server, [])
    with pytest.raises(LLMError) as exc:
        backend.complete(req())
    assert len(server.requests) == 1 and exc.value.attempts == 1 and exc.value.status == status
    assert f"HTTP {status} after 1 attempt(s), not retried" in str(exc.value) and hint in str(exc.value)


def test_timeout_is_retried_then_reported(server):
    server.answer = lambda body: Reply("late", delay=3.0)
    backend = make_backend(server, [], timeout=0.3, max_retries=1)
    with pytest.raises(LLMError) as exc:
        backend.complete(req())
    # the retry reached the server while its first answer was still 3 s away: the client stopped waiting
    # (an order of events, not a wall-clock bound)
    assert server.max_active == 2
    assert len(server.requests) == 2 and exc.value.attempts == 2
    assert "no answer within 0.3 s (timeout)" in str(exc.value) and "--timeout" in str(exc.value)


def test_timeout_then_success(server):
    server.plan = [Reply("late", delay=3.0)]
    backend = make_backend(server, [], timeout=0.3)
    assert backend.complete(req()) == '{"win": 70, "lose": 30}'
    assert len(server.requests) == 2


def test_refused_connection_is_retried_then_reported():
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps: List[float] = []
    backend = OpenAIChatBackend(ClientConfig(f"http://127.0.0.1:{port}/v1", "m", max_retries=2, backoff_base=0.01,
                                             timeout=2.0), sleep=sleeps.append)
    with pytest.raises(LLMError) as exc:
        backend.complete(req())
    assert "connection failed" in str(exc.value) and exc.value.attempts == 3 and len(sleeps) == 2


def test_a_response_without_choices_is_an_error(server):
    server.answer = lambda body: Reply(body={"id": "x", "object": "chat.completion"})
    with pytest.raises(LLMError, match="no choices"):
        make_backend(server).complete(req())


def test_empty_content_is_an_empty_answer(server):
    server.answer = lambda body: Reply(None)
    assert make_backend(server).complete(req()) == ""


def test_cache_second_run_sends_nothing(server, tmp_path):
    requests = [req(f"question {i}", temperature=0.5) for i in range(3)] + [req("question 0", temperature=0.5,
                                                                              repeat=1)]
    server.answer = lambda body: Reply(f"answer to {body['messages'][1]['content']} at {len(server.requests)}")
    first = make_backend(server, cache_dir=tmp_path / "cache").chat_many(requests)
    assert len(server.requests) == 4 and not any(c.cached for c in first)
    again = make_backend(server, cache_dir=tmp_path / "cache")
    second = again.chat_many(requests)
    assert len(server.requests) == 4, "a cached rerun must not reach the server"
    assert [c.text for c in second] == [c.text for c in first] and all(c.cached for c in second)
    assert again.stats.cache_hits == 4 and again.stats.calls == 0
    files = sorted((tmp_path / "cache").rglob("*.json"))
    assert len(files) == 4 and not list((tmp_path / "cache").rglob("*.partial"))
    entry = json.loads(files[0].read_text())
    assert entry["key"] == files[0].stem and "sk-" not in files[0].read_text()


def test_cache_key_covers_everything_that_changes_the_answer(server):
    backend = make_backend(server)
    base = req(temperature=0.2, seed=1, max_tokens=10)
    keys = {backend.key(r) for r in [base, base.with_repeat(1), req(temperature=0.3, seed=1, max_tokens=10),
                                     req(temperature=0.2, seed=2, max_tokens=10), req(temperature=0.2, seed=1),
                                     req(temperature=0.2, seed=1, max_tokens=10, params={"top_k": 5}),
                                     req("other", temperature=0.2, seed=1, max_tokens=10)]}
    assert len(keys) == 7
    other_model = make_backend(server, model="another-model")
    assert other_model.key(base) != backend.key(base)
    assert request_key(base, {"base_url": "http://127.0.0.1:1/v1"}) != request_key(base, {"base_url": "http://x/v1"})
    assert backend.key(base) == make_backend(server).key(req(temperature=0.2, seed=1, max_tokens=10))


def test_unreadable_cache_entry_is_counted_and_refetched(server, tmp_path):
    backend = make_backend(server, cache_dir=tmp_path)
    backend.complete(req())
    path = backend.cache.path(backend.key(req()))
    path.write_text("{ truncated")
    again = make_backend(server, cache_dir=tmp_path)
    assert again.complete(req()) == '{"win": 70, "lose": 30}'
    assert again.stats.cache_unreadable == 1 and len(server.requests) == 2
    assert json.loads(path.read_text())["text"] == '{"win": 70, "lose": 30}'


def test_concurrency_limit_and_order(server):
    server.answer = lambda body: Reply(f"echo {body['messages'][1]['content']}", delay=0.1)
    backend = make_backend(server, concurrency=3)
    requests = [req(f"q{i}") for i in range(10)]
    done = backend.chat_many(requests)
    assert [c.text for c in done] == [f"echo q{i}" for i in range(10)]
    assert 2 <= server.max_active <= 3
    server.max_active = 0
    make_backend(server).chat_many([req(f"r{i}") for i in range(4)], concurrency=1)
    assert server.max_active == 1


def test_identical_requests_are_sent_once(server):
    done = make_backend(server).chat_many([req("same"), req("same"), req("other")])
    assert len(server.requests) == 2 and done[0].text == done[1].text and done[1].cached


def test_fail_fast_stops_sending_after_a_refusal(server):
    server.answer = lambda body: Reply(status=400, body={"error": {"message": "unknown model"}})
    backend = make_backend(server, concurrency=1)
    done = backend.chat_many([req(f"q{i}") for i in range(5)])
    assert len(server.requests) == 1
    assert "HTTP 400" in done[0].error and all(c.error.startswith("not sent: an earlier request failed")
                                               for c in done[1:])
    assert backend.stats.errors == 1 and backend.stats.not_sent == 4
    server.requests.clear()
    done = make_backend(server, concurrency=1).chat_many([req(f"q{i}") for i in range(3)], fail_fast=False)
    assert len(server.requests) == 3 and all("HTTP 400" in c.error for c in done)


def test_fail_fast_setup_stops_only_when_the_setup_is_wrong(server):
    """Issue 27, item 13: ``fail_fast="setup"`` (what ``mgclr llm infer`` uses) sends on after a server error or
    a refused prompt, and stops only when the key, URL or model is wrong (401 / 403 / 404)."""
    statuses = iter([500, 400, 200, 404])

    def answer(body):
        status = next(statuses)
        if status == 200:
            return Reply('{"win": 70, "lose": 30}')
        return Reply(status=status, body={"error": {"message": f"status {status}"}})

    server.answer = answer
    backend = make_backend(server, concurrency=1, max_retries=0)
    done = backend.chat_many([req(f"q{i}") for i in range(6)], fail_fast="setup")
    assert len(server.requests) == 4  # sent on after the 500 and the 400, not after the 404
    assert [c.status if c.error else 200 for c in done[:4]] == [500, 400, 200, 404]
    assert all(c.error.startswith("not sent: an earlier request failed") for c in done[4:])
    assert backend.stats.errors == 3 and backend.stats.not_sent == 2
    with pytest.raises(ValueError, match="fail_fast: expected True, False or 'setup', got 'yes'"):
        backend.chat_many([req("q")], fail_fast="yes")


def test_malformed_answer_keeps_the_raw_text(server):
    from mgclr.emotion.llm import ParseError, parse_prediction

    server.answer = lambda body: Reply("Honestly, it's impossible to say from this transcript.")
    text = make_backend(server).complete(req())
    with pytest.raises(ParseError, match="no win/lose confidences"):
        parse_prediction(text)
    assert text.startswith("Honestly")


def test_config_validation():
    for kwargs, message in [({"base_url": "127.0.0.1:8000"}, "base_url"), ({"model": " "}, "model"),
                            ({"timeout": 0}, "timeout"), ({"max_retries": -1}, "max_retries"),
                            ({"concurrency": 0}, "concurrency"), ({"backoff_base": -1.0}, "backoff_base")]:
        args = {"base_url": "http://127.0.0.1:8000/v1", "model": "m", **kwargs}
        with pytest.raises(ValueError, match=message):
            ClientConfig(**args)
    assert ClientConfig("http://127.0.0.1:8000/v1/", "m").base_url == "http://127.0.0.1:8000/v1"


def test_missing_openai_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "openai", None)
    with pytest.raises(ImportError, match=r'pip install "mgclr\[llm\]"'):
        import_openai()
    with pytest.raises(ImportError, match=r'pip install "mgclr\[llm\]"'):
        OpenAIChatBackend(ClientConfig("http://127.0.0.1:9/v1", "m"))


def test_loopback_guard_is_active():
    with pytest.raises(AssertionError, match="tried to connect"):
        socket.create_connection(("192.0.2.1", 80), timeout=0.1)
