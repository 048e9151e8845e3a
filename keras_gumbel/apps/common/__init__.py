"""What the applications share, written once: run options, backups and
history files (`run`), atomic writes (`files`), `tf.distribute` strategies
(`distribute`), the command-line frame (`cli`), MNIST (`mnist`), pictures
(`plots`), callbacks (`callbacks`), SavedModel export (`export`), seed
streams (`seeds`) and version workarounds (`compat`)."""
