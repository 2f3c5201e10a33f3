"""GPT-2-style decoder (no KV cache) in plain torch, exported to ONNX.

Follows Hugging Face's GPT2LMHeadModel: token + position embeddings, pre-LayerNorm
blocks with a fused QKV linear (c_attn) split three ways, causal self-attention
masked with torch.where against the dtype's minimum plus an additive padding
mask, tanh-GELU ("gelu_new") MLP, final LayerNorm, and an LM head tied to the
token embedding. Position ids come from the attention mask by cumsum, as HF's
generation code makes them, so the export has CumSum; the causal mask is a
sliced tril buffer at opset 13 (HF's form) and torch.tril (ONNX Trilu) from
opset 14. Weights are random (fixed seed); nothing is downloaded.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from tests.models.bert import init_like_hf


@dataclass
class GPT2Config:
    vocab_size: int = 50257
    hidden: int = 768
    layers: int = 12
    heads: int = 12
    positions: int = 1024
    eps: float = 1e-5
    lm_head: bool = True


TINY = GPT2Config(vocab_size=1000, hidden=128, layers=2, heads=4, positions=128)
# One GPT-2-small block (hidden 768, 12 heads) returning hidden states: the
# decoder-block benchmark model.
BLOCK = GPT2Config(layers=1, lm_head=False)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Attention(nn.Module):
    def __init__(self, c: GPT2Config, use_trilu: bool):
        super().__init__()
        self.heads, self.head_dim, self.hidden = c.heads, c.hidden // c.heads, c.hidden
        self.c_attn = nn.Linear(c.hidden, 3 * c.hidden)
        self.c_proj = nn.Linear(c.hidden, c.hidden)
        self.use_trilu = use_trilu
        self.register_buffer("bias", torch.tril(torch.ones(c.positions, c.positions, dtype=torch.bool))[None, None])

    def split_heads(self, x):
        return x.view(x.size()[:-1] + (self.heads, self.head_dim)).permute(0, 2, 1, 3)

    def forward(self, x, padding_mask):
        q, k, v = self.c_attn(x).split(self.hidden, dim=2)
        q, k, v = self.split_heads(q), self.split_heads(k), self.split_heads(v)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        s = x.size(1)
        if self.use_trilu:
            causal = torch.tril(torch.ones(s, s, dtype=torch.bool, device=x.device))
        else:
            causal = self.bias[:, :, :s, :s]
        scores = torch.where(causal, scores, torch.tensor(torch.finfo(scores.dtype).min, dtype=scores.dtype))
        probs = torch.softmax(scores + padding_mask, dim=-1)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        return self.c_proj(ctx.view(ctx.size()[:-2] + (self.hidden,)))


class Block(nn.Module):
    def __init__(self, c: GPT2Config, use_trilu: bool):
        super().__init__()
        self.ln_1 = nn.LayerNorm(c.hidden, eps=c.eps)
        self.attn = Attention(c, use_trilu)
        self.ln_2 = nn.LayerNorm(c.hidden, eps=c.eps)
        self.c_fc = nn.Linear(c.hidden, 4 * c.hidden)
        self.c_proj = nn.Linear(4 * c.hidden, c.hidden)

    def forward(self, x, padding_mask):
        x = x + self.attn(self.ln_1(x), padding_mask)
        return x + self.c_proj(gelu_new(self.c_fc(self.ln_2(x))))


class GPT2(nn.Module):
    def __init__(self, c: GPT2Config, use_trilu: bool):
        super().__init__()
        self.config = c
        self.wte = nn.Embedding(c.vocab_size, c.hidden)
        self.wpe = nn.Embedding(c.positions, c.hidden)
        self.blocks = nn.ModuleList([Block(c, use_trilu) for _ in range(c.layers)])
        self.ln_f = nn.LayerNorm(c.hidden, eps=c.eps)

    def forward(self, input_ids, attention_mask):
        position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
        padding_mask = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min
        x = self.wte(input_ids) + self.wpe(position_ids)
        for block in self.blocks:
            x = block(x, padding_mask)
        x = self.ln_f(x)
        if self.config.lm_head:
            return torch.matmul(x, self.wte.weight.t())
        return x


def build(config: GPT2Config, use_trilu: bool, seed: int = 0) -> GPT2:
    torch.manual_seed(seed)
    return init_like_hf(GPT2(config, use_trilu))


def export(path: str, config: GPT2Config, opset: int, seq: int = 16, seed: int = 0) -> None:
    model = build(config, use_trilu=opset >= 14, seed=seed)
    ids = torch.randint(0, config.vocab_size, (1, seq))
    mask = torch.ones(1, seq, dtype=torch.long)
    dyn = {0: "batch", 1: "sequence"}
    out_name = "logits" if config.lm_head else "last_hidden_state"
    with torch.no_grad():
        torch.onnx.export(model, (ids, mask), path, opset_version=opset, do_constant_folding=True,
                          input_names=["input_ids", "attention_mask"], output_names=[out_name],
                          dynamic_axes={"input_ids": dyn, "attention_mask": dyn, out_name: dyn})
