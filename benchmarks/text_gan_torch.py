"""A PyTorch implementation of the sequence GAN's adversarial step: the reference.

The same generator, discriminator and step as
`keras_gumbel.apps.text_gan.model.SequenceGAN._adversarial_step` (with the
recipe's defaults, `keras_gumbel.apps.text_gan.recipe.TextGANConfig`):

- generator: `Embedding(V, 32)` -> `LSTMCell(32, 32)` -> `Linear(32, V)`,
  run token by token from the start token 0 for `T = 20` steps; at step `t`
  the relaxed sample `y_t = softmax((o_t + g_t) / tau)`, `g_t = -log(-log u)`
  (`u ~ U[tiny, 1)` from `torch.rand`, as `keras_gumbel.ops.gumbel_noise`),
  the hard token `argmax y_t` fed back as the next input; the relaxed
  one-hots `[B, T, V]` go to the discriminator;
- discriminator: a linear embedding `V -> 64` (rows gathered for int real
  tokens, a matmul for the one-hots), `Conv1d(64, 64, w)` + ReLU for
  `w = 2, 3, 4, 5`, max over time, concatenation (256 features), a highway
  layer (`Linear(256, 512)` split into transform and gate,
  `x = sigmoid(gate) * relu(transform) + (1 - sigmoid(gate)) * x`),
  dropout 0.25, `Linear(256, 1)`;
- RSGAN losses from ONE generated batch: `d_loss = mean softplus(D(fake) -
  D(real))`, `g_loss = mean softplus(D(real) - D(fake))`; both gradients
  taken before either update (simultaneous), each loss differentiated only
  with respect to its own network's parameters (`backward(inputs=...)`),
  then both Adam steps (lr 1e-4, Keras' `epsilon=1e-7`).

Initialisations are torch's defaults (the discriminator's embedding
N(0, 1), as Keras'): they do not change the step's cost.

torch is a benchmark tool only, never a dependency of keras_gumbel: only
`benchmarks/text_gan_speed.py` imports this module, after choosing torch's
thread count. Timing options measured on the 2-core benchmark machine are
recorded in `benchmarks/text_gan_speed.json` (see `benchmarks/text_gan_speed.py`).
"""

import torch
import torch.nn.functional as F
from torch import nn

VOCAB_SIZE = 5000
SEQUENCE_LENGTH = 20
START_TOKEN = 0
TINY = torch.finfo(torch.float32).tiny


def gumbel_softmax(logits, tau):
    """`softmax((logits + g) / tau)`, `g = -log(-log u)`, `u ~ U[tiny, 1)`."""
    with torch.no_grad():
        u = torch.rand_like(logits).clamp_(min=TINY)
        g = u.log_().neg_().log_().neg_()
    return F.softmax((logits + g) / tau, dim=-1)


class Generator(nn.Module):
    """The LSTM language model, sampled token by token."""

    def __init__(self, vocab_size=VOCAB_SIZE, embedding_dim=32, hidden_dim=32):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.cell = nn.LSTMCell(embedding_dim, hidden_dim)
        self.logits = nn.Linear(hidden_dim, vocab_size)

    def generate(self, batch_size, sequence_length=SEQUENCE_LENGTH, tau=1.0, start_token=START_TOKEN,
                 noise="rand"):
        """Relaxed one-hots `[B, T, V]`, the hard token fed back.

        `noise`: `"rand"` (`-log(-log u)` from `torch.rand`, as Keras) or
        `"torch"` (`F.gumbel_softmax`, whose noise is `-log(Exp(1))`)."""
        weight = self.logits.weight
        token = torch.full((batch_size,), start_token, dtype=torch.long)
        h = weight.new_zeros(batch_size, self.cell.hidden_size)
        c = torch.zeros_like(h)
        samples = []
        for _ in range(sequence_length):
            h, c = self.cell(self.embedding(token), (h, c))
            logits = self.logits(h)
            if noise == "torch":
                soft = F.gumbel_softmax(logits, tau=tau, hard=False)
            else:
                soft = gumbel_softmax(logits, tau)
            token = soft.detach().argmax(dim=-1)
            samples.append(soft)
        return torch.stack(samples, dim=1)


