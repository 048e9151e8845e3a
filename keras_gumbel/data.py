"""tf.data input pipelines for the demos."""
