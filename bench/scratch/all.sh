#!/bin/sh
# Every scratch investigation in one go, logs under bench/results/ (run from the repo root,
# after `npm run build` and with /usr/bin/python3 + python3-onnx for the scratch graphs).
set -e
OUT=${1:-bench/results}
mkdir -p "$OUT" bench/.cache
/usr/bin/python3 bench/scratch/make_graphs.py models/default bench/.cache > /dev/null
/usr/bin/python3 bench/scratch/make_gemm.py bench/.cache
for D in single; do
  mkdir -p bench/.cache/$D-model/onnx
  for f in config.json generation_config.json tokenizer.json tokenizer_config.json; do cp models/default/$f bench/.cache/$D-model/; done
  cp bench/.cache/$D.onnx bench/.cache/$D-model/onnx/model.onnx
done
run() { name=$1; shift; echo "== $name: $*" >&2; { date -u +%FT%TZ; uptime; "$@"; } 2>&1 | grep -v 'W:onnxruntime' > "$OUT/$name.txt"; cat "$OUT/$name.txt" >&2; }
run threads node --import tsx bench/scratch/threads.ts
run split node --import tsx bench/scratch/split.ts
run proposed node --import tsx bench/scratch/proposed.ts models/default 3 500,2000,8000
run variants node --import tsx bench/scratch/variants.ts models/default 2000 5
run session-options node --import tsx bench/scratch/sessionOptions.ts models/default 15
run analyse-row node --import tsx bench/scratch/rowbench.ts
run next-split node --import tsx bench/scratch/nextSplit.ts
run edit-kv node --import tsx bench/scratch/editKv.ts
run memory node --import tsx bench/scratch/memory.ts
run single-graph node --import tsx bench/scratch/compat.ts single
run gemm node --import tsx bench/scratch/gemm.ts
run offline node --import tsx bench/scratch/offline.ts
run head-threads node --import tsx bench/scratch/headThreads.ts
run prealloc node --import tsx bench/scratch/prealloc.ts
run ort-profile node --import tsx bench/scratch/profile.ts
