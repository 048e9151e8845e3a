"""The installed commands, run as a user or a scheduler runs them, judged by
their exit status, their output and the files they leave (issue 16). Every
run is tiny; most are refused before any work. Signals, kills and the
console scripts themselves run as subprocesses, one case of each defect at
least; further cases of the same check go through `cli.run_command` in this
process (what the console script runs), without a fresh TensorFlow's start."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np

from keras_gumbel.apps.vae.cli import train_vae_main
from keras_gumbel.recipes.vae import VAEConfig, train_vae
from helpers import interrupt_vae_run, run_command_in_process

BIN = os.path.dirname(sys.executable)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Unbuffered, so the output of a killed run is complete up to its end.
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": "tensorflow",
       "PYTHONUNBUFFERED": "1"}

GAN = ["--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "16", "--generator-steps", "1",
       "--seed", "0", "--no-jit", "--verbose", "0"]
# 3 epochs of 20 steps on the bundled subset, no XLA: each epoch lasts long
# enough to be interrupted in the middle.
VAE = ["--source", "bundled", "--train-images", "200", "--batch-size", "10", "--latent-dim", "4",
       "--num-categories", "3", "--encoder-units", "16", "--decoder-units", "16",
       "--anneal-every", "1", "--anneal-rate", "0.01", "--epochs", "3", "--seed", "5",
       "--verbose", "0", "--jit-compile", "false"]


def command(name, *args, cwd, env=ENV, timeout=600):
    """Runs the installed console script `name` (the one next to this
    Python) and returns the `CompletedProcess` (text output)."""
    return subprocess.run([os.path.join(BIN, name), *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def train_vae_in_process(*args, cwd):
    """`keras-gumbel-train-vae ARGS`, as its console script runs it, in this
    process: a `CompletedProcess` with the exit status and the output."""
    return run_command_in_process(train_vae_main, "keras-gumbel-train-vae", *args, cwd=cwd)


def assert_usage_error(run, *needles):
    """Exit status 2, and one error line (no traceback) containing each needle."""
    assert run.returncode == 2, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 1, run.stderr[-2000:]
    for needle in needles:
        assert needle in errors[0], errors[0]


# -- item 1: an export never replaces the run's own folder ----------------------

def test_an_export_into_the_runs_own_folder_is_refused_before_any_work(tmp_path):
    # A folder holding the run, through a symbolic link. (The other cases,
    # in process: tests/test_training.py.)
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "keep.txt").write_text("an earlier result")
    os.symlink(tmp_path / "p", tmp_path / "link")
    vae = command("keras-gumbel-train-vae", *VAE, "--output-dir", "p/run", "--export", "link",
                  "--overwrite", cwd=tmp_path)
    assert_usage_error(vae, "export_dir must lie apart from output_dir", "'link'", "'p/run'")
    assert os.listdir(tmp_path / "p") == ["keep.txt"]


# -- item 5: the output folder is checked before any work ---------------------

def test_an_output_folder_that_cannot_be_written_is_refused_before_any_work(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    # Under a file: cannot be created (whatever the permissions, root too).
    vae = command("keras-gumbel-train-vae", *VAE, "--output-dir", "file/sub", cwd=tmp_path)
    assert_usage_error(vae, "output_dir='file/sub'", "lies under")
    assert sorted(os.listdir(tmp_path)) == ["file"]


# -- item 6: bad values, one way -----------------------------------------------

def test_bad_data_and_arguments_are_usage_errors_before_any_work(tmp_path):
    (tmp_path / "garbage.npz").write_bytes(b"this is not an archive\n" * 40)
    vae = command("keras-gumbel-train-vae", *VAE, "--source", "garbage.npz", "--output-dir",
                  "out", cwd=tmp_path)
    assert_usage_error(vae, "source='garbage.npz' is not an .npz file")
    assert "pickled" not in vae.stderr
    assert not (tmp_path / "out").exists()
    # The other bad values, in process: tests/test_training.py.


# -- item 7: --source tfds without a network -----------------------------------

def test_tfds_without_a_network_fails_within_seconds_and_writes_nothing(tmp_path):
    # Every socket refused in the subprocess: a sitecustomize on its path.
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(
        "import socket\n"
        "def _refuse(*args, **kwargs):\n"
        "    raise OSError('network disabled by the test')\n"
        "socket.create_connection = _refuse\n"
        "socket.socket.connect = _refuse\n"
    )
    data_dir = tmp_path / "tfds"
    data_dir.mkdir()
    env = {**ENV, "PYTHONPATH": str(hooks), "TFDS_DATA_DIR": str(data_dir)}
    start = time.monotonic()
    run = command("keras-gumbel-train-vae", *VAE, "--source", "tfds", "--output-dir", "out",
                  cwd=tmp_path, env=env, timeout=300)
    seconds = time.monotonic() - start
    assert_usage_error(run, "source='tfds' needs MNIST prepared by TensorFlow Datasets",
                       str(data_dir), "did not answer", "--source path/to/mnist.npz")
    # TFDS alone retries for 212 s; the bound includes TensorFlow's start.
    assert seconds < 60
    assert os.listdir(data_dir) == [] and not (tmp_path / "out").exists()


# -- item 4: exit statuses --------------------------------------------------------

def test_ctrl_c_exits_130_with_one_line(tmp_path):
    # Success (0) is run by the backup tests below; scripts/*.py in process
    # by tests/test_training.py. Ctrl-C in the middle of training: 130.
    long_run = subprocess.Popen(
        [sys.executable, os.path.join(REPO, "scripts", "train_gan.py"), *GAN[2:-2],
         "--epochs", "1000",
         "--steps-per-epoch", "2", "--verbose", "2", "--output-dir", "long"],
        cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in long_run.stdout:
        if line.startswith("Epoch 2/"):
            break
    long_run.send_signal(signal.SIGINT)
    _, err = long_run.communicate(timeout=300)
    assert long_run.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == "keras-gumbel-train-gan: interrupted"
    assert "GANResult" not in err
    assert not (tmp_path / "long").exists()  # nothing half-written


# -- items 2 and 3: backups -------------------------------------------------------

def _vae_config(output_dir, **changes):
    return VAEConfig(source="bundled", train_images=200, batch_size=10, latent_dim=4,
                     num_categories=3, encoder_units=(16,), decoder_units=(16,),
                     anneal_every=1, anneal_rate=0.01, epochs=3, seed=5, verbose=0,
                     jit_compile=False, output_dir=str(output_dir), **changes)


def _history(folder):
    record = json.loads((folder / "history.json").read_text())
    with open(folder / "history.csv") as f:
        rows = list(csv.DictReader(f))
    return record, rows


def _backup_epochs(folder):
    try:
        with open(folder / "backup" / "training_metadata.json") as f:
            return json.load(f)["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


def _kill_after_epoch(folder, epoch, cwd):
    """Starts the VAE run into `folder` and SIGKILLs it once its backup holds
    `epoch` finished epochs, in the middle of the next one (the backup is
    the last thing an epoch writes). Returns its stdout."""
    process = subprocess.Popen([os.path.join(BIN, "keras-gumbel-train-vae"), *VAE,
                                "--output-dir", str(folder)], cwd=cwd, env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 600
    while _backup_epochs(folder) < epoch:
        assert process.poll() is None, "the run ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    out, _ = process.communicate()
    assert process.returncode == -signal.SIGKILL
    return out


def test_a_killed_run_restarted_twice_keeps_every_epochs_history(tmp_path):
    folder = tmp_path / "run"
    first = _kill_after_epoch(folder, 1, tmp_path)
    assert "resuming" not in first
    second = _kill_after_epoch(folder, 2, tmp_path)
    assert "resuming from the backup after epoch 1 (of 3)" in second
    last = command("keras-gumbel-train-vae", *VAE, "--output-dir", folder, cwd=tmp_path)
    assert last.returncode == 0, last.stderr[-2000:]
    assert "resuming from the backup after epoch 2 (of 3)" in last.stdout
    assert not (folder / "backup").exists()
    assert (folder / "loss_curves.png").read_bytes().startswith(b"\x89PNG")
    # The same seed uninterrupted, in this process: the same epochs, the same values.
    reference = train_vae(_vae_config(tmp_path / "reference"))
    record, rows = _history(folder)
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert set(record["history"]) == set(reference.history)
    for key, values in reference.history.items():
        np.testing.assert_allclose(record["history"][key], values, rtol=1e-5, err_msg=key)
        np.testing.assert_allclose([float(r[key]) for r in rows], values, rtol=1e-5, err_msg=key)
    assert record["config"]["seed"] == 5


def test_a_backup_of_another_configuration_is_refused_until_restart(tmp_path):
    folder = tmp_path / "run"
    interrupt_vae_run(train_vae, _vae_config(folder), after_epoch=2)
    backup = sorted(os.listdir(folder / "backup"))
    other = command("keras-gumbel-train-vae", *VAE, "--seed", "99", "--learning-rate", "0.01",
                    "--output-dir", "run", cwd=tmp_path)
    assert_usage_error(other, os.path.join("run", "backup"), "seed 5 -> 99",
                       "learning_rate 0.001 -> 0.01", "--restart")
    assert sorted(os.listdir(folder / "backup")) == backup  # untouched
    # (A backup without the record of its configuration, an older
    # version's: in process, tests/test_training.py.)
    fresh = train_vae_in_process(*VAE, "--seed", "99", "--restart", "--output-dir", "run",
                                 cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    assert "resuming" not in fresh.stdout
    record, rows = _history(folder)
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3] and record["config"]["seed"] == 99
