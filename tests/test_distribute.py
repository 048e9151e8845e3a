"""keras_gumbel.distribute: strategies, loss scaling and replica seeds; both
models under `MirroredStrategy` on two logical CPUs, and the VAE on two
worker processes that lose one worker mid-run and resume from the backup.

The runs that need a device split or a `TF_CONFIG` cluster happen in
subprocesses (`tests/distribute_runs.py`): TensorFlow fixes its devices when
it starts, and the test process must keep its single device.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import types
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gumbel.apps.common import compat as _compat
from keras_gumbel.apps.common import distribute
from keras_gumbel import ops as gumbel_ops

# Under pytest-xdist, this file's tests share a worker: its module fixtures
# are built once.
pytestmark = pytest.mark.xdist_group("distribute")

RUNS = Path(__file__).with_name("distribute_runs.py")
# Hard bounds (seconds): a run that takes longer is killed and the test fails.
MIRRORED_TIMEOUT = 240
WORKER_TIMEOUT = 120
# How long the surviving worker may take to notice its dead peer and exit:
# TensorFlow's coordination service misses its heartbeats after ~10 s.
DEAD_PEER_TIMEOUT = 60


def _env(**extra):
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def _tail(path, lines=30):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# -- in this process: one replica ---------------------------------------------


def test_get_strategy_names():
    assert distribute.STRATEGIES == ("default", "mirrored", "multiworker")
    assert distribute.get_strategy("default") is tf.distribute.get_strategy()
    assert isinstance(distribute.get_strategy("mirrored"), tf.distribute.MirroredStrategy)
    with pytest.raises(ValueError, match=r"strategy must be one of .* received strategy='tpu'"):
        distribute.get_strategy("tpu")


def test_get_strategy_checks_timeout_and_tf_config(monkeypatch):
    message = "collective_timeout must be .* received collective_timeout=0"
    with pytest.raises(ValueError, match=message):
        distribute.get_strategy("multiworker", collective_timeout=0)
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {}}')
    with pytest.raises(ValueError, match="TF_CONFIG must be JSON"):
        distribute.get_strategy("multiworker")


def test_is_chief(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert distribute.is_chief()
    cluster = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
    for index, chief in [(0, True), (1, False)]:
        task = {"type": "worker", "index": index}
        monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": task}))
        assert distribute.is_chief() is chief
    cluster = {"chief": ["127.0.0.1:3"], "worker": ["127.0.0.1:1"]}
    for kind, chief in [("chief", True), ("worker", False)]:
        task = {"type": kind, "index": 0}
        monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": task}))
        assert distribute.is_chief() is chief


def test_one_replica_changes_nothing():
    loss = tf.constant(3.5)
    assert float(distribute.scale_loss(loss)) == 3.5
    seed = tf.constant([7, 3], tf.int64)
    assert distribute.replica_seed(seed) is seed
    logs = {"loss": loss}
    assert _compat.step_logs(logs) is logs
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    y, logits = tf.ones((4, 1)), tf.constant([[0.0], [1.0], [2.0], [-1.0]])
    assert float(distribute.replica_loss(bce, y, logits)) == float(bce(y, logits))
    # A SeedGenerator's seed is the generator's state, as before.
    generator = keras.random.SeedGenerator(9)
    np.testing.assert_array_equal(gumbel_ops.stateless_seed(generator).numpy(), [9, 0])


def test_compile_arguments_with_several_replicas():
    two = types.SimpleNamespace(num_replicas_in_sync=2)
    with pytest.warns(UserWarning) as warned:
        args = _compat.compile_arguments(two, {"jit_compile": True, "steps_per_execution": 5})
    assert args == {"jit_compile": False, "steps_per_execution": 1}
    messages = " ".join(str(w.message) for w in warned)
    assert "jit_compile=True does not work with 2 replicas" in messages
    assert "steps_per_execution=5 does not work with 2 replicas" in messages
    one = types.SimpleNamespace(num_replicas_in_sync=1)
    args = {"jit_compile": True, "steps_per_execution": 5}
    assert _compat.compile_arguments(one, args) == args
    assert _compat.compile_arguments(two, {"jit_compile": "auto"}) == {"jit_compile": "auto"}


def test_one_device_strategy_changes_nothing():
    # Inside strategy.run with one replica nothing changes either; the
    # cases with several replicas run in the subprocesses below.
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    result = strategy.run(tf.function(lambda: distribute.scale_loss(tf.constant(2.0))))
    assert float(result) == 2.0


# -- MirroredStrategy on two logical CPUs, in a subprocess --------------------


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mirrored")
    out, log = folder / "results.json", folder / "log.txt"
    with open(log, "w") as stream:
        try:
            process = subprocess.run(
                [sys.executable, str(RUNS), "mirrored", str(out)],
                env=_env(),
                stdout=stream,
                stderr=subprocess.STDOUT,
                timeout=MIRRORED_TIMEOUT,
            )
        except subprocess.TimeoutExpired:  # run() has killed it
            pytest.fail(f"the mirrored run took over {MIRRORED_TIMEOUT} s:\n{_tail(log)}")
    assert process.returncode == 0, _tail(log)
    return json.loads(out.read_text())


def _assert_same_run(single, mirrored):
    """Tolerances: at temperature 1e5 a Gumbel draw g (|g| < 20 but with
    probability < 1e-8) moves a relaxed code by a relative |g| / tau < 2e-4,
    so the noise, different in the two runs, changes losses and gradients by
    less than 2e-4 relative; float round-off adds ~1e-6. The losses must
    agree to 1e-4 relative, and the weight updates (final - initial) to 1%
    of the largest update. A gradient summed over the 2 replicas without
    dividing by 2, or a loss metric summed over replicas, is off by 100%."""
    assert single["history"].keys() == mirrored["history"].keys()
    for name, values in single["history"].items():
        np.testing.assert_allclose(mirrored["history"][name], values, rtol=1e-4, err_msg=name)
    for name, value in single.get("evaluate", {}).items():  # test_step
        assert mirrored["evaluate"][name] == pytest.approx(value, rel=1e-4), name
    initial = np.array(single["initial_weights"])
    np.testing.assert_array_equal(mirrored["initial_weights"], initial)
    update_single = np.array(single["weights"]) - initial
    update_mirrored = np.array(mirrored["weights"]) - initial
    scale = np.abs(update_single).max()
    assert scale > 1e-3  # the runs did learn something
    assert np.abs(update_mirrored - update_single).max() <= 1e-2 * scale


def test_mirrored_vae_matches_single_device(mirrored):
    assert mirrored["replicas"] == 2
    _assert_same_run(mirrored["vae_single"], mirrored["vae_mirrored"])


def test_mirrored_gan_matches_single_device(mirrored):
    # Also checks the metrics: tv_distance, the same on both replicas, would
    # read twice its value if summed across them.
    _assert_same_run(mirrored["gan_single"], mirrored["gan_mirrored"])


def test_replicas_draw_different_noise(mirrored):
    first, second = mirrored["noise"]
    replica_0, replica_1 = np.array(first[0]), np.array(first[1])
    # Same logits, same sampler state: only the folded-in replica index differs.
    assert np.abs(replica_0 - replica_1).max() > 0.1
    # The same seed replays the same draws on each replica.
    np.testing.assert_array_equal(first, second)


def test_temperature_scheduler_mirrored(mirrored):
    run = mirrored["worker_run"]
    assert run["iterations"] == 12
    # The temperature variable is mirrored: both replicas hold the value the
    # scheduler set for the last step, as do the logs of every epoch.
    expected = run["schedule"][-1]
    assert run["temperatures"] == pytest.approx([expected, expected], rel=1e-6)
    assert run["history"]["temperature"] == pytest.approx(run["schedule"][1::2], rel=1e-6)


# -- MultiWorkerMirroredStrategy: two worker processes on 127.0.0.1 ------------


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _start_workers(folder, tag, backup_dir, delay, processes):
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    started = []
    for index in range(2):
        run = {
            "backup_dir": str(backup_dir),
            "progress": str(folder / f"progress-{tag}-{index}"),
            "delay": delay,
            "timeout": 30,
        }
        env = _env(
            TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
            RUN_CONFIG=json.dumps(run),
            # A killed non-chief worker leaves its scratch backup folder
            # (distribute.BackupAndRestore) behind: keep it in the test's folder.
            TMPDIR=str(folder),
        )
        log = open(folder / f"log-{tag}-{index}.txt", "w")
        process = subprocess.Popen(
            [sys.executable, str(RUNS), "worker", str(folder / f"out-{tag}-{index}.json")],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        processes.append(process)
        started.append(process)
    return started


def _wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def test_multi_worker_resumes_after_a_worker_dies(mirrored, tmp_path):
    backup_dir = tmp_path / "backup"
    processes = []
    try:
        # A pause after each epoch, so that the kill lands mid-run.
        workers = _start_workers(tmp_path, "first", backup_dir, delay=0.5, processes=processes)
        progress = tmp_path / "progress-first-0"

        def epochs_done():
            if any(p.poll() not in (None, 0) for p in workers):
                pytest.fail(f"a worker failed:\n{_tail(tmp_path / 'log-first-0.txt')}")
            return progress.exists() and len(progress.read_text().split()) >= 2

        _wait_for(epochs_done, WORKER_TIMEOUT, "two epochs of the first run")
        workers[1].send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        survivor = workers[0]
        assert survivor.poll() is None, "the run ended before the kill"
        # The chief saved its backup before it reported the epoch.
        metadata = json.loads((backup_dir / "training_metadata.json").read_text())
        assert metadata["epoch"] == 2

        # The cluster manager restarts both workers (on new ports) at once;
        # meanwhile the survivor must notice its dead peer and exit.
        workers = _start_workers(tmp_path, "second", backup_dir, delay=0.0, processes=processes)
        try:
            survivor.wait(DEAD_PEER_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"worker 0 still waits for its dead peer after {DEAD_PEER_TIMEOUT} s")
        assert survivor.returncode != 0
        print(f"worker 0 exited {time.monotonic() - killed_at:.1f} s after its peer died")
        for index, process in enumerate(workers):
            try:
                process.wait(WORKER_TIMEOUT)
            except subprocess.TimeoutExpired:
                pytest.fail(f"restarted worker {index} took over {WORKER_TIMEOUT} s")
            assert process.returncode == 0, _tail(tmp_path / f"log-second-{index}.txt")
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()

    results = [json.loads((tmp_path / f"out-second-{i}.json").read_text()) for i in range(2)]
    reference = mirrored["worker_run"]  # the same run, uninterrupted, on 2 local replicas
    steps_per_epoch = 2
    for result in results:
        # Resumed after the 2 backed-up epochs, not from step 0, and completed.
        assert result["start_step"] == 2 * steps_per_epoch
        assert result["iterations"] == reference["iterations"] == 6 * steps_per_epoch
        assert result["temperature"] == pytest.approx(result["expected_temperature"], rel=1e-6)
        assert result["temperature"] == pytest.approx(reference["temperature"], rel=1e-6)
        # Weights, optimizer, temperature and the samplers' seeds were all
        # restored: the resumed epochs replay the uninterrupted run's.
        np.testing.assert_allclose(
            result["history"]["loss"], reference["history"]["loss"][2:], rtol=1e-6
        )
        # Same seed, same replica indices, same halves of each batch: the 2
        # workers replay what 2 replicas in one process did (the run is
        # reproducible); only the order of a two-term sum may differ, and
        # that is exact in IEEE arithmetic.
        np.testing.assert_allclose(result["weights"], reference["weights"], rtol=1e-6, atol=1e-7)
    assert results[0]["weights"] == results[1]["weights"]
    # The chief deletes its backup once training completes.
    assert not backup_dir.exists()
