"""Multi-stream contrastive pretraining (MoCo, AimCLR, CrosSCLR per stream): the loop, and one step you can read
top to bottom.

Per step (:func:`train_step`): the batch comes from a DataLoader whose workers slice arrays; the views are
made by one fused augmentation call per pipeline (the pair shared by every stream without its own, AimCLR's
extreme view in one more call), on the training device, or on CPU with workers in the workers themselves,
overlapping the step (:mod:`mgclr.train.loader`: the same seeds, the same views); each stream's method turns
its views into its input modality and encodes them (queries, and keys without gradient); the method's queue
losses (:mod:`mgclr.ops`, no N × K logits) give each stream's loss, with the epoch for its schedule; backward;
optimiser step; the key encoders' moving average; the keys are enqueued. Every step sits in a range
``mgclr/step N`` (N from 1) and every stage in one of its own (``mgclr/data``, ``mgclr/augment``,
``mgclr/forward``: the encoders and heads, ``mgclr/loss``, ``mgclr/backward``, ``mgclr/optimizer``,
``mgclr/ema``, ``mgclr/enqueue``), on the Nsight timeline (NVTX) and in a torch profiler's trace
(``--profile N``), at no cost without either (:mod:`mgclr.profiling`); the kNN monitor runs in
``mgclr/knn_monitor``::

    nsys profile -t cuda,nvtx -o pretrain mgclr pretrain configs/pretrain/ntu60_xsub.yaml --max-steps 50

Reproducible and resumable: the data order is a function of (seed, epoch), each step's augmentation seed
a function of (seed, rank, step), so a run resumed from a checkpoint written mid-epoch ends with the same
weights as one that was not interrupted. Checkpoints hold both encoders of each stream, the queues and
their pointers, the optimiser, the RNG states, the epoch and the step, the resolved config and the data's
description (:mod:`mgclr.train.run`: one run per folder; ``--resume`` rebuilds the model from the checkpoint).
"""

from __future__ import annotations

import contextlib
import inspect
import math
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import torch

from .._validation import check_int
from ..augment import Pipeline
from ..models import METHODS, MultiStreamMoCo
from ..profiling import range as nvtx_range
from .build import build_model, build_pretrain_pipelines, learning_rate, make_views, sgd, stream_feeds
from .checkpoint import first_non_finite, latest_checkpoint, load_checkpoint, load_weights, save_checkpoint, save_config
from .config import ConfigError, ExperimentConfig
from .distributed import EpochSampler, Process, local_seed, setup, teardown
from .evaluate import check_knn_k, knn_monitor
from .experiment import Experiment, resolve
from .loader import augment_in_workers, pretrain_loader
from .metrics import MetricsLog, progress, truncate_metrics
from .recipe import not_helping_advice
from .run import check_same_data, checkpoint_record, config_for_checkpoint, prepare_run_folder

__all__ = ["NonFiniteLossError", "PretrainResult", "PretrainingNotHelpingWarning", "knn_gain_is_noise", "pretrain",
           "train_step"]


class PretrainingNotHelpingWarning(UserWarning):
    """Half-way through pretraining, a stream's kNN top-1 is not clearly above that of its random-init encoder
    on the same split (:func:`knn_gain_is_noise`)."""


def knn_gain_is_noise(pretrained: float, random_init: float, samples: int) -> bool:
    """True when the kNN top-1 gain ``pretrained - random_init`` (fractions, on ``samples`` test samples) is
    within two standard errors of a difference of two accuracies, sqrt(p1 (1 - p1) / n + p2 (1 - p2) / n):
    a gain that small is what two encoders that read the data equally well show by chance."""
    n = max(int(samples), 1)
    se = math.sqrt(pretrained * (1 - pretrained) / n + random_init * (1 - random_init) / n)
    return pretrained - random_init <= 2 * max(se, 0.5 / n)


class NonFiniteLossError(RuntimeError):
    """A pretraining step's loss is NaN or inf; the message says what went non-finite first. Raised before the
    step's update, so the weights (and every checkpoint) stay as they were."""


