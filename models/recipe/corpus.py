"""Assemble the training corpus from the extracted sources (run fetch.py first).

Kinds and target sizes (MB of UTF-8 text; mixture ~55% code, 28% Markdown, 17% prose):
  prose 8.0   py 9.0   ts 9.0   js 8.5   md 13.5
Steps: collect candidate documents per kind (with per-source caps for diversity), normalise
nothing except dropping a UTF-8 BOM and invalid UTF-8 files, drop minified/generated files
(average line > 200 chars, any line > 3000 chars, *.min.*), split documents over 200 KB at
line boundaries, de-duplicate exactly (hash of the whitespace-stripped text), shuffle with a
fixed seed, take up to each kind's target, and hold out ~1% of the documents of each kind
(chosen by a hash of the document key) for evaluation.

Writes work/corpus/train.jsonl and work/corpus/heldout.jsonl (one JSON object per line:
{"kind", "source", "path", "text"}) and work/corpus/stats.json.
Usage: /usr/bin/python3 models/recipe/corpus.py
"""
from __future__ import annotations

import glob
import gzip
import hashlib
import html as htmlmod
import json
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "work", "src")
OUT = os.path.join(HERE, "work", "corpus")
sys.path.insert(0, os.path.join(SRC, "python3-html2text", "usr", "lib", "python3", "dist-packages"))

TARGET_MB = {"prose": 8.0, "py": 9.0, "ts": 9.0, "js": 8.5, "md": 13.5}
MAX_DOC = 200_000
HELDOUT_PER_MILLE = {"prose": 10, "md": 20, "py": 20, "ts": 12, "js": 12}  # ~1-2% of documents


def rd(path, gz=False):
    try:
        data = gzip.open(path).read() if gz else open(path, "rb").read()
        t = data.decode("utf-8")
    except (UnicodeDecodeError, OSError):
        return None
    if t.startswith("\ufeff"):
        t = t[1:]
    return t


def files(base, patterns, exclude=()):
    out = []
    for p in patterns:
        out += glob.glob(os.path.join(SRC, base, p), recursive=True)
    out = sorted(set(f for f in out if os.path.isfile(f) and not any(x in f for x in exclude)))
    return out


def minified(text):
    lines = text.split("\n")
    if not lines:
        return True
    if len(text) / max(1, len(lines)) > 200:
        return True
    return max(len(l) for l in lines) > 3000


def split_doc(text):
    if len(text) <= MAX_DOC:
        return [text]
    parts, cur, n = [], [], 0
    for line in text.splitlines(keepends=True):
        cur.append(line)
        n += len(line)
        if n >= MAX_DOC // 2 and line.strip() == "":
            parts.append("".join(cur))
            cur, n = [], 0
        elif n >= MAX_DOC:
            parts.append("".join(cur))
            cur, n = [], 0
    if cur:
        parts.append("".join(cur))
    return parts


# ---------------------------------------------------------------- prose

def prose_docs():
    docs = []
    for f in files("stdlib__datasets-sotu", ["package/data/*.txt"]):
        t = rd(f)
        if t:
            docs.append(("sotu", f, t, 5.0))
    # Jargon File: one document per info node
    t = rd(glob.glob(os.path.join(SRC, "jargon", "usr/share/info/jargon.info*"))[0], gz=True)
    for i, node in enumerate(t.split("\x1f")):
        node = node.strip("\n")
        lines = node.split("\n")
        if lines and lines[0].startswith("File:"):
            node = "\n".join(lines[1:]).strip("\n") + "\n"
        if len(node) > 200:
            docs.append(("jargon", f"jargon.info#{i}", node, 1.5))
    # Devil's Dictionary: entries grouped 40 per document
    t = rd(os.path.join(SRC, "dict-devil/usr/share/dictd/devil.dict.dz"), gz=True)
    body = t.split("THE DEVIL'S DICTIONARY", 2)[-1]
    paras = [p for p in re.split(r"\n\s*\n", body) if p.strip()]
    for i in range(0, len(paras), 40):
        docs.append(("devil", f"devil#{i}", "\n\n".join(paras[i:i + 40]).strip() + "\n", 0.4))
    # WordNet: glosses and examples (text after '|'), 150 synsets per document
    for pos in ("noun", "verb", "adj", "adv"):
        t = rd(os.path.join(SRC, f"wordnet-base/usr/share/wordnet/data.{pos}"))
        glosses = []
        for line in t.split("\n"):
            if line.startswith("  ") or "|" not in line:
                continue
            words = line.split(" ")
            lemma = words[4].replace("_", " ")
            g = line.split("|", 1)[1].strip()
            glosses.append(f"{lemma}: {g}")
        for i in range(0, len(glosses), 150):
            docs.append(("wordnet", f"data.{pos}#{i}", "\n".join(glosses[i:i + 150]) + "\n", 1.2))
    return docs


