"""A PyTorch re-implementation of the discrete VAE tutorial: the reference.

The model, loss, optimizer and schedule of the PyTorch tutorial
(https://github.com/YongfeiYan/Gumbel_Softmax_VAE), with the bugs that
`keras_gumbel.models.DiscreteVAE` fixes fixed the same way, so both train the
same thing:

- encoder 784-512-256-(30 x 10) with LINEAR logits (the tutorial applies ReLU
  to them), decoder (30 x 10)-256-512-784 emitting Bernoulli logits, ReLU;
- loss: the negative ELBO per image, binary cross-entropy on logits summed
  over pixels plus the analytic KL(q(z|x) || uniform), averaged over the
  batch (the tutorial's BCE after a sigmoid, summed and divided by the batch);
- Adam(1e-3), batch 100, temperature `max(0.5, exp(-3e-5 * t))` updated every
  100 steps with `t` the GLOBAL step (the tutorial resets it every epoch);
- the tutorial's Gumbel noise `-log(-log(u + 1e-20) + 1e-20)`, `u ~ U[0, 1)`
  from `torch.rand` (faster than `F.gumbel_softmax`'s `exponential_`).

Evaluation is Jang et al.'s: the test negative ELBO with relaxed samples at the
current temperature and with the one-hot of their argmax.

torch is a benchmark tool only, never a dependency of keras_gumbel. Install the
CPU wheel by path without dependencies (never a CUDA build):

    pip install --no-deps /opt/wheels/torch-2.13.0+cpu-*.whl
    pip install filelock sympy networkx jinja2

Run the quality reference (10 epochs on full MNIST, as the README's bar):

    python -m benchmarks.torch_vae --source /work/shared/data/mnist.npz --epochs 10 --seed 0
"""

import argparse
import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

LATENT_DIM = 30
NUM_CATEGORIES = 10
INPUT_DIM = 784


class TorchDiscreteVAE(nn.Module):
    """The tutorial's VAE_gumbel, with linear logits and Bernoulli logits."""

    def __init__(self, latent_dim=LATENT_DIM, num_categories=NUM_CATEGORIES, input_dim=INPUT_DIM):
        super().__init__()
        self.latent_dim = latent_dim
        self.num_categories = num_categories
        code = latent_dim * num_categories
        self.encoder = nn.Sequential(
            nn.Linear(input_dim, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, code)
        )
        self.decoder = nn.Sequential(
            nn.Linear(code, 256), nn.ReLU(), nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, input_dim)
        )

    def logits(self, x):
        return self.encoder(x).view(-1, self.latent_dim, self.num_categories)

    def forward(self, x, temperature):
        """(pixel logits, posterior logits) with a relaxed sample."""
        logits = self.logits(x)
        z = gumbel_softmax(logits, temperature)
        return self.decoder(z.view(len(x), -1)), logits


def gumbel_softmax(logits, temperature, eps=1e-20):
    """The tutorial's relaxed sample: softmax((logits + g) / temperature)."""
    u = torch.rand_like(logits)
    g = -torch.log(-torch.log(u + eps) + eps)
    return F.softmax((logits + g) / temperature, dim=-1)


def negative_elbo_terms(x, pixel_logits, logits):
    """Per-image reconstruction (nats, summed over pixels) and analytic KL."""
    reconstruction = F.binary_cross_entropy_with_logits(pixel_logits, x, reduction="none").sum(-1)
    log_q = F.log_softmax(logits, dim=-1)
    kl = (log_q.exp() * (log_q + math.log(logits.shape[-1]))).sum(dim=(1, 2))
    return reconstruction, kl


