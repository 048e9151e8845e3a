"""benchmarks/vae.py: the FLOP count its throughput table divides by."""

from benchmarks.vae import dense_flops_per_step
from keras_gumbel.models import DiscreteVAE, mlp_decoder, mlp_encoder


def test_dense_flops_per_step_counts_every_dense_layer_of_the_model():
    # 784-512-256-300 and 300-256-512-784: forward 2 B sum(in * out), the
    # backward pass twice that.
    layers = [(784, 512), (512, 256), (256, 300), (300, 256), (256, 512), (512, 784)]
    assert dense_flops_per_step(100) == 3 * 2 * 100 * sum(a * b for a, b in layers)
    small = DiscreteVAE(encoder=mlp_encoder(latent_dim=2, num_categories=3, units=(7,)),
                        decoder=mlp_decoder(latent_dim=2, num_categories=3, units=(5,)),
                        latent_dim=2, num_categories=3)
    assert dense_flops_per_step(4, small) == 3 * 2 * 4 * (784 * 7 + 7 * 6 + 6 * 5 + 5 * 784)
