"""``mgclr llm mask | infer | probe | report``: the LLM protocol; the flags map onto
:mod:`mgclr.emotion.llm.commands`, which does the work."""

from __future__ import annotations

from typing import List, Optional

from .common import CLASS_NAMES_HELP


def _llm_list(values) -> List[str]:
    """Repeatable and comma-separated values as one flat list."""
    return [part.strip() for value in (values or []) for part in str(value).split(",") if part.strip()]


def _cmd_llm(args) -> int:
    from ..emotion.llm import commands

    models = args.model if isinstance(args.model, list) else [args.model] if args.model else []
    options = commands.BackendOptions(backend=args.backend, base_url=args.base_url, models=models,
                                      api_key_env=args.api_key_env, timeout=args.timeout, retries=args.retries,
                                      concurrency=args.concurrency, cache_dir=args.cache)
    sampling = {"temperature": args.temperature, "seed": args.seed, "max_tokens": args.max_tokens}
    if args.llm_command == "mask":
        return commands.mask(args.inputs, args.output, options, template=args.template, hide_words=_llm_list(args.hide),
                             untimed=args.untimed, strict=args.strict, **sampling)
    if args.llm_command == "infer":
        return commands.infer(args.transcripts, args.timelines, args.output, options, modes=_llm_list(args.modes),
                              repeats=args.repeats, untimed=args.untimed, class_names=args.class_names, **sampling)
    return commands.probe(args.output, options, classes=_llm_list(args.classes), timelines=args.timelines,
                          add=args.add, repeats=args.repeats, class_names=args.class_names, **sampling)


def _cmd_llm_report(args) -> int:
    from ..emotion.llm import commands

    return commands.report(args.records, args.output, args.stem)


