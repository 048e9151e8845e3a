import os

import numpy as np
import pytest

from keras_gumbel.apps.gan.plots import plot_probability_errors

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
P = (0.0, 0.0, 0.1, 0.3, 0.6)


def history(epochs=12):
    start = np.full(5, 0.2)
    return [start + (np.array(P) - start) * (1 - 0.7 ** e) for e in range(1, epochs + 1)]


def test_plot_probability_errors_writes_a_png(tmp_path):
    path = tmp_path / "plots" / "errors.png"  # the folder is created
    assert plot_probability_errors(history(), P, path) == path
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 5000
    assert os.listdir(path.parent) == ["errors.png"]  # no temporary file left


def test_plot_replaces_an_existing_file_and_accepts_converged_history(tmp_path):
    path = tmp_path / "errors.png"
    path.write_bytes(b"old")
    # All errors 0 (a converged run): still a valid picture, all white.
    plot_probability_errors(np.tile(P, (3, 1)), P, path)
    assert path.read_bytes().startswith(PNG_MAGIC)


def colour_at(image, axes_box, epoch, category, epochs, categories):
    """The RGB of cell (epoch, category) in an image of the heatmap."""
    (x0, y0), (x1, y1) = axes_box
    height = image.shape[0]
    x = x0 + (epoch - 0.5) / epochs * (x1 - x0)
    y = y0 + (category + 0.5) / categories * (y1 - y0)
    return image[int(height - y), int(x), :3]


def test_colours_red_too_likely_blue_too_rare_white_converged(tmp_path, monkeypatch):
    import matplotlib.figure

    boxes = []
    original = matplotlib.figure.Figure.savefig

    def savefig(self, *args, **kwargs):
        self.canvas.draw()
        boxes.append(self.axes[0].get_window_extent().get_points())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
    learned = np.tile(P, (4, 1))
    learned[:, 0] += 0.2  # category 0 too likely
    learned[:, 4] -= 0.2  # category 4 too rare; the others exact
    path = tmp_path / "errors.png"
    plot_probability_errors(learned, P, path)
    import matplotlib.image

    image = matplotlib.image.imread(path)
    red = colour_at(image, boxes[0], 2, 0, 4, 5)
    blue = colour_at(image, boxes[0], 2, 4, 4, 5)
    white = colour_at(image, boxes[0], 2, 2, 4, 5)
    np.testing.assert_allclose(red, [1, 0, 0], atol=0.05)  # +limit: full red
    np.testing.assert_allclose(blue, [0, 0, 1], atol=0.05)  # -limit: full blue
    np.testing.assert_allclose(white, [1, 1, 1], atol=0.05)


@pytest.mark.parametrize(
    "learned, message",
    [
        (np.full((3, 4), 0.25), r"shape \[epochs >= 1, 5\] to match true_probs, received history of shape \(3, 4\)"),
        (np.full(5, 0.2), r"received history of shape \(5,\)"),
        (np.zeros((0, 5)), r"received history of shape \(0, 5\)"),
    ],
)
def test_bad_history_is_refused(tmp_path, learned, message):
    with pytest.raises(ValueError, match=message):
        plot_probability_errors(learned, P, tmp_path / "x.png")
    assert not os.listdir(tmp_path)


def test_bad_true_probs_are_refused(tmp_path):
    with pytest.raises(ValueError, match="true_probs must sum to 1"):
        plot_probability_errors(history(), (0.5, 0.6, 0, 0, 0), tmp_path / "x.png")
