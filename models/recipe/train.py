"""Train the default model (GPT-2 architecture) on the tokenized corpus. Resumable.

CPU (default):  nice -n 10 /usr/bin/python3 models/recipe/train.py --config cpu --budget-min 80
Long CPU run:   nohup nice -n 10 /usr/bin/python3 models/recipe/train.py --config cpu-long --deadline 17:08 &
GPU (CUDA):     /usr/bin/python3 models/recipe/train.py --config gpu --out models/recipe/work/ckpt-gpu
GPU, continuing the shipped model at context 512: models/recipe/gpu_train.sh (section 4c of the README)
Continue from the shipped model:  ... --init-from models/default  (reads onnx/model.onnx weights)

Every training window is [BOS] + (context-1) tokens of the token stream: 30% of windows
start at a document start, the rest at a random offset, exactly like the BOS-prefixed
sliding windows the extension and eval.py score with. The LR schedule (linear warmup,
cosine decay to 10%) follows training progress = max(step / max_steps, elapsed / budget),
so a wall-clock budget ends the run on the low LR. A checkpoint (model, optimizer, step,
elapsed time, RNG) is written atomically every --ckpt-min minutes and at the end;
rerunning the same command resumes from it.

--schedule wsd (config cpu-long) is for training spread over many sessions, each of which
may be stopped at any moment: every process start ramps the LR up over a short warm-up
(the optimizer state may be fresh or stale), holds it, and decays it linearly to
--final-lr-frac over the last --decay-min minutes before --deadline, so each session ends
on an annealed, exportable model. Without a checkpoint it warm-starts from --init-from
(default models/default). SIGTERM/SIGINT save a checkpoint before exiting; train.bin is
re-read at each checkpoint when it changed (a new corpus tokenized with the same tokenizer).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy/torch load OpenBLAS: see eval.py
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gpt2 import GPT2, GPTConfig  # noqa: E402
from llama import Llama, LlamaConfig  # noqa: E402

CONFIGS = {
    # ~4,000 tok/s on 2 Zen 4 cores under bf16 autocast (see README for measurements)
    "cpu": dict(n_layer=6, n_head=4, n_embd=256, n_positions=256, batch=24, lr=1.5e-3, warmup=150,
                device="cpu", dtype="bfloat16", budget_min=80.0, max_steps=10**9),
    # many sessions on 2 CPU cores, warm-started from models/default (same shape and tokenizer;
    # context 512 since the GPU run, batch 12 x 512 = the same 6,144 tokens a step as 24 x 256)
    "cpu-long": dict(n_layer=6, n_head=4, n_embd=256, n_positions=512, batch=12, lr=8e-4, warmup=60,
                     device="cpu", dtype="bfloat16", budget_min=10**6, max_steps=10**12, schedule="wsd",
                     init_from=os.path.join(os.path.dirname(HERE), "default"),
                     data=os.path.join(HERE, "work", "tok2"),
                     heldout=os.path.join(HERE, "work", "corpus", "heldout_projects.jsonl")),
    # one CUDA GPU, about 10 minutes. NOTE: ~17.6 M parameters = ~70 MB in fp32, over the 30 MB
    # limit for models/default; it needs weight-only int8 export (not implemented yet).
    "gpu": dict(n_layer=8, n_head=6, n_embd=384, n_positions=512, batch=64, lr=1.0e-3, warmup=200,
                device="cuda", dtype="bfloat16", budget_min=12.0, max_steps=1500),
    # one CUDA GPU for a few minutes, continuing the shipped model (same widths and tokenizer) at
    # twice its context: the position table grows from 256 to 512 rows (+0.13 M parameters)
    "gpu-long": dict(n_layer=6, n_head=4, n_embd=256, n_positions=512, batch=256, lr=2e-3, warmup=200,
                     device="cuda", dtype="bfloat16", budget_min=10**6, max_steps=10**12, schedule="wsd",
                     init_from=os.path.join(os.path.dirname(HERE), "default"),
                     data=os.path.join(HERE, "work", "tok2"),
                     heldout=os.path.join(HERE, "work", "corpus", "heldout_projects.jsonl")),
    # one CUDA GPU, fits the 30 MB fp32 limit (~7.0 M parameters, ~28 MB)
    "gpu-fit": dict(n_layer=6, n_head=4, n_embd=256, n_positions=512, batch=64, lr=1.5e-3, warmup=200,
                    device="cuda", dtype="bfloat16", budget_min=10.0, max_steps=2000),
}


def newton_schulz5(G, steps=5):
    """Approximately orthogonalise G (the quintic iteration of modded-nanogpt's Muon)."""
    a, b, c = 3.4445, -4.7750, 2.0315
    X = G.float() / (G.norm() + 1e-7)
    tall = X.shape[0] > X.shape[1]
    if tall:
        X = X.t()
    for _ in range(steps):
        A = X @ X.t()
        X = a * X + (b * A + c * A @ A) @ X
    return X.t() if tall else X


class Muon(torch.optim.Optimizer):
    """Muon for 2-D hidden weight matrices: Nesterov momentum, then the update is replaced by
    its nearest semi-orthogonal matrix, scaled by sqrt(max(1, rows / cols))."""

    def __init__(self, params, lr=0.02, momentum=0.95, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                if "buf" not in st:
                    st["buf"] = torch.zeros_like(p)
                buf = st["buf"]
                buf.mul_(g["momentum"]).add_(p.grad)
                u = newton_schulz5(p.grad.add(buf, alpha=g["momentum"]))
                if g["weight_decay"]:
                    p.mul_(1 - g["lr"] * g["weight_decay"])
                p.add_(u.to(p.dtype), alpha=-g["lr"] * max(1.0, p.shape[0] / p.shape[1]) ** 0.5)


def log(fh, msg):
    line = time.strftime("%H:%M:%S ") + msg
    print(line, flush=True)
    fh.write(line + "\n")
    fh.flush()


def load_init_from(model: GPT2, folder: str):
    """Load weights from an exported folder (onnx/model.onnx initializers named model.<param>)."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(os.path.join(folder, "onnx", "model.onnx"))
    sd = model.state_dict()
    got = {}
    for init in m.graph.initializer:
        if init.name.startswith("model.") and init.name[6:] in sd:
            got[init.name[6:]] = torch.from_numpy(numpy_helper.to_array(init).copy())
    missing = [k for k in sd if k not in got and not k.endswith("tril")]
    if missing:
        raise SystemExit(f"--init-from {folder}: weights missing in ONNX: {missing[:5]}")
    wpe = got.get("wpe.weight")
    if wpe is not None and wpe.shape[0] < sd["wpe.weight"].shape[0]:
        # a longer context than the folder's: the new rows start as the last learned position,
        # so positions past the old context first behave like its end, then training separates them
        grown = wpe[-1:].repeat(sd["wpe.weight"].shape[0] - wpe.shape[0], 1)
        got["wpe.weight"] = torch.cat([wpe, grown])
    model.load_state_dict(got, strict=False)


class Batches:
    def __init__(self, path, ctx, batch, seed, doc_start_frac=0.3):
        self.path = path
        self.load()
        self.ctx, self.batch = ctx, batch
        self.rng = np.random.default_rng(seed)
        self.frac = doc_start_frac

    def load(self):
        self.mtime = os.path.getmtime(self.path)
        self.ids = np.fromfile(self.path, dtype=np.uint16)
        self.starts = np.flatnonzero(self.ids == 0)

    def reload_if_changed(self):
        if os.path.getmtime(self.path) != self.mtime:
            self.load()
            return True
        return False

    def state(self):
        return self.rng.bit_generator.state

    def set_state(self, s):
        self.rng.bit_generator.state = s

    def next(self):
        n = self.ctx  # BOS + (ctx-1) tokens as input, ctx targets
        N = len(self.ids)
        # drawn for the whole batch at once: a GPU step is shorter than a Python loop over rows
        at_doc = self.rng.random(self.batch) < self.frac
        offs = np.where(at_doc, self.starts[self.rng.integers(len(self.starts), size=self.batch)] + 1,
                        self.rng.integers(N, size=self.batch))
        offs = np.minimum(offs, N - n)
        y = self.ids[offs[:, None] + np.arange(n)].astype(np.int64)
        x = np.empty_like(y)
        x[:, 0] = 0
        x[:, 1:] = y[:, :-1]
        return torch.from_numpy(x), torch.from_numpy(y)


@torch.no_grad()
def heldout_loss(model, windows, device):
    """(nats/token, bits/byte) over the held-out windows; bits/byte compares tokenizers too.
    In float32, as the exported model runs: under bf16 autocast the hand-written attention's
    scores are rounded to bf16: the GPU run's final weights (trained with the fused kernel)
    read 1.32 bits/byte that way against 1.20 in float32."""
    model.eval()
    tot, n, nbytes = 0.0, 0, 0
    for x, y, b in windows:
        with torch.autocast(device_type=device, enabled=False):
            logits, _ = model(x.to(device))
        loss = F.cross_entropy(logits.float().view(-1, logits.shape[-1]), y.to(device).view(-1), reduction="sum")
        tot += loss.item()
        n += y.numel()
        nbytes += b
    model.train()
    return tot / n, tot / math.log(2) / nbytes


def make_heldout_windows(tok_json, heldout_path, ctx, max_windows=48):
    from bpe import ByteBPE
    bpe = ByteBPE.load(tok_json)
    ws = []
    with open(heldout_path, encoding="utf-8") as f:
        docs = [json.loads(l) for l in f]
    for d in docs:
        ids = bpe.encode(d["text"])[: ctx * 2]
        for a in range(0, len(ids) - 8, ctx):
            seg = ids[a:a + ctx]
            ws.append((torch.tensor([[0] + seg[:-1]]), torch.tensor([seg]), len(bpe.decode_bytes(seg))))
    ws = ws[:: max(1, len(ws) // max_windows)][:max_windows]
    return ws


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="cpu", choices=sorted(CONFIGS))
    ap.add_argument("--data", default=None, help="folder with train.bin, tokenizer.json (default: the config's, "
                                                 "else work/tok)")
    ap.add_argument("--heldout", default=None, help="held-out documents for the checkpoint loss (default: the "
                                                    "config's, else work/corpus/heldout_projects.jsonl)")
    ap.add_argument("--out", default=os.path.join(HERE, "work", "ckpt"))
    ap.add_argument("--budget-min", type=float, default=None, help="wall-clock training budget (minutes)")
    ap.add_argument("--deadline", default=None, help="absolute UTC stop time HH:MM (today); whichever comes first")
    ap.add_argument("--minutes", type=float, default=None, help="wsd: stop this many minutes after start (instead "
                                                               "of --deadline; for a lent machine's short lease)")
    ap.add_argument("--device", default=None, help="override the config's device (e.g. cpu for a dry run of a GPU config)")
    ap.add_argument("--slim", default=None, help="also write the final weights alone (no optimizer state) here")
    ap.add_argument("--max-steps", type=int, default=None)
    ap.add_argument("--ckpt-min", type=float, default=10.0)
    ap.add_argument("--init-from", default=None, help="exported model folder, e.g. models/default")
    ap.add_argument("--decay-min", type=float, default=30.0, help="wsd: linear LR decay over the last minutes before --deadline")
    ap.add_argument("--final-lr-frac", type=float, default=0.05, help="wsd: LR at the deadline, as a fraction of the peak")
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bench", type=int, default=0, help="only time this many steps and exit")
    ap.add_argument("--layers", type=int, default=None)
    ap.add_argument("--ctx", type=int, default=None)
    ap.add_argument("--warmup", type=int, default=None)
    ap.add_argument("--arch", default="gpt2", choices=["gpt2", "llama"])
    ap.add_argument("--optim", default="adamw", choices=["adamw", "muon"],
                    help="muon: Muon for the hidden 2-D matrices, AdamW for embeddings and gains")
    ap.add_argument("--muon-lr", type=float, default=0.02)
    ap.add_argument("--clock", default="wall", choices=["wall", "cpu"],
                    help="cpu: the budget counts this process's CPU seconds / threads, so runs compared "
                         "at equal budget get equal compute even while other jobs share the cores")
    args = ap.parse_args()

    C = dict(CONFIGS[args.config])
    if args.lr: C["lr"] = args.lr
    if args.batch: C["batch"] = args.batch
    if args.warmup: C["warmup"] = args.warmup
    if args.layers: C["n_layer"] = args.layers
    if args.ctx: C["n_positions"] = args.ctx
    if args.init_from is None: args.init_from = C.get("init_from")
    if args.data is None: args.data = C.get("data", os.path.join(HERE, "work", "tok"))
    if args.heldout is None: args.heldout = C.get("heldout", os.path.join(HERE, "work", "corpus", "heldout_projects.jsonl"))
    wsd = C.get("schedule") == "wsd"
    if wsd and not args.deadline and args.minutes is None and not args.bench:
        raise SystemExit("--schedule wsd needs --deadline HH:MM (UTC) or --minutes to know when to decay")
    budget_s = 60 * (args.budget_min if args.budget_min is not None else C["budget_min"])
    max_steps = args.max_steps or C["max_steps"]
    device = C["device"] = args.device or C["device"]
    torch.manual_seed(args.seed)
    if device == "cpu":
        torch.set_num_threads(args.threads)
    else:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    dtype = getattr(torch, C["dtype"])
    amp = (lambda: torch.autocast(device_type=device, dtype=dtype)) if dtype != torch.float32 else (
        lambda: torch.autocast(device_type=device, enabled=False))

    tokj = json.load(open(os.path.join(args.data, "tokenizer.json"), encoding="utf-8"))
    vocab = len(tokj["model"]["vocab"])
    Cfg, Model = (LlamaConfig, Llama) if args.arch == "llama" else (GPTConfig, GPT2)
    cfg = Cfg(vocab_size=vocab, n_layer=C["n_layer"], n_head=C["n_head"], n_embd=C["n_embd"],
              n_positions=C["n_positions"])
    model = Model(cfg)
    model.init_weights(0.02)
    os.makedirs(args.out, exist_ok=True)
    ck_path = os.path.join(args.out, "ckpt.pt")
    fh = open(os.path.join(args.out, "train.log"), "a")
    embeds = ("wte.", "wpe.", "embed_tokens.")
    hidden = [p for n, p in model.named_parameters() if p.dim() >= 2 and not n.startswith(embeds)]
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and (args.optim == "adamw" or n.startswith(embeds))]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    model.to(device)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=C["lr"], betas=(0.9, 0.95), eps=1e-8, **({"fused": True} if device == "cuda" else {}))
    muon = Muon(hidden, lr=args.muon_lr) if args.optim == "muon" else None
    data = Batches(os.path.join(args.data, "train.bin"), cfg.n_positions, C["batch"], args.seed)
    step, elapsed, tokens_seen = 0, 0.0, 0
    run_step = 0  # steps of this process: the wsd warm-up restarts on every start ...
    start_lr = 0.0  # ... from the LR the checkpoint was saved at (0 for a warm start)
    init_info = None  # what a warm start began from (its own training, for the totals)
    if os.path.exists(ck_path) and not args.bench:
        ck = torch.load(ck_path, map_location=device, weights_only=False)  # our own file; it holds RNG states
        if ck["cfg"] != cfg.to_dict():
            raise SystemExit(f"checkpoint config {ck['cfg']} != {cfg.to_dict()}; use another --out")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        if muon is not None:
            muon.load_state_dict(ck["muon"])
        step, elapsed, tokens_seen = ck["step"], ck["elapsed"], ck["tokens"]
        start_lr = ck.get("lr", 0.0)
        init_info = ck.get("init_from")
        data.set_state(ck["data_rng"])
        torch.set_rng_state(ck["torch_rng"].cpu())  # map_location moved it to the device
        log(fh, f"resumed from {ck_path} at step {step}, {elapsed / 60:.1f} min, {tokens_seen / 1e6:.2f} M tokens")
    elif args.init_from and not args.bench:
        load_init_from(model, args.init_from)
        model.to(device)
        init_cfg = json.load(open(os.path.join(args.init_from, "config.json")))
        init_info = {"folder": os.path.relpath(args.init_from, os.path.dirname(os.path.dirname(HERE))),
                     **init_cfg.get("training", {})}
        log(fh, f"initialised from {args.init_from}")
    log(fh, f"config {args.config}: {json.dumps(C)} params {model.num_params() / 1e6:.2f} M, "
            f"train tokens {len(data.ids) / 1e6:.2f} M, budget {budget_s / 60:.0f} min, max_steps {max_steps}")

    deadline = None
    if args.deadline:
        hh, mm = map(int, args.deadline.split(":"))
        now = time.gmtime()
        deadline = time.time() + ((hh * 60 + mm) - (now.tm_hour * 60 + now.tm_min)) * 60 - now.tm_sec
        # the schedule treats the remaining time to the deadline as the budget end
        budget_s = min(budget_s, elapsed + (deadline - time.time()))
        log(fh, f"deadline {args.deadline} UTC -> effective budget {budget_s / 60:.1f} min")
    elif args.minutes is not None:
        deadline = time.time() + 60 * args.minutes
        budget_s = min(budget_s, elapsed + 60 * args.minutes)
        log(fh, f"stopping in {args.minutes:.1f} min")

    hold = make_heldout_windows(os.path.join(args.data, "tokenizer.json"), args.heldout, cfg.n_positions) \
        if os.path.exists(args.heldout) and not args.bench else []

    def lr_at(progress):
        if wsd:
            # a stop in the stable phase resumes at full LR at once; a warm start or a
            # resume after a decayed (annealed) end ramps up from where it was
            left = deadline - time.time()
            decay = min(1.0, max(0.0, left / (60 * args.decay_min)))
            base = C["lr"] * (args.final_lr_frac + (1 - args.final_lr_frac) * decay)
            lo = min(start_lr, base)
            return lo + (base - lo) * min(1.0, (run_step + 1) / C["warmup"])
        if step < C["warmup"]:
            return C["lr"] * (step + 1) / C["warmup"]
        return C["lr"] * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))

    def weights():
        """What export_default.py and eval.py read: the weights and the training record."""
        return {"cfg": cfg.to_dict(), "model": model.state_dict(), "step": step, "elapsed": elapsed,
                "tokens": tokens_seen, "config_name": args.config, "train_config": C, "arch": args.arch,
                "optim": args.optim, "lr": lr, "init_from": init_info}

    def save():
        ck = {**weights(), "opt": opt.state_dict(), "data_rng": data.state(), "torch_rng": torch.get_rng_state()}
        if muon is not None:
            ck["muon"] = muon.state_dict()
        torch.save(ck, ck_path + ".tmp")
        os.replace(ck_path + ".tmp", ck_path)

    import signal
    stop = {"sig": None}

    def on_signal(signum, frame):
        stop["sig"] = signum  # finish the current step, then checkpoint and exit

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    model.train()
    lr = start_lr
    t_last_ck = time.time()
    t_log, tok_log = time.time(), 0
    bench_times = []
    while True:
        progress = max(step / max_steps, elapsed / budget_s)
        if progress >= 1.0 or (deadline and time.time() >= deadline):
            break
        if stop["sig"] is not None:
            log(fh, f"signal {stop['sig']}: stopping")
            break
        t0 = time.time()
        lr = lr_at(progress)
        for g in opt.param_groups:
            g["lr"] = lr
        if muon is not None:
            for g in muon.param_groups:
                g["lr"] = args.muon_lr * lr / C["lr"]  # same schedule shape
        c0 = time.process_time()
        x, y = data.next()
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with amp():
            logits, _ = model(x)
        loss = F.cross_entropy(logits.float().view(-1, vocab), y.view(-1))
        model.zero_grad(set_to_none=True)  # Muon holds the hidden matrices, AdamW the rest
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if muon is not None:
            muon.step()
        if device == "cuda":
            torch.cuda.synchronize()
        dt = time.time() - t0 if args.clock == "wall" else (time.process_time() - c0) / args.threads
        step += 1
        run_step += 1
        elapsed += dt
        tokens_seen += x.numel()
        tok_log += x.numel()
        if args.bench:
            bench_times.append(dt)
            if step >= args.bench:
                med = sorted(bench_times[1:])[len(bench_times[1:]) // 2]
                print(f"BENCH {args.config} L{cfg.n_layer} E{cfg.n_embd} ctx{cfg.n_positions} B{C['batch']}: "
                      f"median {med:.3f}s/step, {x.numel() / med:.0f} tok/s, loss {loss.item():.3f}")
                return
            continue
        if step % 50 == 0:
            now = time.time()
            log(fh, f"step {step} loss {loss.item():.4f} lr {lr:.2e} gnorm {gn:.2f} "
                    f"{tok_log / (now - t_log):.0f} tok/s elapsed {elapsed / 60:.1f} min tokens {tokens_seen / 1e6:.2f} M")
            t_log, tok_log = now, 0
        if time.time() - t_last_ck >= args.ckpt_min * 60:
            save()  # first: the held-out pass can take minutes on a busy machine
            hl, hb = heldout_loss(model, hold, device) if hold else (float("nan"), float("nan"))
            log(fh, f"checkpoint step {step}; held-out loss {hl:.4f} nats/token, {hb:.4f} bits/byte")
            if data.reload_if_changed():
                log(fh, f"train.bin changed: now {len(data.ids) / 1e6:.2f} M tokens")
            t_last_ck = time.time()
    save()
    log(fh, f"saved {ck_path} at step {step}")
    if args.slim:
        torch.save(weights(), args.slim)
        log(fh, f"weights alone -> {args.slim}")
    if stop["sig"] is not None:
        return  # stopped from outside: exit now (the held-out pass would hold the cores for minutes)
    hl, hb = heldout_loss(model, hold, device) if hold else (float("nan"), float("nan"))
    log(fh, f"done: step {step}, {elapsed / 60:.1f} min, {tokens_seen / 1e6:.2f} M tokens, "
            f"{tokens_seen / max(elapsed, 1e-9):.0f} tok/s; held-out loss {hl:.4f} nats/token, {hb:.4f} bits/byte")


if __name__ == "__main__":
    main()
