"""Checks what the built wheel and sdist in DIST hold: the wheel the package
and its metadata only (no tests, benchmarks, docs or pictures), every
module of the package's source tree included, the license file in both, and
the sdist no test files (it ships none, rather than tests without their
conftest.py and helpers.py)."""

import glob
import os
import sys
import tarfile
import zipfile

dist = sys.argv[1]
(wheel,) = glob.glob(os.path.join(dist, "*.whl"))
(sdist,) = glob.glob(os.path.join(dist, "*.tar.gz"))
names = zipfile.ZipFile(wheel).namelist()
info = [n for n in names if ".dist-info/" in n]
package = [n for n in names if n not in info]
stray = [n for n in package if not n.startswith("keras_gumbel/")]
assert not stray, f"the wheel holds files outside the package: {stray}"
source = {os.path.relpath(p, ".") for p in glob.glob("keras_gumbel/**/*.py", recursive=True)}
missing = sorted(source - set(package))
assert not missing, f"the wheel lacks modules of the package: {missing}"
assert any(n.endswith("licenses/LICENSE") or n.endswith("/LICENSE") for n in info), info
metadata = zipfile.ZipFile(wheel).read(next(n for n in info if n.endswith("METADATA"))).decode()
for field in ("License-Expression: Apache-2.0", "Provides-Extra: tensorflow",
              "Provides-Extra: demos", "Classifier: Programming Language :: Python :: 3.11"):
    assert field in metadata or field.replace("License-Expression", "License") in metadata, field
core = [line for line in metadata.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line]
assert not [line for line in core if "tensorflow" in line], f"the core requires TensorFlow: {core}"
members = tarfile.open(sdist).getnames()
tests = [m for m in members if "/tests/" in m]
assert not tests, f"the sdist ships tests: {tests}"
assert any(m.endswith("/LICENSE") for m in members), members
print(f"{os.path.basename(wheel)}: {len(package)} package files; "
      f"{os.path.basename(sdist)}: {len(members)} members, no tests")
