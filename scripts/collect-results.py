#!/usr/bin/env python3
"""Copies the PNG figures of finished `mhe experiment` folders into docs/results/<name>/ and
prints their summary tables as Markdown sections for docs/results.md.

Usage: scripts/collect-results.py NAME=DIR [NAME=DIR ...] > sections.md
"""
import json
import pathlib
import shutil
import sys

docs = pathlib.Path(__file__).resolve().parent.parent / "docs" / "results"
for arg in sys.argv[1:]:
    name, folder = arg.split("=", 1)
    folder = pathlib.Path(folder)
    summary = json.loads((folder / "summary.json").read_text())
    text = (folder / "summary.md").read_text()
    body = text.split("\n## Figures")[0].split("\n", 2)[2]  # drop the title line
    target = docs / name
    target.mkdir(parents=True, exist_ok=True)
    print(f"### {name}\n")
    print(body.strip() + "\n")
    for figure in summary["figures"]:
        if figure.endswith(".png"):
            shutil.copy(folder / figure, target / figure)
            print(f"![{name} {figure}](results/{name}/{figure})\n")
