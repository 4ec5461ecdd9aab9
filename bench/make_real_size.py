"""Random-weight benchmark models at real models' dimensions, in the Hugging Face ONNX layout,
with the variants the Hub ships (made as test/fixtures/variants/variants.py makes them):

    /usr/bin/python3 bench/make_real_size.py [smollm2-135m] [qwen2.5-0.5b]

Writes bench/models/<name>/ (ignored by git, not used by the tests; several GB): config.json,
the default model's tokenizer (models/default) padded with unused pieces to the real
tokenizer's size and onnx/model.onnx (fp32), model_quantized.onnx (dynamic
int8), model_q4.onnx (MatMulNBits, block 32) and, for SmolLM2, model_fp16.onnx and
model_q4f16.onnx. Qwen2.5-0.5B's fp32 graph is over protobuf's 2 GB, so its weights go to
model.onnx_data (as in Qwen2.5-Coder-0.5B's repository).

Dimensions from shared/MODEL-SOURCES.md:
    SmolLM2-135M  llama  30 layers x 576, MLP 1536, 9/3 heads,  vocab 49,152, context 8,192, tied
    Qwen2.5-0.5B  qwen2  24 layers x 896, MLP 4864, 14/2 heads, vocab 151,936, context 32,768, qkv biases, tied
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time

import onnx
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'test', 'fixtures', 'variants'))

from decoders import Decoder, Dims, config_json, export  # noqa: E402
import variants  # noqa: E402

MODELS = {
    'smollm2-135m': Dims('llama', vocab=49152, hidden=576, intermediate=1536, layers=30, heads=9, kv_heads=3, context=8192, rope_theta=100000.0),
    'qwen2.5-0.5b': Dims('qwen2', vocab=151936, hidden=896, intermediate=4864, layers=24, heads=14, kv_heads=2, context=32768, rope_theta=1000000.0),
}
TOKENIZER = os.path.join(ROOT, 'models', 'default')


def build(name: str, dims: Dims) -> None:
    started = time.time()
    torch.manual_seed(0)
    out = os.path.join(HERE, 'models', name)
    shutil.rmtree(out, ignore_errors=True)
    onnx_dir = os.path.join(out, 'onnx')
    os.makedirs(onnx_dir)
    shutil.copy(os.path.join(TOKENIZER, 'tokenizer_config.json'), os.path.join(out, 'tokenizer_config.json'))
    # The default model's BPE padded with pieces no merge makes, to the real tokenizer's size
    # (SmolLM2 49,152 = the logits; Qwen2.5 151,665 of 151,936): the engine's top-k searches
    # past the logits' undisplayable ids, so the gap must be the real one.
    tok = json.load(open(os.path.join(TOKENIZER, 'tokenizer.json')))
    vocab = tok['model']['vocab']
    target = dims.vocab if dims.arch == 'llama' else dims.vocab - 271
    for i in range(1 + max([*vocab.values(), *(t['id'] for t in tok['added_tokens'])]), target):
        vocab[f'\u0100unused{i}'] = i
    with open(os.path.join(out, 'tokenizer.json'), 'w') as fh:
        json.dump(tok, fh, ensure_ascii=False)
    bos = json.load(open(os.path.join(TOKENIZER, 'config.json')))['bos_token_id']
    with open(os.path.join(out, 'config.json'), 'w') as fh:
        json.dump(config_json(dims, 8192, bos, bos, f'surprisal-lens/bench-{name}'), fh, indent=2)
    with torch.no_grad():
        model = Decoder(dims).eval()
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        export(model, os.path.join(tmp, 'model.onnx'))
        del model
        fp32 = onnx.load(os.path.join(tmp, 'model.onnx'))
    # Over protobuf's 2 GB limit: the weights go to model.onnx_data, and no fp16 variants (time and disk).
    big = fp32.ByteSize() > 1_900_000_000
    print(f'{name}: exported in {time.time() - started:.0f} s', flush=True)

    def save(m: onnx.ModelProto, file: str) -> None:
        path = os.path.join(onnx_dir, file)
        if big and file == 'model.onnx':
            variants.save_external(m, path, 1)
        else:
            onnx.save(m, path)
        print(f'{name}: {file} {os.path.getsize(path) / 1e6:.0f} MB ({time.time() - started:.0f} s)', flush=True)

    save(fp32, 'model.onnx')
    save(variants.to_dynamic_int8(fp32, 'int8'), 'model_quantized.onnx')
    q4 = variants.to_q4(fp32, block=32)
    save(q4, 'model_q4.onnx')
    if not big:
        save(variants.to_fp16(fp32), 'model_fp16.onnx')
        save(variants.to_fp16(q4), 'model_q4f16.onnx')


def main() -> None:
    names = sys.argv[1:] or list(MODELS)
    for name in names:
        build(name, MODELS[name])


if __name__ == '__main__':
    main()
