"""The training loop: data, networks, optimisers, checkpoints, resume, DDP (its log: training/run_log.py).

A run lives in one folder (``TrainConfig.output_dir``)::

    config.yaml              the resolved configuration
    training_state.pt        everything needed to resume (atomic, rewritten each checkpoint)
    generator/               the latest generator as a pretrained folder (safetensors + config.json)
    generator-best/          the generator at its best validation PSNR so far (metadata: step, PSNR)
    generator-step_001000/   the generator at that step (only with ``snapshot_every``)
    discriminator/           the latest discriminator or critic (adversarial modes)
    images/step_000500.png   validation grids: inputs overlaid | output | ground truth
    metrics.jsonl            one JSON line per log event
    tensorboard/             the same scalars and grids for TensorBoard

Resuming (``resume=True``) restores both networks, both optimisers, the step and
every RNG state; the data order and the augmentation of each item depend only
on (seed, epoch, index), so a resumed run produces the same weights as one that
never stopped (bit-for-bit on CPU with the same thread count).

Several GPUs: launch with ``torchrun --nproc_per_node=N -m sepgan train ...``.
Each rank draws its share of every epoch through a ``DistributedSampler``,
gradients are averaged by ``DistributedDataParallel``, and only rank 0 logs and
writes files. ``data.batch_size`` is the per-rank batch.

Tensors: batches are B×3×h×w RGB in [0, 1], h = w = ``data.crop_size``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

from sepgan.atomic import atomic_write_text, check_overwrite
from sepgan.checkpoint import (
    TRAINING_STATE_NAME,
    CheckpointError,
    clean_state_dict,
    load_training_state,
    save_pretrained,
    save_training_state,
    unwrap_model,
)
from sepgan.config import TrainConfig, config_from_dict, config_to_dict, dump_config
from sepgan.data import PairedAugment, build_triplet_dataset
from sepgan.data.prepared_triplets import is_prepared
from sepgan.errors import UserError
from sepgan.models import create_model
from sepgan.runtime import (
    Runtime,
    distributed_info,
    resolve_runtime,
    rng_state,
    seed_everything,
    set_rng_state,
)
from sepgan.training.batch import Batch
from sepgan.training.gan import discriminator_step, generator_step
from sepgan.training.objectives import Objective, objective
from sepgan.training.run_log import RunLog, batch_psnr, batch_sharpness_ratio, validation_grid

logger = logging.getLogger(__name__)


# Seed slot for the fixed validation crops; training epochs never reach it.
VALIDATION_EPOCH = 2**31 - 1


class TrainingError(UserError, ValueError):
    """A run that can't start: bad data, a missing resume state, a mismatched config."""


@dataclass
class TrainResult:
    step: int
    output_dir: Path
    history: list[dict] = field(default_factory=list)  # one dict per logged step
    validation_psnr: float | None = None


# ---------------------------------------------------------------------------
# Data: deterministic per item, so that resume is exact.
# ---------------------------------------------------------------------------


class _SeededItems(Dataset):
    """Wraps a dataset; item ``(epoch, index)`` is augmented with a seed derived from both."""

    def __init__(self, dataset: Dataset, augment: PairedAugment, seed: int) -> None:
        self.dataset, self.augment, self.seed = dataset, augment, seed

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, key: tuple[int, int]):
        epoch, index = key
        self.augment.reseed([self.seed, epoch, index])
        return self.dataset[index]


class _EpochBatches:
    """Batches of ``(epoch, index)`` keys for one rank, starting at a given global batch."""

    def __init__(self, sampler: DistributedSampler, batch_size: int, start_batch: int) -> None:
        self.sampler, self.batch_size, self.start_batch = sampler, batch_size, start_batch
        self.batches_per_epoch = len(sampler) // batch_size

    def __iter__(self):
        epoch, skip = divmod(self.start_batch, self.batches_per_epoch)
        while True:
            self.sampler.set_epoch(epoch)
            indices = list(self.sampler)
            for batch_index in range(skip, self.batches_per_epoch):
                chunk = indices[batch_index * self.batch_size : (batch_index + 1) * self.batch_size]
                yield [(epoch, index) for index in chunk]
            epoch, skip = epoch + 1, 0