@dataclass
class PretrainResult:
    output: Path
    steps: int
    epochs_done: int
    losses: List[float] = field(default_factory=list)
    knn: Dict[int, Dict[str, float]] = field(default_factory=dict)  # epoch -> {stream: top-1}
    knn_random: Dict[str, float] = field(default_factory=dict)  # stream -> top-1 of the random-init encoder
    warnings: List[str] = field(default_factory=list)  # PretrainingNotHelpingWarning messages
    samples_per_second: float = 0.0
    train_samples: int = 0
    recipe: List[str] = field(default_factory=list)  # what mgclr.train.recipe chose, and why
    model: Optional[MultiStreamMoCo] = None  # the trained model (this rank's copy)
    nothing_left: Optional[str] = None  # resumed at the end of the run: why nothing was trained
    main: bool = True  # this process is rank 0 (or the only one): the one that reports


def _autocast(device: torch.device, enabled: bool):
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def train_step(model: MultiStreamMoCo, pipelines: Dict[str, Pipeline], optimizer: torch.optim.Optimizer,
               x: torch.Tensor, lengths: torch.Tensor, seed: int, *, epoch: int = 0, amp: bool = False,
               grad_clip: Optional[float] = None, ddp_model: Optional[torch.nn.Module] = None,
               check_finite: bool = True, views: Optional[Dict[str, Any]] = None) -> Dict[str, float]:
    """One pretraining step on a batch already on the training device. ``pipelines``: every pipeline the streams'
    views come from (:func:`~mgclr.train.build.build_pretrain_pipelines`: the shared pair, a stream's own pair,
    a method's extra view), each distinct one called once. ``epoch`` (0-based) drives the methods' schedules
    (AimCLR's nearest-neighbour mining, CrosSCLR's cross-view mining). ``grad_clip``: the global gradient norm
    of the trained parameters is clipped to it. ``check_finite``: a NaN or inf loss raises
    :class:`NonFiniteLossError` before the update (one device synchronisation per step; under DDP the ranks
    agree first, so that none is left waiting). ``views``: made already (by the loader's workers, with this
    ``seed``: :mod:`mgclr.train.loader`), else made here."""
    if views is None:
        with nvtx_range("mgclr/augment"):
            views = make_views(pipelines, model.streams, x, lengths, seed)
    with _autocast(x.device, amp):
        out = (ddp_model or model)(views, epoch=epoch)
    if check_finite and not _all_ranks_finite(out.loss, ddp_model is not None):
        raise NonFiniteLossError(_what_went_non_finite(model, x, views, out))
    with nvtx_range("mgclr/backward"):
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        if grad_clip is not None:
            torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], grad_clip)
    with nvtx_range("mgclr/optimizer"):
        optimizer.step()
    with nvtx_range("mgclr/ema"):
        model.momentum_update()
    model.enqueue(out)
    metrics = {"loss": out.loss.detach()}
    for name, stream_out in out.streams.items():
        metrics[f"{name}_loss"] = stream_out.loss.detach()
        if stream_out.stats is not None:
            metrics[f"{name}_top1"] = stream_out.stats.top1
        for term, value in stream_out.terms.items():
            metrics[f"{name}_{term}"] = value
    for pair, term in out.cross.items():
        metrics[f"cross_{pair.replace('/', '_')}"] = term.detach()
    return metrics


def _all_ranks_finite(loss: torch.Tensor, distributed: bool) -> bool:
    finite = torch.isfinite(loss.detach()).to(torch.int32)
    if distributed:
        torch.distributed.all_reduce(finite, op=torch.distributed.ReduceOp.MIN)
    return bool(finite)


def _what_went_non_finite(model: MultiStreamMoCo, x: torch.Tensor, views: Dict[str, tuple], out) -> str:
    """The loss's value, each stream's, and the first place upstream that holds NaN or inf: the input batch,
    an augmented view, the weights, else the forward pass itself."""
    losses = [f"{name} {float(stream.loss.detach()):g}" for name, stream in out.streams.items()]
    losses += [f"cross-stream {pair} {float(term.detach()):g}" for pair, term in out.cross.items()]
    text = f"the loss is {float(out.loss.detach()):g} ({', '.join(losses)}); "
    if not bool(torch.isfinite(x).all()):
        return text + "first non-finite: the input batch (the data holds NaN or inf: check the dataset)"
    for name, stream_views in views.items():
        for view_name, view in stream_views.items():
            if not bool(torch.isfinite(view.x).all()):
                return text + (f"first non-finite: the augmented views (stream {name}, view {view_name}; the input is "
                               f"finite)")
    bad = first_non_finite(dict(model.named_parameters()))
    if bad is not None:
        return text + f"first non-finite: the weights ({bad})"
    return text + ("inputs, views and weights are finite: the forward pass overflowed (a learning rate too large "
                   "for the data's scale? try a smaller pretrain.optim.lr or pretrain.grad_clip)")


