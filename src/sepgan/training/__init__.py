"""Training: the GAN step functions and the loop. Tensors are B×3×h×w RGB in [0, 1]."""

from sepgan.training.batch import Batch
from sepgan.training.gan import discriminator_step, generator_step
from sepgan.training.loop import TrainingError, TrainResult, train
from sepgan.training.run_log import batch_psnr

__all__ = [
    "Batch",
    "TrainResult",
    "TrainingError",
    "batch_psnr",
    "discriminator_step",
    "generator_step",
    "train",
]
