"""Byte-level BPE (GPT-2 style): trainer, reference encoder and Hugging Face tokenizer.json writer.

Vocabulary layout: id 0 = <|endoftext|> (special, BOS/EOS), ids 1..256 = the 256 bytes
(id = 1 + byte value, spelled with GPT-2's bytes_to_unicode alphabet), then one id per
merge in merge order.

Pre-tokenisation is the GPT-2 regex. JavaScript's `\\s` and Python regex's `\\s` differ on a
few code points (U+FEFF, U+0085, U+001C..U+001F), so the Python side spells out the exact
set that JavaScript's `\\s` matches; the JS tokenizer (@huggingface/tokenizers,
transformers.js) runs the pattern with the `u` flag.
"""
from __future__ import annotations

import heapq
import json
from collections import Counter, defaultdict
from typing import Dict, Iterable, List, Sequence, Tuple

import regex

EOT = "<|endoftext|>"

# Exactly the code points JavaScript's \s matches (WhiteSpace + LineTerminator, Zs included).
_JS_WS = "\\t\\n\\x0b\\x0c\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
GPT2_PATTERN = (
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+"
    + r"| ?[^" + _JS_WS + r"\p{L}\p{N}]+"
    + r"|[" + _JS_WS + r"]+(?![^" + _JS_WS + r"])"
    + r"|[" + _JS_WS + r"]+"
)
PAT = regex.compile(GPT2_PATTERN)


def bytes_to_unicode() -> Dict[int, str]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_ENC = bytes_to_unicode()


def pretokenize(text: str) -> List[str]:
    return PAT.findall(text)


def count_words(texts: Iterable[str]) -> Counter:
    c: Counter = Counter()
    for t in texts:
        c.update(PAT.findall(t))
    return c


def train_bpe(word_counts: Dict[str, int], vocab_size: int, min_frequency: int = 2, log_every: int = 0):
    """Returns merges as a list of (id_a, id_b); merge k creates id 257 + k."""
    words: List[List[int]] = []
    counts: List[int] = []
    for w, c in word_counts.items():
        b = w.encode("utf-8")
        if not b:
            continue
        words.append([1 + x for x in b])
        counts.append(c)
    pair_counts: Dict[Tuple[int, int], int] = defaultdict(int)
    where: Dict[Tuple[int, int], set] = defaultdict(set)
    for i, (w, c) in enumerate(zip(words, counts)):
        for p in zip(w, w[1:]):
            pair_counts[p] += c
            where[p].add(i)
    heap = [(-c, p) for p, c in pair_counts.items()]
    heapq.heapify(heap)
    merges: List[Tuple[int, int]] = []
    n_merges = vocab_size - 257
    while len(merges) < n_merges and heap:
        negc, pair = heapq.heappop(heap)
        cur = pair_counts.get(pair, 0)
        if cur != -negc:
            continue  # stale entry
        if cur < min_frequency:
            break
        new_id = 257 + len(merges)
        merges.append(pair)
        a, b = pair
        changed = set()
        for i in list(where.get(pair, ())):
            w = words[i]
            c = counts[i]
            # remove old pairs
            for p in zip(w, w[1:]):
                pair_counts[p] -= c
                changed.add(p)
            nw = []
            j = 0
            L = len(w)
            while j < L:
                if j + 1 < L and w[j] == a and w[j + 1] == b:
                    nw.append(new_id)
                    j += 2
                else:
                    nw.append(w[j])
                    j += 1
            words[i] = nw
            for p in zip(w, w[1:]):
                s = where.get(p)
                if s is not None:
                    s.discard(i)
            for p in zip(nw, nw[1:]):
                pair_counts[p] += c
                where[p].add(i)
                changed.add(p)
        pair_counts.pop(pair, None)
        where.pop(pair, None)
        changed.discard(pair)
        for p in changed:
            cnt = pair_counts.get(p, 0)
            if cnt > 0:
                heapq.heappush(heap, (-cnt, p))
            else:
                pair_counts.pop(p, None)
                where.pop(p, None)
        if log_every and len(merges) % log_every == 0:
            print(f"  merges {len(merges)}/{n_merges} (last count {cur})", flush=True)
    return merges