def add_parser(sub) -> None:
    llm = sub.add_parser("llm", help="the LLM protocol: mask interviews, infer win/lose with and without the MG "
                                     "timeline, probe MG priors, report",
                         description="Does a language model infer a hidden match outcome better when it also sees the "
                                     "micro-gestures? --backend rule is an offline rule-based stand-in (for demos and "
                                     "tests, not a model); --base-url/--model ask any OpenAI-compatible server (vLLM, "
                                     "llama.cpp, Ollama, hosted APIs; pip install \"mgclr[llm]\").")
    lsub = llm.add_subparsers(dest="llm_command", metavar="SUBCOMMAND", required=True)

    def backend(p, many_models: bool = False, temperature: Optional[float] = None):
        g = p.add_argument_group("backend")
        g.add_argument("--backend", choices=["rule", "openai"], default=None,
                       help="rule: offline rule-based stand-in (not a model); openai: an OpenAI-compatible server "
                            "(the default when --base-url is given)")
        g.add_argument("--base-url", default=None, metavar="URL", help="server URL, e.g. http://127.0.0.1:8000/v1")
        g.add_argument("--model", action="append" if many_models else "store", default=None, metavar="NAME",
                       help="served model name" + (" (repeatable: one table column each)" if many_models else ""))
        g.add_argument("--api-key-env", default="OPENAI_API_KEY", metavar="VAR",
                       help="environment variable holding the API key (default OPENAI_API_KEY; unset: a placeholder "
                            "is sent, as local servers expect)")
        g.add_argument("--cache", default=None, metavar="DIR",
                       help="answer cache folder: reruns with the same requests need no server")
        g.add_argument("--concurrency", type=int, default=4, help="requests in flight at once (default 4)")
        g.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for one answer (default 120)")
        g.add_argument("--retries", type=int, default=4,
                       help="further attempts on 408/429/5xx, timeouts and connection errors (default 4)")
        default = "the server's" if temperature is None else f"{temperature:g}"
        g.add_argument("--temperature", type=float, default=temperature,
                       help=f"sampling temperature (default {default})")
        g.add_argument("--seed", type=int, default=None, help="sampling seed; repeat r sends seed + r")
        g.add_argument("--max-tokens", type=int, default=None, help="answer length limit (default server's)")

    untimed_help = ("lines without a timestamp: error (default), none (keep them untimed) or append (join them to the "
                    "previous utterance)")
    mask = lsub.add_parser("mask", help="hide outcome, identities and named feelings in transcripts (+ leakage check)",
                           description="Ask the backend to mask each transcript (.txt, .srt, .json), write "
                                       "OUTPUT/<video>.txt and OUTPUT/_mask_report.json (raw answers, leakage check). "
                                       "Exit 1 if a transcript failed (or, with --strict, still leaks).")
    mask.add_argument("inputs", nargs="+", help="transcript files or folders of them")
    mask.add_argument("--output", required=True, help="folder for the masked transcripts")
    mask.add_argument("--template", default=None,
                      help="your user-message template (placeholders {transcript}, {n_rows}, {row_format}, "
                           "{hide_words}; literal braces doubled)")
    mask.add_argument("--hide", action="append", default=[], metavar="WORDS",
                      help="further words to hide and to check for, e.g. player names (repeatable, comma-separated)")
    mask.add_argument("--untimed", choices=["error", "none", "append"], default="error", help=untimed_help)
    mask.add_argument("--strict", action="store_true", help="exit 1 when the leakage check flags a row")
    backend(mask, temperature=0.0)
    mask.set_defaults(func=_cmd_llm)

    inf = lsub.add_parser("infer", help="win/lose from masked transcripts, text-only and text + MG timeline",
                          description="Every video with a transcript and a timeline (with its outcome) is asked in "
                                      "each mode, --repeats times. Writes OUTPUT/answers.jsonl (raw answers), "
                                      "OUTPUT/report.json and OUTPUT/report.md (accuracy mean ± std, Acc@1/3/5, "
                                      "situation reversals).")
    inf.add_argument("--transcripts", nargs="+", required=True, metavar="PATH",
                     help="masked transcript files or folders (video name = file stem)")
    inf.add_argument("--timelines", required=True, help="timelines JSON (mgclr recognize, or an annotated one)")
    inf.add_argument("--class-names", default=None, help=CLASS_NAMES_HELP)
    inf.add_argument("--output", required=True, help="folder for the answers and the report")
    inf.add_argument("--modes", action="append", default=None, metavar="MODES",
                     help="text, text+mg or both (default both; comma-separated or repeatable)")
    inf.add_argument("--repeats", type=int, default=1, help="answers per video and mode (default 1)")
    inf.add_argument("--untimed", choices=["error", "none", "append"], default="error", help=untimed_help)
    backend(inf)
    inf.set_defaults(func=_cmd_llm)

    prb = lsub.add_parser("probe", help="what does each MG class suggest (positive/negative/neutral), per model",
                          description="Ask each model about each MG class; write the table (rows: classes, columns: "
                                      "models) as .md, .csv or .json (a .json copy with every raw answer is written "
                                      "beside .md/.csv).")
    prb.add_argument("--output", required=True, help="table file: .md, .csv or .json")
    prb.add_argument("--classes", action="append", default=[], metavar="NAMES",
                     help="MG class names (comma-separated or repeatable; default: those of --timelines, else the "
                          "synthetic demo's)")
    prb.add_argument("--timelines", default=None, help="take the classes from this timelines JSON")
    prb.add_argument("--class-names", default=None, help=CLASS_NAMES_HELP)
    prb.add_argument("--add", action="append", default=[], metavar="TABLE.json",
                     help="merge the columns of an earlier probe table (repeatable)")
    prb.add_argument("--repeats", type=int, default=1, help="answers per class and model; the cell is the majority")
    backend(prb, many_models=True)
    prb.set_defaults(func=_cmd_llm)

    rep = lsub.add_parser("report", help="re-make the report from answers.jsonl (re-parsing every raw answer)")
    rep.add_argument("records", help="answers.jsonl of mgclr llm infer")
    rep.add_argument("--output", default=None, help="folder for report.json / report.md (default: the JSONL's)")
    rep.add_argument("--stem", default="report", help="file name stem (default report)")
    rep.set_defaults(func=_cmd_llm_report)