def _warn_if_not_helping(result: PretrainResult, config: ExperimentConfig, epoch: int, scores: Dict[str, float],
                         test_samples: int, warned: set, log, step: int, run_steps: int) -> None:
    """From half the run on, warn once per stream whose kNN gain over its random-init encoder is noise, with
    what to try (:func:`~mgclr.train.recipe.not_helping_advice`)."""
    if not result.knn_random or 2 * epoch < config.pretrain.epochs:
        return
    for name, top1 in scores.items():
        random_top1 = result.knn_random.get(name)
        if name in warned or random_top1 is None or not knn_gain_is_noise(top1, random_top1, test_samples):
            continue
        warned.add(name)
        advice = not_helping_advice(config, name, result.train_samples, run_steps)
        hint = ("; ".join(f"({i}) {a}" for i, a in enumerate(advice, 1)) + "." if advice else
                "the measured remedies (steps, rotation strength, encoder, temperature) are all in place here: check "
                "the data (mgclr show) and compare with benchmarks/RESULTS.md, 'When pretraining helps'.")
        text = (f"pretraining is not helping the {name} stream so far: kNN top-1 {100 * top1:.1f} % after epoch "
                f"{epoch} of {config.pretrain.epochs}, the random-init encoder's {100 * random_top1:.1f} % on the "
                f"same {test_samples} test samples (a gain within 2 standard errors is noise). Try, in the order of "
                f"their measured effect on small real datasets (benchmarks/RESULTS.md): {hint}")
        result.warnings.append(text)
        log.write(step, {"stream": name, "message": text}, kind="warning")
        warnings.warn(text, PretrainingNotHelpingWarning, stacklevel=4)  # at the caller of pretrain()


# torch >= 2.13 deprecates broadcast_buffers for forward_sync_buffers (which still syncs the buffers once, at
# construction: harmless here, the ranks start from the same queues); earlier versions only have the former.
_NO_BUFFER_SYNC = ({"forward_sync_buffers": False}
                   if "forward_sync_buffers" in inspect.signature(torch.nn.parallel.DistributedDataParallel).parameters
                   else {"broadcast_buffers": False})


def _write_trace(profiler, out_dir: Path, main: bool, profilers: List[Any]) -> None:
    profilers.remove(profiler)
    profiler.__exit__(None, None, None)
    if main:
        profiler.export_chrome_trace(str(out_dir / "trace.json"))


def _warn_unreached_schedules(config: ExperimentConfig) -> None:
    """A method's schedule that starts at or after the last epoch never switches on: said once, by key."""
    epochs = config.pretrain.epochs
    for name, stream in config.model.streams.items():
        for option, what in METHODS[stream.method.kind].schedules.items():
            start = stream.method.args.get(option)
            if start is not None and start >= epochs:
                warnings.warn(f"model.streams.{name}.method.args.{option}: {start}, but the run has {epochs} epochs "
                              f"(0-based, the last is {epochs - 1}): its {what} never switches on", stacklevel=4)


def warn_emulated_bf16(config: ExperimentConfig, device: torch.device) -> None:
    """``pretrain.amp`` where bf16 has no instructions: torch converts every product to fp32 and back (7x slower
    than fp32 on a 2-core AVX2 CPU, benchmarks/RESULTS.md): said once, by key, before any step."""
    if not config.pretrain.amp:
        return
    if device.type == "cpu":
        from .._ext import cpu_bf16

        slow = cpu_bf16() == "none"
        where = f"this CPU has no bf16 instructions ({torch.backends.cpu.get_cpu_capability()}; mgclr info: cpu_bf16)"
    else:
        slow = device.type == "cuda" and not torch.cuda.is_bf16_supported()
        where = f"{torch.cuda.get_device_name(device)} has no bf16 tensor cores" if slow else ""
    if slow:
        warnings.warn(f"pretrain.amp: true, but {where}: bf16 autocast is emulated there and several times slower "
                      f"than fp32 (7x on a 2-core AVX2 CPU); set pretrain.amp: false", stacklevel=4)


RESUME_KEYS = ("model", "optimizer", "rng", "epoch", "step")


