"""Demo models built on keras_gumbel's layer and callback."""