class ByteBPE:
    """Reference encoder: same algorithm as GPT-2 / HF BPE (lowest merge rank first)."""

    def __init__(self, merges: Sequence[Tuple[int, int]]):
        self.merges = [tuple(m) for m in merges]
        self.ranks = {p: r for r, p in enumerate(self.merges)}
        self.vocab_size = 257 + len(self.merges)
        self.token_bytes: List[bytes] = [EOT.encode()] + [bytes([b]) for b in range(256)]
        for a, b in self.merges:
            self.token_bytes.append(self.token_bytes[a] + self.token_bytes[b])
        self.cache: Dict[str, List[int]] = {}

    def token_str(self, i: int) -> str:
        if i == 0:
            return EOT
        return "".join(BYTE_ENC[x] for x in self.token_bytes[i])

    def _bpe(self, word: str) -> List[int]:
        w = [1 + x for x in word.encode("utf-8")]
        ranks = self.ranks
        while len(w) > 1:
            best = None
            best_r = None
            for p in zip(w, w[1:]):
                r = ranks.get(p)
                if r is not None and (best_r is None or r < best_r):
                    best, best_r = p, r
            if best is None:
                break
            a, b = best
            new_id = 257 + best_r
            nw = []
            j = 0
            L = len(w)
            while j < L:
                if j + 1 < L and w[j] == a and w[j + 1] == b:
                    nw.append(new_id)
                    j += 2
                else:
                    nw.append(w[j])
                    j += 1
            w = nw
        return w

    def encode(self, text: str) -> List[int]:
        out: List[int] = []
        cache = self.cache
        for word in PAT.findall(text):
            ids = cache.get(word)
            if ids is None:
                ids = self._bpe(word)
                if len(cache) < 2_000_000:
                    cache[word] = ids
            out.extend(ids)
        return out

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        return b"".join(self.token_bytes[i] for i in ids)

    def decode(self, ids: Iterable[int]) -> str:
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    # ---- Hugging Face files -------------------------------------------------------
    def tokenizer_json(self) -> dict:
        vocab = {self.token_str(i): i for i in range(self.vocab_size)}
        assert len(vocab) == self.vocab_size, "duplicate token strings"
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [
                {"id": 0, "content": EOT, "single_word": False, "lstrip": False, "rstrip": False,
                 "normalized": False, "special": True}
            ],
            "normalizer": None,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
            "post_processor": None,
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {
                "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                "vocab": vocab,
                "merges": [self.token_str(a) + " " + self.token_str(b) for a, b in self.merges],
            },
        }

    @staticmethod
    def tokenizer_config(model_max_length: int) -> dict:
        return {
            "tokenizer_class": "GPT2Tokenizer",
            "bos_token": EOT, "eos_token": EOT, "unk_token": EOT,
            "add_bos_token": False, "add_prefix_space": False,
            "clean_up_tokenization_spaces": False,
            "model_max_length": model_max_length,
            "added_tokens_decoder": {"0": {"content": EOT, "lstrip": False, "normalized": False, "rstrip": False,
                                           "single_word": False, "special": True}},
        }

    def save(self, folder: str, model_max_length: int) -> None:
        import os
        with open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(self.tokenizer_json(), f, ensure_ascii=False, indent=None)
        with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(self.tokenizer_config(model_max_length), f, indent=2)
            f.write("\n")

    @staticmethod
    def load(tokenizer_json_path: str) -> "ByteBPE":
        with open(tokenizer_json_path, encoding="utf-8") as f:
            tj = json.load(f)
        vocab = tj["model"]["vocab"]
        merges = []
        for m in tj["model"]["merges"]:
            a, b = m.split(" ") if isinstance(m, str) else m
            merges.append((vocab[a], vocab[b]))
        bpe = ByteBPE(merges)
        for i, (a, b) in enumerate(merges):
            assert vocab[bpe.token_str(257 + i)] == 257 + i
        return bpe