def _check_same_steps(config: ExperimentConfig, state: Dict[str, Any], path) -> None:
    """A resumed run counts its steps in the batches it started with: another batch size would misplace the
    position in the epoch (and the data order)."""
    trained = state.get("config", {}).get("data", {}).get("batch_size")
    if trained is not None and trained != config.data.batch_size:
        raise ConfigError(f"data.batch_size: the run in {path.parent} was trained with {trained}, the config gives "
                          f"{config.data.batch_size}; a resumed run keeps its batch size (start over with "
                          f"--overwrite for another)")


def _resume_position(state: Dict[str, Any], path: Path, steps_per_epoch: int, epochs: int):
    """(epoch, step) of a checkpoint to resume, checked against the run: whole numbers, the step within the
    run's ``epochs * steps_per_epoch`` steps (a step at the end means nothing is left to train) and the epoch
    the one that step falls in (a checkpoint written at the end of an epoch may still name that epoch)."""
    epoch, step = state["epoch"], state["step"]
    for key, value in (("step", step), ("epoch", epoch)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"--resume: {path}: {key}: expected a whole number >= 0, got {value!r} (a damaged or "
                             f"edited checkpoint)")
    run_steps = epochs * steps_per_epoch
    if step > run_steps:
        raise ValueError(f"--resume: {path}: step: {step}, beyond the {run_steps} steps of this run ({epochs} epochs "
                         f"of {steps_per_epoch} steps); a checkpoint of another run, or pretrain.epochs below the "
                         f"{math.ceil(step / steps_per_epoch)} it was trained to")
    if not epoch * steps_per_epoch <= step <= (epoch + 1) * steps_per_epoch:
        raise ValueError(f"--resume: {path}: epoch: {epoch}, but step {step} is in epoch {step // steps_per_epoch} "
                         f"(of {steps_per_epoch} steps each): a damaged or edited checkpoint")
    return epoch, step


def _rng_state(device: torch.device) -> Dict[str, Any]:
    state = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: Dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def pretrain(config: Union[ExperimentConfig, Experiment], *, resume: bool = False, overwrite: bool = False,
             max_steps: Optional[int] = None, profile_steps: int = 0, show_progress: bool = True) -> PretrainResult:
    """Pretrain ``config.model`` on ``config.data``'s training split; writes to ``config.output``. ``config``
    may be an :class:`~mgclr.train.experiment.Experiment` already resolved (its data is not read again).

    Args:
        resume: continue from ``output/checkpoint.pt`` (an error when there is none). The model's shapes come
            from the checkpoint; ``config.yaml`` is rewritten with the resolved config (e.g. more epochs). A
            checkpoint at the end of the run (or at ``max_steps``) trains nothing and writes no checkpoint: the
            result's ``nothing_left`` says so; a step or epoch that does not fit the run is an error naming it.
        overwrite: ``output`` holds a run: remove it and start over. Without ``resume`` or ``overwrite``, an
            ``output`` that holds a run is an error.
        max_steps: stop after this many optimiser steps in total (a checkpoint is written there), e.g.
            for a quick look or a profile.
        profile_steps: record a ``torch.profiler`` trace of that many steps to ``output/trace.json``.
    """
    given = config.config if isinstance(config, Experiment) else config
    process = setup(given.device)
    profilers: List[Any] = []  # the --profile profiler while it records
    try:
        if process.main:
            prepare_run_folder(given.output, resume=resume, overwrite=overwrite)
        process.barrier()
        return _pretrain(config, process, resume, max_steps, profile_steps, show_progress, profilers)
    finally:
        for profiler in profilers:  # a run that raised while recording: the profiler must not stay on
            profiler.__exit__(None, None, None)
        teardown(process)