def _collate(items) -> Batch:
    return Batch(*(torch.stack(column) for column in zip(*items, strict=True)))


def _build_data(config: TrainConfig, rank: int, world_size: int):
    data = config.data
    if not data.paths:
        raise TrainingError("no training data: set data.paths (dataset folders or video files)")
    augment = PairedAugment(
        crop_size=data.crop_size,
        flip_horizontal=data.flip_horizontal,
        flip_vertical=data.flip_vertical,
        temporal_reverse=data.temporal_reverse,
        channel_permute=data.channel_permute,
        seed=config.seed,
    )
    try:
        dataset = build_triplet_dataset(
            data.paths,
            data.layout,
            gaps=data.gaps,
            augment=augment,
            cache_dir=data.cache_dir,
            max_side=data.max_side,
        )
    except (ValueError, OSError) as error:
        raise TrainingError(str(error)) from error
    sampler = DistributedSampler(
        dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=config.seed, drop_last=True
    )
    if len(sampler) < data.batch_size:
        raise TrainingError(
            f"the dataset has {len(dataset)} triplets ({len(sampler)} per rank), fewer than "
            f"data.batch_size={data.batch_size}; lower the batch size or add data"
        )
    return dataset, augment, sampler


def _validation_batch(dataset: Dataset, augment: PairedAugment, config: TrainConfig) -> Batch:
    """A fixed batch of ``data.validation_size`` evenly spaced triplets, never flipped or reversed.

    From ``data.validation_paths`` when set (held-out sources, used at their
    stored size), else from the training data, cropped from a fixed seed.
    """
    if config.data.validation_paths:
        # Prepared sets are used whole (their crops are multiples of 16); other layouts get the
        # same fixed-seed crops as the training-data batch below, from their test split.
        whole = all(is_prepared(Path(path)) for path in config.data.validation_paths)
        augment = None if whole else PairedAugment(crop_size=config.data.crop_size, seed=config.seed)
        try:
            dataset = build_triplet_dataset(
                config.data.validation_paths,
                config.data.layout,
                split="test",
                gaps=config.data.gaps,
                augment=augment,
                cache_dir=config.data.cache_dir,
                max_side=config.data.max_side,
            )
        except (ValueError, OSError) as error:
            raise TrainingError(f"data.validation_paths: {error}") from error
    count = min(config.data.validation_size, len(dataset))  # type: ignore[arg-type]
    indices = np.linspace(0, len(dataset) - 1, count).round().astype(int)  # type: ignore[arg-type]
    if augment is None:  # whole prepared crops
        try:
            return _collate([dataset[int(index)] for index in indices])
        except RuntimeError as error:  # torch.stack: sets of different crop sizes
            raise TrainingError(
                f"data.validation_paths: prepared sets of different crop sizes ({error})"
            ) from None
    switches = ("flip_horizontal", "flip_vertical", "temporal_reverse", "channel_permute")
    saved = {name: getattr(augment, name) for name in switches}
    items = []
    try:
        for name in switches:
            setattr(augment, name, False)
        for index in indices:
            augment.reseed([config.seed, VALIDATION_EPOCH, int(index)])
            items.append(dataset[int(index)])
    finally:
        for name, value in saved.items():
            setattr(augment, name, value)
    return _collate(items)


# ---------------------------------------------------------------------------
# The loop.
# ---------------------------------------------------------------------------