def temperature_at(step, initial=1.0, rate=3e-5, minimum=0.5, every=100):
    """`max(minimum, initial * exp(-rate * t0))`, `t0` the step floored to `every`."""
    return max(minimum, initial * math.exp(-rate * (step // every) * every))


def make_trainer(images, batch_size=100, seed=0, learning_rate=1e-3):
    """A model, its optimizer and `step()`, which runs one training step on
    the next batch of `images` (float32 `[N, 784]` in [0, 1], reshuffled every
    epoch) at the annealed temperature and returns the batch loss tensor.

    Returns:
        `(model, optimizer, step)`; `step.global_step` counts the steps.
    """
    torch.manual_seed(seed)
    data = torch.as_tensor(np.asarray(images, np.float32))
    model = TorchDiscreteVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    generator = torch.Generator().manual_seed(seed)
    state = {"order": torch.randperm(len(data), generator=generator), "position": 0}

    def step():
        if state["position"] + batch_size > len(data):
            state["order"] = torch.randperm(len(data), generator=generator)
            state["position"] = 0
        index = state["order"][state["position"] : state["position"] + batch_size]
        state["position"] += batch_size
        x = data.index_select(0, index)
        temperature = temperature_at(step.global_step)
        pixel_logits, logits = model(x, temperature)
        reconstruction, kl = negative_elbo_terms(x, pixel_logits, logits)
        loss = (reconstruction + kl).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step.global_step += 1
        return loss

    step.global_step = 0
    return model, optimizer, step


@torch.no_grad()
def evaluate(model, images, temperature, batch_size=100):
    """Mean test negative ELBO: `{"loss", "hard_loss", "kl"}`, relaxed
    samples at `temperature` and the one-hots of their argmax."""
    data = torch.as_tensor(np.asarray(images, np.float32))
    totals = {"loss": 0.0, "hard_loss": 0.0, "kl": 0.0}
    for start in range(0, len(data), batch_size):
        x = data[start : start + batch_size]
        logits = model.logits(x)
        z = gumbel_softmax(logits, temperature)
        hard = F.one_hot(z.argmax(-1), logits.shape[-1]).to(z.dtype)
        _, kl = negative_elbo_terms(x, logits.new_zeros(x.shape), logits)
        rec = negative_elbo_terms(x, model.decoder(z.view(len(x), -1)), logits)[0]
        hard_rec = negative_elbo_terms(x, model.decoder(hard.view(len(x), -1)), logits)[0]
        totals["loss"] += float((rec + kl).sum())
        totals["hard_loss"] += float((hard_rec + kl).sum())
        totals["kl"] += float(kl.sum())
    return {k: v / len(data) for k, v in totals.items()}


def train(train_images, test_images, epochs=10, batch_size=100, seed=0, verbose=True):
    """Trains the reference; returns per-epoch history (train loss, test
    relaxed and hard negative ELBO, temperature, seconds)."""
    model, _, step = make_trainer(train_images, batch_size, seed)
    steps_per_epoch = math.ceil(len(train_images) / batch_size)
    history = []
    for epoch in range(epochs):
        model.train()
        start, total = time.perf_counter(), 0.0
        for _ in range(steps_per_epoch):
            total += float(step())
        seconds = time.perf_counter() - start
        model.eval()
        temperature = temperature_at(step.global_step)
        test = evaluate(model, test_images, temperature, batch_size)
        row = {
            "epoch": epoch + 1,
            "loss": total / steps_per_epoch,
            "val_loss": test["loss"],
            "val_hard_loss": test["hard_loss"],
            "val_kl": test["kl"],
            "temperature": temperature,
            "seconds": seconds,
            "steps_per_s": steps_per_epoch / seconds,
        }
        history.append(row)
        if verbose:
            print(
                f"epoch {row['epoch']:3d}  train {row['loss']:.2f}  test relaxed "
                f"{row['val_loss']:.2f}  hard {row['val_hard_loss']:.2f}  "
                f"tau {temperature:.4f}  {row['steps_per_s']:.1f} steps/s",
                flush=True,
            )
    return history


def main(argv=None):
    from keras_gumbel.data import mnist_arrays

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default="auto", help="MNIST source (see keras_gumbel.data.load_mnist)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    train_images = mnist_arrays("train", args.source)[0].astype(np.float32) / 255.0
    test_images = mnist_arrays("test", args.source)[0].astype(np.float32) / 255.0
    history = train(train_images, test_images, args.epochs, args.batch_size, args.seed)
    last = history[-1]
    print(
        f"final: train {last['loss']:.2f}  test relaxed {last['val_loss']:.2f}  "
        f"hard {last['val_hard_loss']:.2f}  (torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads)"
    )
    return history


if __name__ == "__main__":
    main()
