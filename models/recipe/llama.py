"""Llama-style decoder in plain PyTorch 1.13 (hand-written attention), with KV cache.

Same maths as Hugging Face LlamaForCausalLM with tie_word_embeddings: pre-RMSNorm blocks,
rotary position embeddings (rotate_half layout, theta 10000) on queries and keys, SwiGLU
MLP (down(silu(gate(x)) * up(x))), no biases, final RMSNorm, tied input/output embedding.
Same call signature as gpt2.GPT2, so train.py and eval.py take either.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class LlamaConfig:
    vocab_size: int = 8192
    n_layer: int = 6
    n_head: int = 4
    n_embd: int = 256
    n_positions: int = 256
    intermediate_size: int = 0  # 0: 8/3 * n_embd rounded up to a multiple of 64 (same MLP parameters as 4x GELU)
    rope_theta: float = 10000.0
    rms_eps: float = 1e-5
    dropout: float = 0.0

    def __post_init__(self):
        if not self.intermediate_size:
            self.intermediate_size = int(math.ceil(8 * self.n_embd / 3 / 64) * 64)

    def to_dict(self):
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return (self.weight * xf).to(x.dtype)


def rope_cos_sin(position_ids, head_dim, theta):
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32, device=position_ids.device) / head_dim))
    freqs = position_ids.float()[..., None] * inv  # [B, T, D/2]
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos()[:, None], emb.sin()[:, None]  # [B, 1, T, D]


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.n_head = cfg.n_head
        self.head_dim = cfg.n_embd // cfg.n_head
        self.q_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=False)
        self.k_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=False)
        self.v_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=False)
        self.o_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=False)

    def forward(self, x, cos, sin, attention_mask=None, past=None):
        B, T, C = x.shape
        H, D = self.n_head, self.head_dim
        q = self.q_proj(x).view(B, T, H, D).transpose(1, 2)
        k = self.k_proj(x).view(B, T, H, D).transpose(1, 2)
        v = self.v_proj(x).view(B, T, H, D).transpose(1, 2)
        q = q * cos.to(q.dtype) + rotate_half(q) * sin.to(q.dtype)
        k = k * cos.to(k.dtype) + rotate_half(k) * sin.to(k.dtype)
        if past is not None:
            k = torch.cat([past[0].to(k.dtype), k], dim=2)
            v = torch.cat([past[1].to(v.dtype), v], dim=2)
        present = (k, v)
        S = k.shape[2]
        att = (torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(D))).float()
        qpos = torch.arange(T, device=x.device) + (S - T)
        mask = (torch.arange(S, device=x.device)[None, :] <= qpos[:, None])[None, None]
        if attention_mask is not None:
            mask = mask & (attention_mask[:, None, None, :] > 0)
        att = att.masked_fill(~mask, torch.finfo(torch.float32).min)
        y = torch.matmul(torch.softmax(att, dim=-1).to(v.dtype), v)
        return self.o_proj(y.transpose(1, 2).reshape(B, T, C)), present


class MLP(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.n_embd, cfg.intermediate_size, bias=False)
        self.up_proj = nn.Linear(cfg.n_embd, cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.n_embd, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.n_embd, cfg.rms_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.n_embd, cfg.rms_eps)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, attention_mask=None, past=None):
        a, present = self.self_attn(self.input_layernorm(x), cos, sin, attention_mask, past)
        x = x + a
        return x + self.mlp(self.post_attention_layernorm(x)), present


class Llama(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.layers = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)])
        self.norm = RMSNorm(cfg.n_embd, cfg.rms_eps)

    def init_weights(self, std: float = 0.02, generator: Optional[torch.Generator] = None):
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                s = std / math.sqrt(2 * self.cfg.n_layer) if name.endswith(("o_proj.weight", "down_proj.weight")) else std
                with torch.no_grad():
                    p.copy_(torch.randn(p.shape, generator=generator) * s)
            else:
                nn.init.ones_(p)

    def forward(self, input_ids, attention_mask=None, position_ids=None, past: Optional[List] = None):
        B, T = input_ids.shape
        if position_ids is None:
            P = 0 if past is None else past[0][0].shape[2]
            position_ids = (torch.arange(T, device=input_ids.device) + P).unsqueeze(0).expand(B, T)
        cos, sin = rope_cos_sin(position_ids, self.cfg.n_embd // self.cfg.n_head, self.cfg.rope_theta)
        x = self.embed_tokens(input_ids)
        presents = []
        for i, blk in enumerate(self.layers):
            x, pr = blk(x, cos, sin, attention_mask, None if past is None else past[i])
            presents.append(pr)
        x = self.norm(x)
        return torch.matmul(x, self.embed_tokens.weight.t().to(x.dtype)), presents

    def num_params(self):
        return sum(p.numel() for p in self.parameters())


def hf_config(cfg: LlamaConfig, extra: Optional[dict] = None) -> dict:
    """config.json for transformers.js / the extension (model_type llama, tied embeddings)."""
    d = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_act": "silu",
        "hidden_size": cfg.n_embd,
        "intermediate_size": cfg.intermediate_size,
        "num_hidden_layers": cfg.n_layer,
        "num_attention_heads": cfg.n_head,
        "num_key_value_heads": cfg.n_head,
        "head_dim": cfg.n_embd // cfg.n_head,
        "max_position_embeddings": cfg.n_positions,
        "rms_norm_eps": cfg.rms_eps,
        "rope_theta": cfg.rope_theta,
        "rope_scaling": None,
        "attention_bias": False,
        "mlp_bias": False,
        "vocab_size": cfg.vocab_size,
        "bos_token_id": 0, "eos_token_id": 0,
        "tie_word_embeddings": True,
        "use_cache": True,
        "torch_dtype": "float32",
        "transformers.js_config": {"dtype": "fp32"},
    }
    if extra:
        d.update(extra)
    return d