def _init_distributed(config: TrainConfig) -> tuple[int, int, Runtime]:
    rank, local_rank, world_size = distributed_info()
    if world_size > 1 and not dist.is_initialized():
        use_cuda = torch.cuda.is_available() and config.device in ("auto", "cuda")
        dist.init_process_group("nccl" if use_cuda else "gloo")
        if use_cuda:
            torch.cuda.set_device(local_rank)
    device = config.device
    if world_size > 1 and torch.cuda.is_available() and device in ("auto", "cuda"):
        device = f"cuda:{local_rank}"
    return rank, world_size, resolve_runtime(device, config.precision)


def _init_from_pretrained(generator: torch.nn.Module, name_or_path: str) -> None:
    """Copy the weights of a pretrained folder (or bundled name) into a freshly built generator."""
    from sepgan.checkpoint import load_pretrained
    from sepgan.weights import WeightsError, resolve_weights

    try:
        pretrained = load_pretrained(resolve_weights(name_or_path))
    except (WeightsError, CheckpointError) as error:
        raise TrainingError(f"model.init_from: {error}") from error
    if pretrained.architecture != generator.architecture:
        raise TrainingError(
            f"model.init_from: {name_or_path} is a {pretrained.architecture}, not a {generator.architecture}"
        )
    try:
        generator.load_state_dict(pretrained.state_dict())
    except RuntimeError as error:
        raise TrainingError(
            f"model.init_from: {name_or_path} does not fit model.options ({error})"
        ) from error


def _load_resume_state(config: TrainConfig, resume: bool, overwrite: bool = False) -> dict | None:
    """The saved training state to resume from (``resume``), after checking the config matches; else None.

    Without ``resume`` a run folder with files in it is refused unless ``overwrite`` (ffmpeg's rule,
    :func:`sepgan.atomic.check_overwrite`); with it, the old run's training state is removed, so the
    new run starts at step 0, and the files it writes replace the old run's.
    """
    output_dir = Path(config.output_dir)
    state_path = output_dir / TRAINING_STATE_NAME
    if not resume:
        if state_path.exists() and not overwrite:
            raise TrainingError(
                "{path} already holds a run; pass {resume} to continue it, {overwrite} to start a new "
                "one in it, or pick another folder",
                parameter=("resume", "overwrite"),
                path=output_dir,
            )
        check_overwrite(output_dir, overwrite)
        if overwrite:
            state_path.unlink(missing_ok=True)
        return None
    if not state_path.is_file():
        raise TrainingError(
            "{resume}: no training state in {path} ({name} missing)",
            parameter="resume",
            path=output_dir,
            name=TRAINING_STATE_NAME,
        )
    try:
        state = load_training_state(state_path)
    except CheckpointError as error:
        raise TrainingError(str(error)) from error
    saved = config_from_dict(state["config"])
    saved.max_steps = config.max_steps  # extending a run is allowed; anything else must match
    saved.output_dir = config.output_dir
    if config_to_dict(saved) != config_to_dict(config):
        raise TrainingError(
            "{resume}: the config differs from the one {path} was started with "
            "(only max_steps may change); see its config.yaml",
            parameter="resume",
            path=output_dir,
        )
    return state


@dataclass
class _Run:
    """Everything one training run holds: set up by :func:`_setup`, advanced by :func:`_train_step`."""

    config: TrainConfig
    objective: Objective
    runtime: Runtime
    rank: int
    world_size: int
    generator: torch.nn.Module
    generator_optimizer: torch.optim.Optimizer
    discriminator: torch.nn.Module | None
    discriminator_optimizer: torch.optim.Optimizer | None
    validation: Batch
    run_log: RunLog
    result: TrainResult
    step: int = 0
    best_psnr: float | None = None
    # fp16 needs loss scaling; bf16 and fp32 don't.
    generator_scaler: torch.amp.GradScaler | None = None
    discriminator_scaler: torch.amp.GradScaler | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def output_dir(self) -> Path:
        return Path(self.config.output_dir)


