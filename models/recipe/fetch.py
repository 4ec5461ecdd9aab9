"""Download and extract the pinned corpus sources (sources.tsv) into models/recipe/work/.

Debian packages: `apt-get download name=version` (needs the Debian 12 apt sources), extracted
with `dpkg-deb -x`. npm packages: `npm pack name@version` (public registry), extracted with tar.
Every archive's sha256 is checked against sources.lock.tsv when the lock lists it, and the
lock is (re)written with what was downloaded (use --check to fail on any mismatch).

Usage: /usr/bin/python3 models/recipe/fetch.py [--check]
"""
from __future__ import annotations

import glob
import hashlib
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "work")
DL = os.path.join(WORK, "dl")
SRC = os.path.join(WORK, "src")
LOCK = os.path.join(HERE, "sources.lock.tsv")


def read_sources():
    rows = []
    with open(os.path.join(HERE, "sources.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            t, name, ver, kind, split, lic = line.rstrip("\n").split("\t")
            rows.append(dict(type=t, name=name, version=ver, kind=kind, split=split, license=lic))
    return rows


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def slug(name):
    return name.replace("@", "").replace("/", "__")


def fetch(row):
    d = os.path.join(DL, row["type"])
    os.makedirs(d, exist_ok=True)
    if row["type"] == "deb":
        ver_file = row["version"].replace(":", "%3a")
        pat = os.path.join(d, f"{row['name']}_{ver_file}_*.deb")
        if not glob.glob(pat):
            subprocess.run(["apt-get", "download", f"{row['name']}={row['version']}"], cwd=d, check=True,
                           stdout=subprocess.DEVNULL)
        path = glob.glob(pat)[0]
    else:
        base = f"{slug(row['name']).replace('__', '-')}-{row['version']}.tgz"
        path = os.path.join(d, base)
        if not os.path.exists(path):
            out = subprocess.run(["npm", "pack", f"{row['name']}@{row['version']}", "--silent"], cwd=d, check=True,
                                 capture_output=True, text=True).stdout.strip().splitlines()[-1]
            if os.path.join(d, out) != path:
                os.rename(os.path.join(d, out), path)
    dest = os.path.join(SRC, slug(row["name"]))
    if not os.path.exists(dest):
        os.makedirs(dest + ".tmp", exist_ok=True)
        if row["type"] == "deb":
            subprocess.run(["dpkg-deb", "-x", path, dest + ".tmp"], check=True)
        else:
            subprocess.run(["tar", "-xzf", path, "-C", dest + ".tmp"], check=True)
            # npm tarballs unpack to package/, except some (@types/*: node/, vscode/, ...)
            top = os.listdir(dest + ".tmp")
            if len(top) == 1 and top[0] != "package":
                os.rename(os.path.join(dest + ".tmp", top[0]), os.path.join(dest + ".tmp", "package"))
        os.rename(dest + ".tmp", dest)
    return row, os.path.basename(path), sha256(path)


def main():
    check = "--check" in sys.argv
    rows = read_sources()
    old = {}
    if os.path.exists(LOCK):
        with open(LOCK) as f:
            for line in f:
                if line.startswith("#"):
                    continue
                p = line.rstrip("\n").split("\t")
                old[(p[0], p[1], p[2])] = p[4]
    with ThreadPoolExecutor(6) as ex:
        results = list(ex.map(fetch, rows))
    bad = 0
    lines = ["#type\tname\tversion\tfile\tsha256"]
    for row, fn, h in results:
        key = (row["type"], row["name"], row["version"])
        if key in old and old[key] != h:
            print(f"SHA256 MISMATCH {key}: lock {old[key]} got {h}")
            bad += 1
        elif check and key not in old:
            print(f"not in lock: {key}")
            bad += 1
        lines.append(f"{row['type']}\t{row['name']}\t{row['version']}\t{fn}\t{h}")
    if bad and check:
        sys.exit(1)
    if not check:
        with open(LOCK, "w") as f:
            f.write("\n".join(lines) + "\n")
    print(f"{len(results)} sources ok")


if __name__ == "__main__":
    main()