def _pretrain(config: Union[ExperimentConfig, Experiment], process: Process, resume: bool, max_steps: Optional[int],
              profile_steps: int, show_progress: bool, profilers: List[Any]) -> PretrainResult:
    if max_steps is not None:
        check_int("max_steps", max_steps, low=1)
    experiment = resolve(config)
    config, train_set, test_set, info = experiment.config, experiment.train_set, experiment.test_set, experiment.info
    recipe = list(experiment.notes)
    out_dir = Path(config.output)
    device = process.device
    _warn_unreached_schedules(config)
    warn_emulated_bf16(config, device)
    if config.pretrain.knn_every:  # the monitor's neighbours must exist (said before any step)
        check_knn_k("pretrain.knn_k", config.pretrain.knn_k, len(train_set), f"the training split of {info.source}")
    state = None
    if resume:
        path = latest_checkpoint(out_dir)
        if path is None:
            raise FileNotFoundError(f"--resume: no checkpoint in {out_dir} (expected {out_dir / 'checkpoint.pt'})")
        state = load_checkpoint(path, map_location=device, require=RESUME_KEYS)
        experiment = experiment.with_checkpoint_config(config_for_checkpoint(config, state, path), str(path))
        config = experiment.config
        check_same_data(state, info, path)
        _check_same_steps(config, state, path)
    model = build_model(config, info).to(device)
    pipelines = build_pretrain_pipelines(config, info)
    for pipe in pipelines.values():
        pipe.to(device)
    query_params = [p for s in model.streams.values() for p in s.query_parameters()]
    optimizer = sgd(query_params, config.pretrain.optim)
    ddp_model = None
    if process.distributed:
        # Queues stay identical through the all-gathered enqueue, and running BN statistics are only read
        # in evaluation (rank 0's): no buffer broadcast per step (it would ship every queue).
        ddp_model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None, **_NO_BUFFER_SYNC)
    if config.pretrain.compile:
        for stream in model.streams.values():
            stream.encoder_q.compile()
            stream.encoder_k.compile()

    batch = config.data.batch_size
    sampler = EpochSampler(len(train_set), batch, seed=config.seed, rank=process.rank,
                           world_size=process.world_size)
    steps_per_epoch = sampler.batches_per_epoch
    # The loader's own generator: each iter() draws a worker base seed, which must not come from the global RNG
    # that dropout draws from (a resumed run starts a fresh iterator mid-epoch, and would drop other units).
    in_workers = augment_in_workers(config, device)
    loader = pretrain_loader(train_set, sampler, config, device,
                             torch.Generator().manual_seed(local_seed(config.seed, process.rank)), in_workers,
                             pipelines, stream_feeds(model.streams, pipelines), process.rank)
    epoch, step = 0, 0
    if state is not None:
        bad = first_non_finite(state["model"])
        if bad is not None:
            raise ValueError(f"--resume: {path} holds non-finite weights ({bad} has NaN or inf); resume from an "
                             f"earlier checkpoint, or start over with --overwrite")
        load_weights(model, state["model"], path)
        for key, restore in (("optimizer", optimizer.load_state_dict), ("rng", lambda s: _set_rng_state(s, device))):
            try:
                restore(state[key])
            except (AttributeError, IndexError, KeyError, RuntimeError, TypeError, ValueError) as exc:
                detail = (str(exc).strip().splitlines() or [""])[0][:200]
                raise ValueError(f"--resume: {path}: {key}: cannot be restored ({type(exc).__name__}: {detail}): a "
                                 f"damaged or edited checkpoint") from None
        epoch, step = _resume_position(state, path, steps_per_epoch, config.pretrain.epochs)
        if process.main:
            truncate_metrics(out_dir, step)  # what was logged after the checkpoint is logged again
    if process.main:
        save_config(out_dir, config, experiment.provenance)
    record = checkpoint_record(config, info)
    total_steps = config.pretrain.epochs * steps_per_epoch
    if max_steps is not None:
        total_steps = min(total_steps, max_steps)
    if state is not None and step >= total_steps:  # a finished run resumed: say so, train nothing, write nothing
        why = (f"the end of the run ({config.pretrain.epochs} epochs of {steps_per_epoch} steps; raise "
               f"pretrain.epochs to train on)" if step >= config.pretrain.epochs * steps_per_epoch
               else f"and --max-steps is {max_steps}")
        return PretrainResult(out_dir, step, epoch, train_samples=len(train_set), recipe=recipe, model=model,
                              nothing_left=f"{path} is at step {step}, {why}", main=process.main)

    log = MetricsLog(out_dir, enabled=process.main, tensorboard=config.pretrain.tensorboard)
    result = PretrainResult(out_dir, step, epoch, train_samples=len(train_set), recipe=recipe, main=process.main)
    if recipe and state is None:
        log.write(0, {"choices": recipe}, kind="recipe")
    if recipe and show_progress and process.main:  # what was chosen, before the run starts (beside the bar)
        for note in recipe:
            print(f"recipe: {note}", file=sys.stderr)
    bar = progress(total_steps, f"pretrain {config.name}", show_progress and process.main, initial=step)
    warned: set = set()
    if config.pretrain.knn_every:
        # The kNN of the encoders as initialised (the same seed), once: what "learning something" must beat.
        with torch.random.fork_rng(devices=[]):
            baseline = build_model(config, info).to(device)
        result.knn_random = knn_monitor(baseline, train_set, test_set, config, process, info)
        del baseline
        if state is None:
            log.write(0, {f"knn_top1_random_{k}": v for k, v in result.knn_random.items()}, kind="knn")
        model.train()
    profiler = None  # started after the kNN baseline: a trace of N steps holds those steps
    if profile_steps:
        profiler = torch.profiler.profile(record_shapes=True, with_stack=False)
        profiler.__enter__()
        profilers.append(profiler)
    profiled = 0
    started, samples = time.perf_counter(), 0

    def checkpoint() -> None:
        if process.main:
            save_checkpoint(out_dir / "checkpoint.pt", {
                "model": model.state_dict(), "optimizer": optimizer.state_dict(), "rng": _rng_state(device),
                "epoch": epoch, "step": step, **record})
        process.barrier()

    model.train()
    while epoch < config.pretrain.epochs and step < total_steps:
        start_batch = step - epoch * steps_per_epoch
        sampler.set_epoch(epoch, start_batch)
        batches = iter(loader)
        for batch_index in range(start_batch, steps_per_epoch):
            if step >= total_steps:
                break
            with nvtx_range(f"mgclr/step {step + 1}"):
                with nvtx_range("mgclr/data"):
                    x, lengths, _, *made = next(batches)  # made: the views, when the workers augment
                    x = x.to(device, non_blocking=True)
                    lengths = lengths.to(device, non_blocking=True)
                lr = learning_rate(config.pretrain.optim, config.pretrain.epochs,
                                   epoch + batch_index / steps_per_epoch)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                try:
                    metrics = train_step(model, pipelines, optimizer, x, lengths,
                                         local_seed(config.seed, process.rank, step), epoch=epoch,
                                         amp=config.pretrain.amp, grad_clip=config.pretrain.grad_clip,
                                         ddp_model=ddp_model, views=made[0] if made else None)
                except NonFiniteLossError as exc:
                    saved = latest_checkpoint(out_dir)
                    raise NonFiniteLossError(f"pretrain: step {step + 1} (epoch {epoch + 1}): {exc}. The run stops "
                                             f"before this step's update; "
                                             + (f"{saved} is intact" if saved else "no checkpoint was written")
                                             ) from None
            step += 1
            samples += x.shape[0] * process.world_size
            if profiler is not None:
                profiled += 1
                if profiled == profile_steps:
                    _write_trace(profiler, out_dir, process.main, profilers)
                    profiler = None
            if step % config.pretrain.log_every == 0 or step == total_steps:
                values = {k: float(v) for k, v in metrics.items()}
                values["lr"] = lr
                values["samples_per_s"] = samples / max(time.perf_counter() - started, 1e-9)
                log.write(step, values)
                result.losses.append(values["loss"])
                if bar is not None:
                    bar.set_postfix(loss=f"{values['loss']:.3f}", samples_per_s=f"{values['samples_per_s']:,.0f}")
            if bar is not None:
                bar.update(1)
            if config.pretrain.checkpoint_steps and step % config.pretrain.checkpoint_steps == 0:
                checkpoint()
        else:
            epoch += 1
            if config.pretrain.knn_every and epoch % config.pretrain.knn_every == 0:
                with nvtx_range("mgclr/knn_monitor"):
                    scores = knn_monitor(model, train_set, test_set, config, process, info)
                result.knn[epoch] = scores
                log.write(step, {f"knn_top1_{k}": v for k, v in scores.items()}, kind="knn")
                _warn_if_not_helping(result, config, epoch, scores, len(test_set), warned, log, step,
                                     steps_per_epoch * config.pretrain.epochs)
                model.train()
            if epoch % config.pretrain.checkpoint_every == 0 or epoch == config.pretrain.epochs:
                checkpoint()
            continue
        break  # max_steps reached mid-epoch
    if profiler is not None:  # the run had fewer steps than --profile asked for: the trace holds them all
        _write_trace(profiler, out_dir, process.main, profilers)
    if step % steps_per_epoch or max_steps is not None:
        checkpoint()
    if bar is not None:
        bar.close()
    log.close()
    result.steps, result.epochs_done, result.model = step, epoch, model
    result.samples_per_second = samples / max(time.perf_counter() - started, 1e-9)
    return result