def _build_networks(config: TrainConfig, train_objective: Objective, runtime: Runtime, fresh: bool):
    """The generator, the adversary (None for L1) and one Adam optimiser for each."""
    generator = create_model(config.model.name, **config.model.options)
    if config.model.init_from and fresh:  # a resumed run restores its own weights
        _init_from_pretrained(generator, config.model.init_from)
    if not any(True for _ in generator.parameters()):
        raise TrainingError(
            f"model {config.model.name} with options {config.model.options} has no parameters to train"
        )
    generator = generator.to(runtime.device)
    generator_optimizer = torch.optim.Adam(
        generator.parameters(), lr=config.optim.generator_lr, betas=tuple(config.optim.generator_betas)
    )
    discriminator = discriminator_optimizer = None
    if train_objective.adversarial:
        name = (
            train_objective.discriminator
            if config.discriminator.name == "auto"
            else config.discriminator.name
        )
        options = {"image_size": config.data.crop_size, **config.discriminator.options}
        discriminator = create_model(name, **options).to(runtime.device)
        discriminator_optimizer = torch.optim.Adam(
            discriminator.parameters(),
            lr=config.optim.discriminator_lr,
            betas=tuple(config.optim.discriminator_betas),
        )
    return generator, generator_optimizer, discriminator, discriminator_optimizer


def _setup(config: TrainConfig, state: dict | None, rank: int, world_size: int, runtime: Runtime):
    """Data, networks, optimisers and the run folder: ``(run, dataset, augment, sampler)``."""
    seed_everything(config.seed + rank)
    dataset, augment, sampler = _build_data(config, rank, world_size)
    validation = _validation_batch(dataset, augment, config).to(runtime.device)
    train_objective = objective(config.mode)
    networks = _build_networks(config, train_objective, runtime, fresh=state is None)
    output_dir = Path(config.output_dir)
    if rank == 0:
        output_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(output_dir / "config.yaml", dump_config(config))
    use_scaler = runtime.precision == "fp16"
    run = _Run(
        config, train_objective, runtime, rank, world_size, *networks, validation,
        run_log=RunLog(output_dir, rank == 0), result=TrainResult(step=0, output_dir=output_dir),
        generator_scaler=torch.amp.GradScaler(runtime.device.type) if use_scaler else None,
        discriminator_scaler=torch.amp.GradScaler(runtime.device.type) if use_scaler else None,
    )  # fmt: skip
    return run, dataset, augment, sampler


def _restore(run: _Run, state: dict) -> None:
    """Both networks, both optimisers, the step, the best PSNR and this rank's RNG state."""
    run.generator.load_state_dict(clean_state_dict(state["generator"]))
    run.generator_optimizer.load_state_dict(state["generator_optimizer"])
    if run.discriminator is not None:
        run.discriminator.load_state_dict(clean_state_dict(state["discriminator"]))
        run.discriminator_optimizer.load_state_dict(state["discriminator_optimizer"])
    run.step = run.result.step = int(state["step"])
    run.best_psnr = state.get("best_validation_psnr")
    set_rng_state(state["rng"][run.rank] if run.rank < len(state["rng"]) else state["rng"][0])


def _distribute(run: _Run) -> None:
    """Wrap the networks in DistributedDataParallel when there are several ranks."""
    if run.world_size > 1:
        device_ids = [run.runtime.device.index] if run.runtime.device.type == "cuda" else None
        run.generator = torch.nn.parallel.DistributedDataParallel(run.generator, device_ids=device_ids)
        if run.discriminator is not None:
            run.discriminator = torch.nn.parallel.DistributedDataParallel(
                run.discriminator, device_ids=device_ids
            )


def _batches_per_step(run: _Run) -> int:
    return max(1, run.objective.critic_steps(run.config.optim.n_critic))


