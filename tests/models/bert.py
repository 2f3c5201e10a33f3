"""HF-style BERT encoder in plain torch (no transformers package), exported to ONNX.

The module structure, names and export shape follow Hugging Face's BertModel
(embeddings with LayerNorm, per-layer Q/K/V linears, scaled-dot-product
attention with an additive mask, GELU (erf) FFN, post-LayerNorm, tanh pooler),
so the ONNX graph has the ops and patterns users' exported BERTs have:
MatMul+Add linears, Shape/Gather/Concat/Reshape chains, decomposed or fused
LayerNorm depending on the opset. Weights are random (fixed seed), drawn like
HF's init (normal, std 0.02); nothing is downloaded.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class BertConfig:
    vocab_size: int = 30522
    hidden: int = 768
    layers: int = 12
    heads: int = 12
    ffn: int = 3072
    max_positions: int = 512
    type_vocab: int = 2
    eps: float = 1e-12


BASE = BertConfig()
TINY = BertConfig(vocab_size=1000, hidden=128, layers=2, heads=4, ffn=512, max_positions=128)


class Embeddings(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden)
        self.position_embeddings = nn.Embedding(c.max_positions, c.hidden)
        self.token_type_embeddings = nn.Embedding(c.type_vocab, c.hidden)
        self.LayerNorm = nn.LayerNorm(c.hidden, eps=c.eps)
        self.register_buffer("position_ids", torch.arange(c.max_positions).unsqueeze(0))
        self.register_buffer("token_type_ids", torch.zeros(1, c.max_positions, dtype=torch.long))

    def forward(self, input_ids):
        seq = input_ids.size(1)
        pos = self.position_ids[:, :seq]
        tok = self.token_type_ids[:, :seq].expand(input_ids.size(0), seq)
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(tok) + self.position_embeddings(pos)
        return self.LayerNorm(x)


class SelfAttention(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.heads, self.head_dim = c.heads, c.hidden // c.heads
        self.query = nn.Linear(c.hidden, c.hidden)
        self.key = nn.Linear(c.hidden, c.hidden)
        self.value = nn.Linear(c.hidden, c.hidden)

    def split_heads(self, x):
        x = x.view(x.size()[:-1] + (self.heads, self.head_dim))
        return x.permute(0, 2, 1, 3)

    def forward(self, x, mask):
        q, k, v = self.split_heads(self.query(x)), self.split_heads(self.key(x)), self.split_heads(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim) + mask
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v).permute(0, 2, 1, 3).contiguous()
        return ctx.view(ctx.size()[:-2] + (self.heads * self.head_dim,))


class Layer(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.attention = SelfAttention(c)
        self.attention_output = nn.Linear(c.hidden, c.hidden)
        self.attention_norm = nn.LayerNorm(c.hidden, eps=c.eps)
        self.intermediate = nn.Linear(c.hidden, c.ffn)
        self.output = nn.Linear(c.ffn, c.hidden)
        self.output_norm = nn.LayerNorm(c.hidden, eps=c.eps)
        self.act = nn.GELU()

    def forward(self, x, mask):
        x = self.attention_norm(x + self.attention_output(self.attention(x, mask)))
        return self.output_norm(x + self.output(self.act(self.intermediate(x))))


class BertModel(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.embeddings = Embeddings(c)
        self.layers = nn.ModuleList([Layer(c) for _ in range(c.layers)])
        self.pooler = nn.Linear(c.hidden, c.hidden)

    def forward(self, input_ids, attention_mask):
        # HF's extended attention mask: 0 where attended, a large negative where masked.
        mask = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * -10000.0
        x = self.embeddings(input_ids)
        for layer in self.layers:
            x = layer(x, mask)
        return x, torch.tanh(self.pooler(x[:, 0]))


def init_like_hf(model: nn.Module) -> nn.Module:
    """HF's transformer init (normal, std 0.02) in module order; also used by gpt2.py."""
    for mod in model.modules():
        if isinstance(mod, (nn.Linear, nn.Embedding)):
            nn.init.normal_(mod.weight, std=0.02)
        if isinstance(mod, nn.Linear):
            nn.init.normal_(mod.bias, std=0.02)
        if isinstance(mod, nn.LayerNorm):
            # Non-trivial affine so LayerNorm scale/bias are exercised.
            nn.init.normal_(mod.weight, mean=1.0, std=0.05)
            nn.init.normal_(mod.bias, std=0.02)
    return model.eval()


def build(config: BertConfig, seed: int = 0) -> BertModel:
    torch.manual_seed(seed)
    return init_like_hf(BertModel(config))


def export(path: str, config: BertConfig, opset: int, seq: int = 16, seed: int = 0) -> None:
    model = build(config, seed)
    ids = torch.randint(0, config.vocab_size, (1, seq))
    mask = torch.ones(1, seq, dtype=torch.long)
    dyn = {0: "batch", 1: "sequence"}
    with torch.no_grad():
        torch.onnx.export(model, (ids, mask), path, opset_version=opset, do_constant_folding=True,
                          input_names=["input_ids", "attention_mask"],
                          output_names=["last_hidden_state", "pooler_output"],
                          dynamic_axes={"input_ids": dyn, "attention_mask": dyn,
                                        "last_hidden_state": dyn, "pooler_output": {0: "batch"}})
