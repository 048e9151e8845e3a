"""Markdown tables of a results file, for benchmarks/RESULTS.md.

    python -m benchmarks.report [benchmarks/results.json]
"""

import json
import sys

from benchmarks.run import COLUMNS


def markdown_table(rows, columns):
    """A GitHub-flavoured Markdown table of dict rows."""
    columns = [c for c in columns if any(c in r for r in rows)]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        lines.append("| " + " | ".join(str(r.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    path = argv[0] if argv else "benchmarks/results.json"
    with open(path) as f:
        results = json.load(f)
    machine = results["machine"]
    print(f"Date: {machine['date']}. Machine: {machine['cpu']}, {machine['cores']} cores. ")
    print(
        f"Python {machine['python']}, TensorFlow {machine['tensorflow']}, Keras "
        f"{machine['keras']}, TFP {machine['tensorflow_probability']}, NumPy "
        f"{machine['numpy']}, torch {machine.get('torch', 'not installed')} "
        f"({machine.get('torch_threads')} threads, OMP_WAIT_POLICY="
        f"{machine.get('omp_wait_policy')}); TF intra/inter-op threads "
        f"{machine['tf_intra_op_threads']}/{machine['tf_inter_op_threads']} (0: all cores). "
        f"Whole run: {results['seconds']} s."
    )
    for name, rows in results["cases"].items():
        print(f"\n### {name}\n")
        print(markdown_table(rows, COLUMNS[name]))


if __name__ == "__main__":
    main()