# ---------------------------------------------------------------- markdown

def sphinx_html_to_md(t):
    import html2text
    m = re.search(r'<div class="body" role="main">(.*?)<div class="sphinxsidebar"', t, re.S)
    if not m:
        return None
    h = html2text.HTML2Text()
    h.body_width = 0
    h.ignore_images = True
    h.ignore_links = False
    h.protect_links = False
    h.mark_code = False
    body = re.sub(r'<a class="headerlink"[^>]*>.*?</a>', "", m.group(1), flags=re.S)
    md = h.handle(body)
    md = re.sub(r"\n{3,}", "\n\n", md).strip() + "\n"
    return md


def md_docs():
    docs = []
    for f in files("nodejs-doc", ["usr/share/doc/nodejs/api/*.md.gz", "usr/share/doc/nodejs/api/*.md"]):
        t = rd(f, gz=f.endswith(".gz"))
        if t:
            docs.append(("nodejs-doc", f, t, 4.0))
    for f in files("npm", ["package/docs/content/**/*.md"]):
        t = rd(f)
        if t:
            docs.append(("npm-docs", f, t, 1.5))
    for d in os.listdir(SRC):
        if d in ("npm", "python3.11-doc", "nodejs-doc", "stdlib__datasets-sotu"):
            continue
        for f in files(d, ["package/*.md", "package/README*", "package/docs/**/*.md", "package/ai-docs/**/*.md"]):
            if f.endswith((".md", ".markdown")) or os.path.basename(f).upper().startswith("README"):
                t = rd(f)
                if t and "LICENSE" not in os.path.basename(f).upper():
                    docs.append(("npm-readme", f, t, 2.5))
    for f in files("python3.11-doc", ["usr/share/doc/python3.11/html/**/*.html"], exclude=("genindex", "/_", "py-modindex", "search.html")):
        t = rd(f)
        if not t:
            continue
        md = sphinx_html_to_md(t)
        if md and len(md) > 300:
            docs.append(("python-doc", f, md, 9.0))
    return docs


# ---------------------------------------------------------------- code

def py_docs():
    docs = []
    for f in files("libpython3.11-stdlib", ["usr/lib/python3.11/**/*.py"], exclude=("/test/", "/tests/", "/idlelib/idle_test/")):
        docs.append(("cpython-stdlib", f, None, 5.0))
    for f in files("python3-django", ["usr/lib/python3/dist-packages/django/**/*.py"], exclude=("/locale/",)):
        docs.append(("django", f, None, 2.5))
    for f in files("python3-numpy", ["usr/lib/python3/dist-packages/numpy/**/*.py"]):
        docs.append(("numpy", f, None, 2.0))
    return docs


TS_SOURCES = {"effect": 3.0, "zod": 1.2, "rxjs": 1.0, "reduxjs__toolkit": 0.8, "tanstack__query-core": 0.5,
              "trpc__server": 0.6, "mobx": 0.5, "immer": 0.3, "ajv": 0.5}


