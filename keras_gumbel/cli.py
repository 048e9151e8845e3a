"""Command-line entry points: argparse -> a config -> one library call."""