class Discriminator(nn.Module):
    """RelGAN's CNN over (relaxed) one-hot sequences."""

    def __init__(self, vocab_size=VOCAB_SIZE, embedding_dim=64, filter_sizes=(2, 3, 4, 5), filters=64,
                 dropout=0.25):
        super().__init__()
        self.embedding = nn.Parameter(torch.randn(vocab_size, embedding_dim))
        self.convolutions = nn.ModuleList(nn.Conv1d(embedding_dim, filters, w) for w in filter_sizes)
        features = filters * len(filter_sizes)
        self.highway = nn.Linear(features, 2 * features)
        self.dropout = nn.Dropout(dropout)
        self.output_layer = nn.Linear(features, 1)

    def forward(self, inputs):
        if inputs.dtype in (torch.int32, torch.int64):
            x = F.embedding(inputs, self.embedding)
        else:
            x = inputs @ self.embedding
        x = x.transpose(1, 2)  # [B, E, T]: Conv1d's layout
        pooled = torch.cat([F.relu(conv(x)).amax(dim=2) for conv in self.convolutions], dim=1)
        transform, gate = self.highway(pooled).chunk(2, dim=1)
        gate = torch.sigmoid(gate)
        x = gate * F.relu(transform) + (1.0 - gate) * pooled
        return self.output_layer(self.dropout(x))


class TorchSequenceGAN:
    """The generator, the discriminator, their Adam optimizers and the
    adversarial step.

    Args:
        vocab_size, sequence_length: `V` and `T`.
        tau: the Gumbel-softmax temperature (the recipe's start, 1.0).
        lr: both optimizers' learning rate.
        noise: `"rand"` or `"torch"` (see `Generator.generate`).
        adam: `"default"` (torch's per-tensor loop on CPU), `"foreach"` or
            `"fused"`.
        compile: `torch.compile` the discriminator (the part without
            random numbers or a data-dependent loop).
        seed: `torch.manual_seed` before building.
    """

    def __init__(self, vocab_size=VOCAB_SIZE, sequence_length=SEQUENCE_LENGTH, tau=1.0, lr=1e-4,
                 noise="rand", adam="default", compile=False, seed=0):
        torch.manual_seed(seed)
        self.sequence_length, self.tau, self.noise = sequence_length, tau, noise
        self.generator = Generator(vocab_size)
        self.discriminator = Discriminator(vocab_size)
        self.generator.train()
        self.discriminator.train()
        self.g_params = list(self.generator.parameters())
        self.d_params = list(self.discriminator.parameters())
        options = {"default": {}, "foreach": {"foreach": True}, "fused": {"fused": True}}[adam]
        self.g_optimizer = torch.optim.Adam(self.g_params, lr=lr, eps=1e-7, **options)
        self.d_optimizer = torch.optim.Adam(self.d_params, lr=lr, eps=1e-7, **options)
        if compile:
            # The step backpropagates twice through the discriminator's graph
            # (retain_graph=True), which donated buffers forbid.
            from torch._functorch import config as functorch_config

            functorch_config.donated_buffer = False
        self.score = torch.compile(self.discriminator) if compile else self.discriminator

    def step(self, real):
        """One adversarial step on int64 tokens `real` `[B, T]`; returns
        `(d_loss, g_loss)` as 0-d tensors (detached)."""
        fake = self.generator.generate(real.shape[0], self.sequence_length, self.tau, noise=self.noise)
        real_logits = self.score(real)
        fake_logits = self.score(fake)
        d_loss = F.softplus(fake_logits - real_logits).mean()
        g_loss = F.softplus(real_logits - fake_logits).mean()
        self.d_optimizer.zero_grad(set_to_none=True)
        self.g_optimizer.zero_grad(set_to_none=True)
        # Both gradients before either update (simultaneous), each loss only
        # into its own network's parameters.
        d_loss.backward(inputs=self.d_params, retain_graph=True)
        g_loss.backward(inputs=self.g_params)
        self.d_optimizer.step()
        self.g_optimizer.step()
        return d_loss.detach(), g_loss.detach()