def _loader(run: _Run, dataset: Dataset, augment: PairedAugment, sampler: DistributedSampler) -> DataLoader:
    """The training batches from the run's current step on (each step draws ``_batches_per_step`` batches)."""
    config = run.config
    return DataLoader(
        _SeededItems(dataset, augment, config.seed),
        batch_sampler=_EpochBatches(
            sampler, config.data.batch_size, start_batch=run.step * _batches_per_step(run)
        ),
        num_workers=config.data.num_workers,
        collate_fn=_collate,
        pin_memory=run.runtime.device.type == "cuda",
        persistent_workers=config.data.num_workers > 0,
        # Its own generator, so creating the iterator does not draw from the global
        # torch RNG (which would shift the gradient-penalty alphas after a resume).
        generator=torch.Generator().manual_seed(config.seed),
    )


def _train_step(run: _Run, batches: Iterator[Batch]) -> dict[str, float]:
    """One generator update (after the objective's critic updates, each on its own batch); its logs."""
    config, logs = run.config, {}
    scale = config.optim.lr_scale(run.step)
    for optimizer, base in ((run.generator_optimizer, config.optim.generator_lr),
                            (run.discriminator_optimizer, config.optim.discriminator_lr)):  # fmt: skip
        for group in optimizer.param_groups if optimizer is not None else ():
            group["lr"] = base * scale
    for _ in range(run.objective.critic_steps(config.optim.n_critic)):
        batch = next(batches).to(run.runtime.device)
        logs.update(
            discriminator_step(
                run.objective, run.generator, run.discriminator, run.discriminator_optimizer, batch,
                runtime=run.runtime, gradient_penalty_weight=config.optim.gradient_penalty_weight,
                scaler=run.discriminator_scaler, grad_clip=config.optim.grad_clip,
            )
        )  # fmt: skip
    if not run.objective.adversarial:
        batch = next(batches).to(run.runtime.device)
    warmup = config.optim.discriminator_warmup_steps if run.objective.adversarial else 0
    if run.step >= warmup:  # during the warm-up the adversary learns the frozen generator's outputs
        _, generator_logs = generator_step(
            run.objective, run.generator, run.discriminator, run.generator_optimizer, batch,
            lambda_l1=config.lambda_l1.value(run.step - warmup), runtime=run.runtime,
            scaler=run.generator_scaler, grad_clip=config.optim.grad_clip,
        )  # fmt: skip
        logs.update(generator_logs)
    logs["optim/lr_scale"] = scale
    run.step += 1
    if not all(math.isfinite(value) for value in logs.values()):
        raise TrainingError(f"training diverged at step {run.step}: {logs}")
    return logs


def _checkpoint(run: _Run) -> None:
    """Write the training state and the latest networks (rank 0; every rank's RNG state is gathered)."""
    all_rng = [None] * run.world_size
    if run.world_size > 1:
        dist.all_gather_object(all_rng, rng_state())
    else:
        all_rng = [rng_state()]
    if not run.is_main:
        return
    step, output_dir = run.step, run.output_dir
    training_state = {
        "step": step,
        "config": config_to_dict(run.config),
        "generator": clean_state_dict(unwrap_model(run.generator).state_dict()),
        "generator_optimizer": run.generator_optimizer.state_dict(),
        "rng": all_rng,
        "best_validation_psnr": run.best_psnr,
    }
    if run.discriminator is not None:
        training_state["discriminator"] = clean_state_dict(unwrap_model(run.discriminator).state_dict())
        training_state["discriminator_optimizer"] = run.discriminator_optimizer.state_dict()
    save_pretrained(run.generator, output_dir / "generator", metadata={"step": step, "mode": run.config.mode})
    if run.discriminator is not None:
        save_pretrained(run.discriminator, output_dir / "discriminator", metadata={"step": step})
    if run.config.snapshot_every and step % run.config.snapshot_every == 0:
        metadata = {"step": step, "mode": run.config.mode}
        save_pretrained(run.generator, output_dir / f"generator-step_{step:06d}", metadata=metadata)
    save_training_state(output_dir / TRAINING_STATE_NAME, training_state)