def ts_docs():
    docs = []
    for d, cap in TS_SOURCES.items():
        for f in files(d, ["package/src/**/*.ts", "package/src/**/*.tsx", "package/lib/**/*.ts"], exclude=(".d.ts",)):
            docs.append((d, f, None, cap))
    for f in files("typescript", ["package/lib/lib.*.d.ts"]):
        docs.append(("typescript-lib", f, None, 1.5))
    for f in files("types__node", ["package/**/*.d.ts"]):
        docs.append(("types-node", f, None, 1.2))
    for f in files("types__vscode", ["package/**/*.d.ts"]):
        docs.append(("types-vscode", f, None, 0.7))
    return docs


def js_docs():
    docs = []
    for f in files("three", ["package/src/**/*.js", "package/examples/jsm/**/*.js"], exclude=("/libs/",)):
        docs.append(("three", f, None, 3.5))
    for f in files("webpack", ["package/lib/**/*.js", "package/hot/*.js"]):
        docs.append(("webpack", f, None, 2.5))
    for f in files("typescript", ["package/lib/typescript.js"]):
        docs.append(("typescript-js", f, None, 1.0))
    for f in files("eslint", ["package/lib/**/*.js"]):
        docs.append(("eslint", f, None, 1.8))
    for f in files("lodash", ["package/*.js"]):
        docs.append(("lodash", f, None, 1.0))
    for f in files("express", ["package/**/*.js"]):
        docs.append(("express", f, None, 0.3))
    return docs


def main():
    rng = random.Random(20261127)
    os.makedirs(OUT, exist_ok=True)
    seen = set()
    stats = {}
    train_f = open(os.path.join(OUT, "train.jsonl"), "w", encoding="utf-8")
    held_f = open(os.path.join(OUT, "heldout.jsonl"), "w", encoding="utf-8")
    for kind, fn in (("prose", prose_docs), ("md", md_docs), ("py", py_docs), ("ts", ts_docs), ("js", js_docs)):
        cands = fn()
        rng.shuffle(cands)
        used_src = {}
        total = 0
        kst = {"docs": 0, "bytes": 0, "heldout_docs": 0, "heldout_bytes": 0, "dropped_minified": 0,
               "dropped_dup": 0, "sources": {}}
        target = TARGET_MB[kind] * 1e6
        for src, path, text, cap_mb in cands:
            if total >= target:
                break
            if used_src.get(src, 0) >= cap_mb * 1e6:
                continue
            if text is None:
                if ".min." in path:
                    kst["dropped_minified"] += 1
                    continue
                text = rd(path)
                if text is None:
                    continue
            if kind in ("py", "ts", "js") and minified(text):
                kst["dropped_minified"] += 1
                continue
            rel = os.path.relpath(path, SRC) if path.startswith(SRC) else path
            for j, part in enumerate(split_doc(text)):
                if used_src.get(src, 0) >= cap_mb * 1e6 or total >= target:
                    break
                if len(part.strip()) < 50:
                    continue
                h = hashlib.sha256(re.sub(r"\s+", "", part).encode()).hexdigest()
                if h in seen:
                    kst["dropped_dup"] += 1
                    continue
                seen.add(h)
                key = f"{rel}#{j}"
                rec = {"kind": kind, "source": src, "path": key, "text": part}
                nb = len(part.encode("utf-8"))
                hk = int(hashlib.sha256(("heldout:" + key).encode()).hexdigest(), 16) % 1000
                if hk < HELDOUT_PER_MILLE[kind]:
                    held_f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                    kst["heldout_docs"] += 1
                    kst["heldout_bytes"] += nb
                else:
                    train_f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                    kst["docs"] += 1
                    kst["bytes"] += nb
                    total += nb
                    used_src[src] = used_src.get(src, 0) + nb
                kst["sources"][src] = kst["sources"].get(src, 0) + nb
        stats[kind] = kst
        print(kind, {k: v for k, v in kst.items() if k != "sources"}, {k: round(v / 1e6, 2) for k, v in kst["sources"].items()}, flush=True)
    train_f.close()
    held_f.close()
    with open(os.path.join(OUT, "stats.json"), "w") as f:
        json.dump(stats, f, indent=1)


if __name__ == "__main__":
    main()
