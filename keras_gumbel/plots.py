"""Pictures of training (matplotlib, Agg backend, PNG files written atomically)."""