def _validate(run: _Run) -> None:
    """PSNR on the fixed validation batch; keeps the best generator and writes the image grid (rank 0)."""
    step, validation = run.step, run.validation
    model = unwrap_model(run.generator)
    model.eval()
    with torch.no_grad(), run.runtime.autocast():  # in chunks: a held-out set can be large
        output = torch.cat([chunk.generate(model).float() for chunk in validation.chunks(16)])
    model.train()
    value = batch_psnr(output, validation.target)
    baseline = batch_psnr(0.5 * (validation.frame0 + validation.frame1), validation.target)
    run.result.validation_psnr = value
    run.run_log.scalars(
        step,
        {
            "validation/psnr": value,
            "validation/psnr_average_baseline": baseline,
            "validation/sharpness_ratio": batch_sharpness_ratio(output, validation.target),
        },
    )
    if run.is_main and math.isfinite(value) and (run.best_psnr is None or value > run.best_psnr):
        # A run whose validation peaks early keeps its best weights (the latest may be worse).
        run.best_psnr = value
        save_pretrained(
            model, run.output_dir / "generator-best", metadata={"step": step, "validation_psnr": value}
        )
    if step % run.config.image_every == 0 or step == run.config.max_steps:
        run.run_log.image(step, validation_grid(validation.to(torch.device("cpu")), output.cpu()))


def _after_step(run: _Run, logs: dict[str, float], started: float) -> None:
    """Log, validate and checkpoint on their schedules."""
    config, step = run.config, run.step
    if step % config.log_every == 0 or step == config.max_steps:
        logs["train/steps_per_second"] = (step - run.result.step) / max(time.perf_counter() - started, 1e-9)
        run.run_log.scalars(step, logs)
        run.result.history.append({"step": step, **logs})
    if run.is_main and (step % config.validate_every == 0 or step == config.max_steps):
        _validate(run)
    snapshot = config.snapshot_every and step % config.snapshot_every == 0
    if step % config.checkpoint_every == 0 or step == config.max_steps or snapshot:
        _checkpoint(run)


def train(
    config: TrainConfig, *, resume: bool = False, progress: bool = True, overwrite: bool = False
) -> TrainResult:
    """Run (or resume) training as configured; returns the final step and logged history.

    ``overwrite``: start a new run in a run folder that has files in it (:func:`_load_resume_state`).
    """
    config.validate()
    rank, world_size, runtime = _init_distributed(config)
    state = _load_resume_state(config, resume, overwrite)
    if world_size > 1:
        # Every rank checks the run folder before rank 0 writes to it: else a later rank could find
        # rank 0's first files, refuse them as an existing output, and leave rank 0 waiting forever.
        dist.barrier()
    run, dataset, augment, sampler = _setup(config, state, rank, world_size, runtime)
    if state is not None:
        _restore(run, state)
    _distribute(run)
    batches = iter(_loader(run, dataset, augment, sampler))
    if run.is_main:
        logger.info(
            "training %s from step %d to %d on %s (%s); %d triplets",
            config.mode, run.step, config.max_steps, runtime.device, runtime.reason, len(dataset),
        )  # fmt: skip
    bar = None
    if run.is_main and progress:
        from sepgan.progress import progress_bar

        bar = progress_bar(total=config.max_steps, initial=run.step, desc=f"train {config.mode}", unit="step")
    run.generator.train()
    if run.discriminator is not None:
        run.discriminator.train()
    try:
        if run.step == 0 and run.is_main:
            _validate(run)
        started = time.perf_counter()
        while run.step < config.max_steps:
            logs = _train_step(run, batches)
            _after_step(run, logs, started)
            if bar is not None:
                bar.update(1)
                if "generator/l1" in logs:  # absent during the adversary's warm-up
                    bar.set_postfix(l1=f"{logs['generator/l1']:.4f}", refresh=False)
    finally:
        if bar is not None:
            bar.close()
        run.run_log.close()
    run.result.step = run.step
    if world_size > 1:
        dist.barrier()
    return run.result
