"""GPT-2 architecture decoder in plain PyTorch (1.13; hand-written attention), with KV cache.

Same maths as Hugging Face GPT2LMHeadModel (pre-LayerNorm blocks, learned absolute
positions, gelu_new, tied input/output embeddings). Used for training, for the reference
log-probs and for the ONNX export (see export_onnx.py).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class GPTConfig:
    vocab_size: int = 8192
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 256
    n_positions: int = 256
    dropout: float = 0.0

    def to_dict(self):
        return asdict(self)


def gelu_new(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Attention(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.n_head = cfg.n_head
        self.head_dim = cfg.n_embd // cfg.n_head
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.register_buffer(
            "tril", torch.tril(torch.ones(cfg.n_positions, cfg.n_positions, dtype=torch.bool)), persistent=False
        )

    def forward(self, x, attention_mask=None, past: Optional[Tuple[torch.Tensor, torch.Tensor]] = None):
        B, T, C = x.shape
        H, D = self.n_head, self.head_dim
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, H, D).transpose(1, 2)
        k = k.view(B, T, H, D).transpose(1, 2)
        v = v.view(B, T, H, D).transpose(1, 2)
        if past is not None:
            k = torch.cat([past[0].to(k.dtype), k], dim=2)
            v = torch.cat([past[1].to(v.dtype), v], dim=2)
        present = (k, v)
        if self.training and x.is_cuda and past is None and attention_mask is None:
            # training on a GPU: the fused causal kernel never writes the T x T scores to memory
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.c_proj(y.transpose(1, 2).reshape(B, T, C)), present
        att = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(D))
        att = att.float()
        if past is None and attention_mask is None:
            mask = self.tril[:T, :T]
        else:
            S = k.shape[2]
            P = S - T
            qpos = torch.arange(T, device=x.device) + P
            kpos = torch.arange(S, device=x.device)
            mask = kpos.unsqueeze(0) <= qpos.unsqueeze(1)  # [T, S], causal, offset by past length
            mask = mask.unsqueeze(0).unsqueeze(0)
            if attention_mask is not None:
                mask = mask & (attention_mask[:, None, None, :] > 0)
        att = att.masked_fill(~mask, torch.finfo(torch.float32).min)
        att = torch.softmax(att, dim=-1).to(v.dtype)
        y = torch.matmul(att, v)
        y = y.transpose(1, 2).reshape(B, T, C)
        return self.c_proj(y), present


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd)
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd)

    def forward(self, x):
        return self.c_proj(gelu_new(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, eps=1e-5)
        self.attn = Attention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, eps=1e-5)
        self.mlp = MLP(cfg)

    def forward(self, x, attention_mask=None, past=None):
        a, present = self.attn(self.ln_1(x), attention_mask, past)
        x = x + a
        x = x + self.mlp(self.ln_2(x))
        return x, present


class GPT2(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.n_positions, cfg.n_embd)
        self.h = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)])
        self.ln_f = nn.LayerNorm(cfg.n_embd, eps=1e-5)

    def init_weights(self, std: float = 0.02, generator: Optional[torch.Generator] = None):
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                s = std
                if name.endswith("c_proj.weight"):
                    s = std / math.sqrt(2 * self.cfg.n_layer)
                with torch.no_grad():
                    p.copy_(torch.randn(p.shape, generator=generator) * s)
            elif "ln" in name and name.endswith("weight"):
                nn.init.ones_(p)
            else:
                nn.init.zeros_(p)

    def forward(self, input_ids, attention_mask=None, position_ids=None, past: Optional[List] = None):
        B, T = input_ids.shape
        if position_ids is None:
            P = 0 if past is None else past[0][0].shape[2]
            position_ids = (torch.arange(T, device=input_ids.device) + P).unsqueeze(0).expand(B, T)
        x = self.wte(input_ids) + self.wpe(position_ids)
        presents = []
        for i, blk in enumerate(self.h):
            x, pr = blk(x, attention_mask, None if past is None else past[i])
            presents.append(pr)
        x = self.ln_f(x)
        logits = torch.matmul(x, self.wte.weight.t().to(x.dtype))  # tied lm_head, no bias
        return logits, presents

    def num_params(self):
        return sum(p.numel() for p in self.parameters())


def hf_config(cfg: GPTConfig, extra: Optional[dict] = None) -> dict:
    d = {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "activation_function": "gelu_new",
        "attn_pdrop": 0.0, "embd_pdrop": 0.0, "resid_pdrop": 0.0,
        "layer_norm_epsilon": 1e-5,
        "initializer_range": 0.02,
        "n_layer": cfg.n_layer, "n_head": cfg.n_head, "n_embd": cfg.n_embd,
        "n_positions": cfg.n_positions, "n_ctx": cfg.n_positions, "n_inner": None,
        "vocab_size": cfg.vocab_size,
        "bos_token_id": 0, "eos_token_id": 0,
        "scale_attn_weights": True,
        "tie_word_embeddings": True,
        "use_cache": True,
        "torch_dtype": "float32",
        "transformers.js_config": {"dtype": "fp32"},
    }
    if extra:
        d.update(extra)
    return d


def generation_config() -> dict:
    return {"bos_token_id": 0, "eos_token_id": 0, "pad_token_id": 0, "do_sample": False, "max_new_tokens": 64}


@torch.no_grad()
def token_logprobs(model: GPT2, ids: List[int], bos: int = 0):
    """Per-token ln P(ids[i] | BOS, ids[<i]) in one window, plus ranks/entropy/top10 (float64)."""
    x = torch.tensor([[bos] + list(ids)], dtype=torch.long)
    logits, _ = model(x)
    lp = torch.log_softmax(logits[0, :-1].double(), dim=-1)
    tgt = torch.tensor(ids, dtype=torch.long)
    chosen = lp.gather(1, tgt[:, None])[:, 0]
    ranks = (lp > chosen[:, None]).sum(dim=1) + 1
    ent = -(lp.exp() * lp).sum(dim=1) / math.log(2)
    top10 = torch.topk(lp, k=min(10, lp.shape[1]), dim=1).indices
    return chosen.tolist(), ranks.tolist(), ent.tolist(), top10.tolist()


@torch.no_grad()
def windowed_logprobs(model: GPT2, ids: List[int], context: int, stride: int, bos: int = 0) -> List[float]:
    """BOS-prefixed sliding windows (HF perplexity guide style); each token scored once."""
    N = len(ids)
    L = context - 1
    out: List[float] = []
    a = 0
    prev_end = 0
    if N == 0:
        return out
    while True:
        end = min(a + L, N)
        x = torch.tensor([[bos] + ids[a:end]], dtype=torch.long)
        logits, _ = model(x)
        # token ids[t] sits at window position t - a + 1, predicted from position t - a
        rows = logits[0, prev_end - a:end - a].double()
        tgt = torch.tensor(ids[prev_end:end], dtype=torch.long)
        lp = torch.log_softmax(rows, dim=-1).gather(1, tgt[:, None])[:, 0]
        out.extend(lp.tolist())
        prev_end = end
        if end == N:
            break
        a += stride
    return out
