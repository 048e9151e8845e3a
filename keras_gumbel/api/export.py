"""SavedModel export of the applications' models (re-exported from
`keras_gumbel/apps/`; the format is described in
`keras_gumbel.apps.common.export`)."""

from keras_gumbel.apps.common.export import check_export_path, stateless_seed_from_int64
from keras_gumbel.apps.gan.export import export_generator
from keras_gumbel.apps.vae.export import export_vae

__all__ = ["check_export_path", "export_generator", "export_vae", "stateless_seed_from_int64"]
