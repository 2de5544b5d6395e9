"""The LLM client against a faulty loopback server: a 200 with a body that is not JSON is
a retried, then counted failure with the body kept (before: an uncaught JSONDecodeError and no answers.jsonl
at all); answers.jsonl grows one flushed line per answer, so an interrupted run keeps what it received, with
or without --cache; Ctrl-C sends nothing more; --timeout bounds an answer's whole time; bad --timeout values
are option errors."""

from __future__ import annotations

import json
import time

import pytest
from test_llm_client import FakeServer, Reply, loopback_only, make_backend, req  # noqa: F401  (autouse fixture)
from test_llm_evaluate import synthetic_inputs

from mgclr.cli import main
from mgclr.emotion.llm import LLMError, write_transcript
from mgclr.emotion.timeline import write_timelines

GOOD = '{"win": 70, "lose": 30, "mgs": []}'


@pytest.fixture
def inputs(tmp_path):
    """Four videos with a transcript and an outcome: 8 requests (text, text+mg) in a known order."""
    transcripts, timelines = synthetic_inputs()
    keep = sorted(t.video for t in timelines if t.outcome and t.video in transcripts)[:4]
    for video in keep:
        write_transcript(tmp_path / "masked" / f"{video}.txt", transcripts[video])
    write_timelines(tmp_path / "t.json", [t for t in timelines if t.video in keep])
    return tmp_path


def infer(inputs, server, out, *extra):
    return main(["llm", "infer", "--transcripts", str(inputs / "masked"), "--timelines", str(inputs / "t.json"),
                 "--output", str(out), "--base-url", server.url, "--model", "m", "--concurrency", "1",
                 "--retries", "0", *extra])


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("cache", [False, True])
def test_five_good_answers_a_malformed_one_then_the_server_dies(inputs, server, cache, capsys):
    server.closing.set()  # every reply with a delay is then a dropped connection: the server is gone
    server.plan = [Reply(GOOD) for _ in range(5)] + [Reply(body="{not json, cut short")] + \
        [Reply(GOOD, delay=5.0) for _ in range(10)]
    out = inputs / ("run_cached" if cache else "run")
    extra = ["--cache", str(inputs / "cache")] if cache else []
    assert infer(inputs, server, out, *extra) == 1  # answers kept, failures counted: exit 1, not a traceback
    records = lines(out / "answers.jsonl")
    assert len(records) == 8
    answered = [r for r in records if r["raw"] is not None]
    assert len(answered) == 5 and all(r["raw"] == GOOD and r["error"] is None for r in answered)
    failed = [r for r in records if r["error"]]
    assert len(failed) == 3  # the malformed answer, then the two sent to the dead server (still sent: issue 27)
    assert "HTTP 200 with a body that is not a chat completion" in failed[0]["error"]
    assert "{not json, cut short" in failed[0]["error"] and server.url in failed[0]["error"]
    assert all("connection failed" in r["error"] for r in failed[1:]) and len(server.requests) == 8
    report = json.loads((out / "report.json").read_text())
    assert report["backend"]["stats"]["errors"] == 3 and report["backend"]["stats"]["not_sent"] == 0
    assert sum(s["failed"] for s in report["summary"].values()) == 3 and len(report["failed"]) == 3
    assert "first failure:" in capsys.readouterr().out


def test_a_malformed_200_is_retried(server):
    server.plan = [Reply(body="garbage"), Reply(GOOD)]
    backend = make_backend(server, [], max_retries=2)
    assert backend.complete(req()) == GOOD and len(server.requests) == 2


def test_an_interrupted_run_keeps_every_answer_it_received(inputs, server, monkeypatch, capsys):
    from mgclr.emotion.llm import evaluate

    server.plan = [Reply(GOOD) for _ in range(8)]
    real = evaluate.AnswerLog.__call__
    seen = []

    def interrupt_after_five(self, record):  # Ctrl-C arriving after the fifth answer
        real(self, record)
        seen.append(record)
        if len(seen) == 5:
            raise KeyboardInterrupt

    monkeypatch.setattr(evaluate.AnswerLog, "__call__", interrupt_after_five)
    assert infer(inputs, server, inputs / "run") == 130
    assert "mgclr llm: interrupted" in capsys.readouterr().err
    records = lines(inputs / "run" / "answers.jsonl")
    assert len(records) == 5 and all(r["raw"] == GOOD for r in records)
    time.sleep(0.3)
    assert len(server.requests) <= 6  # nothing more was sent after the interrupt (one may have been in flight)


def test_timeout_bounds_the_whole_answer_of_a_trickling_server(server):
    server.answer = lambda body: Reply(GOOD, delay=1.5)  # the answer comes after 1.5 s in total
    backend = make_backend(server, [], timeout=0.5, max_retries=0)
    with pytest.raises(LLMError, match=r"no answer within 0\.5 s \(timeout\)"):
        backend.complete(req())
    assert server.max_active == 1


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "0"])
def test_bad_timeouts_are_option_errors(inputs, server, value, capsys):
    assert infer(inputs, server, inputs / "run", "--timeout", value) == 2
    assert "timeout: expected a number of seconds > 0" in capsys.readouterr().err
    assert not server.requests


def test_timeout_bounds_a_server_trickling_one_byte_at_a_time():
    """The HTTP library's timeout restarts with every byte: a server sending one byte every 0.1 s would keep
    an attempt alive for the whole body (here ~9 s). The attempt is cut at --timeout instead."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from mgclr.emotion.llm import ClientConfig, OpenAIChatBackend

    body = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "m",
                       "choices": [{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": GOOD}}]}).encode()
    stop, finished = threading.Event(), threading.Event()

    class Trickle(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for i in range(len(body)):
                    if stop.wait(0.1):
                        return
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                finished.set()
            except (BrokenPipeError, ConnectionResetError):
                pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True).start()
    try:
        config = ClientConfig(f"http://127.0.0.1:{httpd.server_address[1]}/v1", "m", timeout=0.6, max_retries=0)
        backend = OpenAIChatBackend(config)
        with pytest.raises(LLMError, match=r"no answer within 0\.6 s \(timeout\)"):
            backend.complete(req())
        assert not finished.is_set()  # given up while the body was still trickling (an order, not a duration)
    finally:
        stop.set()
        httpd.shutdown()
        httpd.server_close()
