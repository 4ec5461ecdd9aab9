"""Write the NOTICE of an exported model from sources.tsv: every source it was trained on,
with version and licence, grouped by kind; held-out and tool-only sources listed apart.

Usage: /usr/bin/python3 models/recipe/write_notice.py [--out models/default/NOTICE]
"""
from __future__ import annotations

import argparse
import os
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
KIND_TITLE = {"prose": "Prose", "md": "Markdown documentation", "py": "Python", "ts": "TypeScript",
              "js": "JavaScript", "other": "Other languages (Go, Rust, C, CSS/SCSS)"}

WORDNET = """\
    WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved.
    THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON UNIVERSITY MAKES NO
    REPRESENTATIONS OR WARRANTIES, EXPRESS OR IMPLIED. BY WAY OF EXAMPLE, BUT NOT
    LIMITATION, PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES OF MERCHANT-
    ABILITY OR FITNESS FOR ANY PARTICULAR PURPOSE OR THAT THE USE OF THE LICENSED
    SOFTWARE, DATABASE OR DOCUMENTATION WILL NOT INFRINGE ANY THIRD PARTY PATENTS,
    COPYRIGHTS, TRADEMARKS OR OTHER RIGHTS.
    The name of Princeton University or Princeton may not be used in advertising or
    publicity pertaining to distribution of the software and/or database. Title to
    copyright in this software, database and any associated documentation shall at all
    times remain with Princeton University and LICENSEE agrees to preserve same."""


def read_sources():
    rows = []
    for line in open(os.path.join(HERE, "sources.tsv"), encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        t, name, ver, kind, split, lic = line.rstrip("\n").split("\t")
        rows.append(dict(type=t, name=name, version=ver, kind=kind, split=split, license=lic))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "default", "NOTICE"))
    args = ap.parse_args()
    rows = read_sources()
    out = ["Surprisal Lens default model (models/default)", "=" * 45, "",
           *textwrap.wrap(
               "The tokenizer and the first edition's weights were trained from scratch by the recipe in "
               "models/recipe/ (no pretrained weights were used); the second edition continues training "
               "those weights on the broader corpus. Every text source below is pinned by version and "
               "archive sha256 in models/recipe/sources.tsv and models/recipe/sources.lock.tsv; "
               "copyleft and unclearly licensed sources were left out. The model does not contain the "
               "texts, but it has learned from them and can reproduce short fragments; the notices "
               "below are kept for that reason. Debian packages are named as `deb name version`, npm "
               "packages as `name@version`; npm packages' README and docs/*.md files were trained on "
               "too, under the same licences.", 88), ""]
    train = [r for r in rows if r["split"] == "train"]
    for kind, title in KIND_TITLE.items():
        sel = [r for r in train if r["kind"].split(",")[0] == kind]
        if not sel:
            continue
        out += [title]
        for r in sel:
            label = f"deb {r['name']} {r['version']}" if r["type"] == "deb" else f"{r['name']}@{r['version']}"
            out += textwrap.wrap(f"- {label}: {r['license']}", 88, subsequent_indent="  ")
            if r["name"] == "wordnet-base":
                out += WORDNET.split("\n")
        out += [""]
    held = [r for r in rows if r["split"] == "heldout"]
    out += textwrap.wrap("Held out (whole projects never trained on, used only to measure the model): " +
                         ", ".join(f"{r['name']} {r['version']}" for r in held) + ".", 88) + [""]
    tools = [r for r in rows if r["split"] == "tool"]
    out += textwrap.wrap("Tools used only to prepare the text (not trained on): " +
                         "; ".join(f"{r['name']} {r['version']} ({r['license']})" for r in tools) + ".", 88) + [""]
    out += ["The recipe, tokenizer and weights themselves are released under the project's licence (MIT)."]
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    print(f"wrote {args.out}: {len(train)} training sources, {len(held)} held out, {len(tools)} tools")


if __name__ == "__main__":
    main()
