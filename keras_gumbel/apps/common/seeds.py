"""One root seed, one stream per purpose.

A run (or a model) has one root seed. Each purpose that draws random numbers
(the sampler's training noise, the evaluation noise, the prior samples, the
importance samples, each initializer, the data stream, the pictures) takes
its own integer seed `derive_seed(root, purpose)`, a hash of the two, so no
two streams start at the same state and drawing from one never moves
another: evaluating a model between two fits leaves the training noise
where it was.

Pure Python: importing it imports nothing heavy.
"""

import hashlib

from keras_gumbel._checks import check_seed

__all__ = ["derive_seed"]


def derive_seed(root, purpose):
    """The seed of `purpose`'s stream under the root seed `root`.

    Args:
        root: `None` or an integer. `None` gives `None` (each stream then
            seeds itself from the operating system: a different run).
        purpose: a string naming the stream (`"sampler"`, `"prior"`, ...).

    Returns:
        `None`, or an integer in `[0, 2**31)`: the first 31 bits of
        SHA-256(`"keras_gumbel/{root}/{purpose}"`). A
        `keras.random.SeedGenerator(s)` starts at the state `[s, 0]` and
        counts up its second word, so generators of distinct derived seeds
        never share a state.
    """
    root = check_seed(root)
    if root is None:
        return None
    digest = hashlib.sha256(f"keras_gumbel/{root}/{purpose}".encode()).digest()
    return int.from_bytes(digest[:4], "little") >> 1
