"""Issue 27's first target row: PSNR with the torch DIS minus PSNR with OpenCV's, per benchmark.

Usage: python scripts/parity_table.py [--tolerance 0.05] [--method flow-ensemble] A1 B1 [A2 B2 ...]

Each Ai, Bi is a ``sepgan evaluate`` report folder (its ``table.json``) of the same inputs and
samples, Ai with ``--flow-backend opencv`` and Bi with ``--flow-backend torch``
(scripts/dis-torch-parity.sh makes them). Prints one Markdown row per benchmark of ``--method``:
samples, both mean PSNRs (dB), torch − OpenCV and whether it is within ±tolerance dB; then, for
each pair of folders with more than one benchmark, the mean over its benchmarks. A benchmark
missing from either report (a run still going, or failed) is listed as missing.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from sepgan.tables import Column, markdown_table


def psnr_by_benchmark(report: Path, method: str) -> dict[str, tuple[int, float]]:
    """{benchmark: (samples, mean PSNR in dB)} of ``method`` in ``report``/table.json ({} if absent)."""
    table = report / "table.json"
    if not table.is_file():
        return {}
    rows = json.loads(table.read_text())["results"]
    return {row["benchmark"]: (row["samples"], row["psnr"]) for row in rows if row["method"] == method}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tolerance", type=float, default=0.05, help="dB either way")
    parser.add_argument("--method", default="flow-ensemble")
    parser.add_argument("reports", nargs="+", type=Path, help="pairs of report folders: opencv, torch")
    arguments = parser.parse_args()
    if len(arguments.reports) % 2:
        parser.error("report folders come in pairs: opencv, then torch")

    def verdict(difference: float) -> str:
        return "yes" if abs(difference) <= arguments.tolerance else "**no**"

    rows = []
    for opencv_report, torch_report in zip(arguments.reports[::2], arguments.reports[1::2], strict=True):
        opencv = psnr_by_benchmark(opencv_report, arguments.method)
        ours = psnr_by_benchmark(torch_report, arguments.method)
        differences = []
        for benchmark in opencv.keys() | ours.keys():
            if benchmark not in opencv or benchmark not in ours:
                rows.append([benchmark, None, opencv.get(benchmark, (0, None))[1], None, None, "missing"])
                continue
            (samples, reference), (_, value) = opencv[benchmark], ours[benchmark]
            differences.append((reference, value))
            rows.append([benchmark, samples, reference, value, value - reference, verdict(value - reference)])
        if len(differences) > 1:
            reference = statistics.mean(a for a, _ in differences)
            value = statistics.mean(b for _, b in differences)
            name = f"**mean of {len(differences)}** ({torch_report.name})"
            rows.append([name, None, reference, value, value - reference, verdict(value - reference)])
    columns = [
        Column("benchmark"),
        Column("samples", align="right"),
        Column("PSNR OpenCV DIS", "{:.3f}", "right"),
        Column("PSNR torch DIS", "{:.3f}", "right"),
        Column("torch − OpenCV (dB)", "{:+.3f}", "right"),
        Column(f"within ±{arguments.tolerance:g} dB"),
    ]
    print(f"{arguments.method}, mean PSNR per benchmark")
    print()
    print(markdown_table(columns, rows, missing="–"), end="")


if __name__ == "__main__":
    main()
