"""The documentation runs: README.md and every page of docs/.

Each page's ```python blocks run as written, in order, concatenated into one
program, in a fresh process per page (cwd: an empty temporary folder), on
the Keras backend of this test run. A page runs on TensorFlow only, unless
its first line names its backends:

    <!-- docs-test: backends=tensorflow,jax,torch -->

(conftest.py deselects a page on the backends it does not name, as it does
the `backends(...)` tests). A block that cannot run here (a GPU, a cluster,
hours of training, the network) is fenced ```python notest, and its page
says why; ```bash blocks are shown, not run. Every relative link and image
of the pages must point to an existing file (a page of docs/ to one inside
docs/, so that the site built by mkdocs has it too).
"""

import os
import re
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md"] + sorted(DOCS.glob("*.md"))

# Seconds a page may take (its bar is 60 s on 2 cores; this guard catches a
# page that hangs or grows far beyond it).
PAGE_TIMEOUT = 180
BACKENDS = ("tensorflow", "jax", "torch")
DEFAULT_BACKENDS = ("tensorflow",)

# The fences a page may use: run (python), shown only (the others).
RUN = "python"
SHOWN = ("python notest", "bash", "text", "")

MARKER = re.compile(r"^<!--\s*docs-test:\s*backends=([\w,\s]+?)\s*-->\s*$")
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
# Markdown links and images, [text](target) and ![alt](target), and HTML
# <img src="target">; a target may carry a "title".
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
IMG_TAG = re.compile(r"<img\s[^>]*src=\"([^\"]+)\"", re.IGNORECASE)

def page_id(page):
    return page.relative_to(ROOT).as_posix()


def page_backends(page):
    """The backends a page runs on: those of its first-line marker, else
    TensorFlow only."""
    first = page.read_text(encoding="utf-8").splitlines()[:1]
    match = MARKER.match(first[0]) if first else None
    if not match:
        return DEFAULT_BACKENDS
    names = tuple(name.strip() for name in match.group(1).split(",") if name.strip())
    unknown = set(names) - set(BACKENDS)
    if unknown or not names:
        raise ValueError(f"{page_id(page)}: unknown backends {sorted(unknown)} in {first[0]!r}")
    return names


def fences(page):
    """The fenced blocks of a page: `(info, first_line, lines)`, `first_line`
    the page's line number (1-based) of the block's first code line, the
    lines dedented by the fence's indentation (a fence inside a list)."""
    blocks, current = [], None
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        match = FENCE.match(line)
        if current is None:
            if match:
                current = (match, number + 1, [])
            continue
        opening, start, lines = current
        if (match and match.group("fence") == opening.group("fence")
                and not match.group("info").strip()):
            blocks.append((" ".join(opening.group("info").split()), start, lines))
            current = None
            continue
        indent = opening.group("indent")
        lines.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
    if current is not None:
        raise ValueError(f"{page_id(page)}: the fence opened at line {current[1] - 1} is not closed")
    return blocks


def page_program(page):
    """A page's ```python blocks as one program in which every code line
    keeps its line number in the page (the other lines are blank), so a
    traceback's `line N` is the page's line N."""
    program = []
    for info, start, lines in fences(page):
        if info != RUN:
            continue
        program += [""] * (start - 1 - len(program))
        program += lines
    return "\n".join(program)


def test_every_page_is_collected():
    assert (ROOT / "README.md") in PAGES
    assert {p.name for p in PAGES} >= {
        "index.md", "core.md", "gan.md", "vae.md", "vae_protocol.md", "commands.md",
        "export.md", "distribute.md", "backends.md", "benchmarks.md", "architecture.md",
        "api.md",
    }


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_fences_are_known_kinds(page):
    """Every fence is a kind the docs test knows: a block fenced ```py or
    ```python3 would be neither run nor marked as not run."""
    for info, start, _ in fences(page):
        assert info == RUN or info in SHOWN, (
            f"{page_id(page)}:{start - 1}: fence ```{info}: use ```python (run), "
            f"```python notest (not run: say why in the text), ```bash or ```text")


def _run_params():
    # Only the pages that hold python blocks: the others have nothing to run
    # (their fences are still checked above).
    return [
        pytest.param(page, id=page_id(page), marks=pytest.mark.backends(*page_backends(page)))
        for page in PAGES if page_program(page).strip()
    ]


@pytest.mark.xdist_group("docs")  # one page at a time: each takes the CPUs
@pytest.mark.parametrize("page", _run_params())
def test_page_runs(page, tmp_path, request):
    """The page's python blocks run as written, in order, in one fresh
    process, on this run's backend, within `PAGE_TIMEOUT` seconds."""
    program = page_program(page)
    backend = request.config.keras_backend
    env = dict(os.environ)
    env.update(
        KERAS_BACKEND=backend,
        TF_CPP_MIN_LOG_LEVEL="2",
        MPLBACKEND="Agg",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-c", program], cwd=tmp_path, env=env, capture_output=True,
            text=True, timeout=PAGE_TIMEOUT,
        )
    except subprocess.TimeoutExpired as error:
        tail = (error.stderr or b"")[-3000:]
        tail = tail.decode(errors="replace") if isinstance(tail, bytes) else tail
        pytest.fail(f"{page_id(page)} on {backend} ran past {PAGE_TIMEOUT} s; stderr tail:\n{tail}")
    seconds = time.perf_counter() - start
    assert done.returncode == 0, (
        f"{page_id(page)} on {backend} exited with status {done.returncode} after "
        f"{seconds:.1f} s (the traceback's line numbers are the page's); stderr tail:\n"
        f"{done.stderr[-3000:]}"
    )


HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


def _heading_texts(page):
    """The text of each heading of a page (outside code blocks), as a reader
    sees it: inline code and links reduced to their text."""
    code = _code_lines(page)
    texts = []
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        match = HEADING.match(line)
        if match and number not in code:
            text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", match.group(1))
            texts.append(re.sub(r"<[^>]+>", "", text).replace("`", ""))
    return texts


def github_anchor(text):
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces
    to hyphens."""
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def mkdocs_anchor(text):
    """The anchor of Python-Markdown's toc extension (mkdocs' default)."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", text).strip().lower())


def anchors(page):
    """The anchors that work both on GitHub and in the site."""
    texts = _heading_texts(page)
    return {github_anchor(t) for t in texts} & {mkdocs_anchor(t) for t in texts}


def _code_lines(page):
    code = set()
    for _, start, lines in fences(page):
        code.update(range(start - 1, start + len(lines) + 1))
    return code


def _targets(page):
    """The relative link and image targets of a page, outside code blocks:
    `(line, target)`."""
    code = _code_lines(page)
    found = []
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        if number in code:
            continue
        line = re.sub(r"`[^`]*`", "", line)  # inline code is not a link
        for target in LINK.findall(line) + IMG_TAG.findall(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
                continue  # https:, mailto:
            found.append((number, target))
    return found


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_relative_links_and_images_exist(page):
    """Every relative link or image points to an existing file; from a page
    of docs/, to one inside docs/ (the site holds only docs/)."""
    problems = []
    for number, target in _targets(page):
        file, _, anchor = target.partition("#")
        path = (page.parent / file).resolve() if file else page
        where = f"{page_id(page)}:{number}: {target}"
        if not path.exists():
            problems.append(f"{where} does not exist")
        elif page.parent == DOCS and DOCS not in (path, *path.parents):
            problems.append(f"{where} lies outside docs/, which the site does not hold "
                            "(name the file as `code`)")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            problems.append(f"{where}: no heading of {path.name} has this anchor both on "
                            f"GitHub and in the site (those that do: {sorted(anchors(path))})")
    assert not problems, "\n".join(problems)


def test_the_docs_test_finds_blocks_links_and_markers(tmp_path):
    """The parsing above on a page written for it: a test that cannot fail
    is worse than none."""
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- docs-test: backends=tensorflow,jax -->\n"
        "# Title\n"
        "![picture](missing.png) and [a page](page.md#part), `[not](a-link.md)`\n"
        "```python\n"
        "x = 1\n"
        "```\n"
        "- a list\n"
        "\n"
        "    ```python\n"
        "    y = x + 1\n"
        "    ```\n"
        "```python notest\n"
        "raise SystemExit(1)\n"
        "```\n"
        "```bash\n"
        "exit 1\n"
        "```\n",
        encoding="utf-8",
    )
    assert page_backends(page) == ("tensorflow", "jax")
    assert [info for info, _, _ in fences(page)] == ["python", "python", "python notest", "bash"]
    program = page_program(page).splitlines()
    assert program[4] == "x = 1" and program[9] == "y = x + 1" and len(program) == 10
    assert _targets(page) == [(3, "missing.png"), (3, "page.md#part")]
    assert github_anchor("The best recipe: `--preset best`") == "the-best-recipe---preset-best"
    assert mkdocs_anchor("The best recipe: `--preset best`") == "the-best-recipe-preset-best"
    (tmp_path / "other.md").write_text("# A title\n## The paper's settings\n## A: `--b`\n")
    assert anchors(tmp_path / "other.md") == {"a-title", "the-papers-settings"}


@pytest.mark.backends("tensorflow")  # the site is the same on every backend: built once
def test_the_site_builds_and_shows_every_picture(tmp_path):
    """`mkdocs build --strict` succeeds (with the `docs` extra installed),
    every <img> of the built pages points to a file of the site, every
    picture of docs/ is shown by some page, and no page loads anything from
    another host (no web fonts, no CDN scripts)."""
    pytest.importorskip("mkdocs", reason='the site needs the docs extra: pip install -e ".[docs]"')
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=PAGE_TIMEOUT,
        env=dict(os.environ, NO_MKDOCS_2_WARNING="1"),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    shown, problems = set(), []
    for html in site.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        for src in re.findall(r"<img\s[^>]*src=\"([^\"]+)\"", text):
            path = (html.parent / src.split("#")[0]).resolve()
            if not path.is_file():
                problems.append(f"{html.relative_to(site)}: <img src={src!r}> is not in the site")
            shown.add(path)
        for url in re.findall(r"<(?:script|link|img)\s[^>]*(?:src|href)=\"((?:https?:)?//[^\"]+)\"",
                              text):
            problems.append(f"{html.relative_to(site)} loads {url}")
    pictures = {(site / p.name).resolve() for p in DOCS.glob("*.png")}
    assert pictures, "docs/ holds no picture"
    problems += [f"{p.name} is shown by no page" for p in sorted(pictures - shown)]
    assert not problems, "\n".join(problems)
