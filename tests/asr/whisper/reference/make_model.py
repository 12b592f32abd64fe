#!/usr/bin/python3
"""Writes a random-weight Whisper model with the real shapes of a named size.

Two containers of the same weights:
  * a Hugging Face folder: config.json, generation_config.json,
    model.safetensors (f32 or f16), vocab.json, merges.txt,
    added_tokens.json, special_tokens_map.json, tokenizer_config.json;
  * a whisper.cpp ggml file (f32 or f16).

The tokenizer is synthetic but well formed: 256 byte tokens in the byte-level
alphabet, then BPE merges built from a fixed pseudo-random process, then the
special tokens at the ids the real tokenizers use.

Every tensor is drawn from its own generator seeded from (seed, name), so a
tensor's values do not depend on which other tensors are written or in which
order. Tensors are generated and written one at a time: memory stays at the
size of the largest tensor even for the large shapes.

Usage:
  make_model.py --size tiny --dtype f32 --hf-out DIR --ggml-out FILE
Sizes medium and larger write files of several GB and need --allow-large.
"""

import argparse
import json
import os
import struct
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference  # noqa: E402  (for the mel filter bank)

# name -> (d_model, heads, encoder layers, decoder layers, mel bins, vocab)
SIZES = {
    "tiny": (384, 6, 4, 4, 80, 51865),
    "base": (512, 8, 6, 6, 80, 51865),
    "small": (768, 12, 12, 12, 80, 51865),
    "medium": (1024, 16, 24, 24, 80, 51865),
    "large-v1": (1280, 20, 32, 32, 80, 51865),
    "large-v2": (1280, 20, 32, 32, 80, 51865),
    "large-v3": (1280, 20, 32, 32, 128, 51866),
    "large-v3-turbo": (1280, 20, 32, 4, 128, 51866),
}
for _n in ("tiny", "base", "small", "medium"):
    _s = SIZES[_n]
    SIZES[_n + ".en"] = _s[:5] + (51864,)

SMALL_ENOUGH = {"tiny", "tiny.en", "base", "base.en", "small", "small.en"}

# Whisper's language codes in token order; v3 adds "yue" at the end.
LANGUAGES = (
    "en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms "
    "cs ro da hu ta no th ur hr bg lt la mi ml cy sk te fa lv bn sr az sl kn "
    "et mk br eu is hy ne mn bs kk sq sw gl mr pa si km sn yo so af oc ka be "
    "tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl mg as tt haw ln ha "
    "ba jw su yue"
).split()

N_TIMESTAMPS = 1501  # <|0.00|> .. <|30.00|> in steps of 0.02 s
N_AUDIO_CTX = 1500
N_TEXT_CTX = 448


def special_ids(vocab_size):
    """The layout of the special tokens for a vocabulary size.

    English-only (51864): 50256 regular tokens, <|endoftext|> 50256.
    Multilingual (51865, 51866 for v3): 50257 regular tokens, <|endoftext|>
    50257. Then <|startoftranscript|>, one token per language, the six task
    and control tokens, and 1501 timestamp tokens filling the vocabulary.
    """
    multilingual = vocab_size >= 51865
    n_regular = 50257 if multilingual else 50256
    n_langs = vocab_size - n_regular - 1 - 1 - 6 - N_TIMESTAMPS
    if not 0 < n_langs <= len(LANGUAGES):
        raise ValueError(f"vocab size {vocab_size} has no Whisper layout")
    eot = n_regular
    sot = eot + 1
    lang0 = sot + 1
    after = lang0 + n_langs
    ids = {
        "n_regular": n_regular,
        "multilingual": multilingual,
        "eot": eot,
        "sot": sot,
        "languages": {LANGUAGES[i]: lang0 + i for i in range(n_langs)},
        "translate": after,
        "transcribe": after + 1,
        "startoflm": after + 2,
        "startofprev": after + 3,
        "nocaptions": after + 4,
        "notimestamps": after + 5,
        "timestamp_begin": after + 6,
    }
    assert ids["timestamp_begin"] + N_TIMESTAMPS == vocab_size
    return ids


def hparams(size):
    d, heads, enc_layers, dec_layers, n_mels, vocab = SIZES[size]
    return dict(d=d, heads=heads, enc_layers=enc_layers, dec_layers=dec_layers,
                n_mels=n_mels, vocab=vocab)


# ---------------------------------------------------------------- tokenizer

def byte_alphabet():
    """Byte-level BPE's printable stand-in for each of the 256 byte values.

    Bytes that are printable and not whitespace stand for themselves; the
    rest are mapped in ascending order onto code points from 256 up. The
    list order (printables first) fixes the byte tokens' ids, which puts the
    space byte at id 220.
    """
    printable = (list(range(ord("!"), ord("~") + 1))
                 + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1)))
    order = list(printable)
    chars = [chr(b) for b in printable]
    extra = 0
    for b in range(256):
        if b not in printable:
            order.append(b)
            chars.append(chr(256 + extra))
            extra += 1
    return order, chars  # order[i] is the byte of token i, chars[i] its text


def synthetic_bpe(n_regular, seed=1234):
    """Returns (tokens, merges): tokens[i] is token i's byte-level text.

    Every token past the 256 byte tokens is the concatenation of exactly one
    earlier merge pair, both parts earlier tokens, as real BPE vocabularies
    are. Letters and the space marker are favoured so pieces look like
    words ("Ġthe"-like), and pieces stay short.
    """
    rng = np.random.default_rng(seed)
    _, chars = byte_alphabet()
    tokens = list(chars)
    known = set(tokens)
    merges = []
    space = chars[220]
    letters = [c for c in "etaoinshrdlucmfwypvbgkjqxz"]
    weights = np.array([12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0,
                        2.8, 2.8, 2.4, 2.2, 2.0, 2.0, 1.9, 1.0, 1.0, 1.5, 0.8,
                        0.2, 0.2, 0.1, 0.1])
    weights = weights / weights.sum()
    # A pool of recent tokens the merges prefer to extend, so longer pieces
    # grow out of shorter ones.
    while len(tokens) < n_regular:
        r = rng.random()
        if r < 0.35:
            a = rng.choice(letters, p=weights)
            b = rng.choice(letters, p=weights)
        elif r < 0.5:
            a = space
            b = tokens[rng.integers(256, len(tokens))] if len(tokens) > 256 \
                else rng.choice(letters, p=weights)
        elif r < 0.97 and len(tokens) > 256:
            a = tokens[rng.integers(256, len(tokens))]
            b = tokens[rng.integers(256, len(tokens))] if rng.random() < 0.3 \
                else rng.choice(letters, p=weights)
        else:
            a = chars[rng.integers(0, 256)]
            b = chars[rng.integers(0, 256)]
        if space in b:  # the space marker only begins a piece
            continue
        new = a + b
        if new in known or len(new) > 14:
            continue
        known.add(new)
        tokens.append(new)
        merges.append((a, b))
    return tokens, merges


def timestamp_text(i):
    return "<|%.2f|>" % (i * 0.02)


def special_texts(ids):
    """(id, text) for every token from <|endoftext|> to the last timestamp."""
    out = [(ids["eot"], "<|endoftext|>"), (ids["sot"], "<|startoftranscript|>")]
    for code, i in ids["languages"].items():
        out.append((i, f"<|{code}|>"))
    out += [(ids["translate"], "<|translate|>"),
            (ids["transcribe"], "<|transcribe|>"),
            (ids["startoflm"], "<|startoflm|>"),
            (ids["startofprev"], "<|startofprev|>"),
            (ids["nocaptions"], "<|nocaptions|>"),
            (ids["notimestamps"], "<|notimestamps|>")]
    for k in range(N_TIMESTAMPS):
        out.append((ids["timestamp_begin"] + k, timestamp_text(k)))
    return out


def suppress_tokens(tokens, ids):
    """Token ids Whisper suppresses: the single-token symbols (also with a
    leading space) that rarely belong in a transcript, plus the control
    tokens a sampler must never produce."""
    index = {t: i for i, t in enumerate(tokens)}
    order, chars = byte_alphabet()
    to_text = {b: chars[i] for i, b in enumerate(order)}
    space = to_text[32]
    symbols = list('"#()*+/:;<=>@[\\]^_`{|}~') + ["「", "」", "『", "』", "<<",
                                                   ">>", "<<<", ">>>", "--",
                                                   "---", "-(", "-[", "('",
                                                   '("', "((", "))", "(((",
                                                   ")))", "[[", "]]", "{{",
                                                   "}}", "♪♪", "♪♪♪"]
    out = set()
    for s in symbols:
        text = "".join(to_text[b] for b in s.encode("utf-8"))
        for cand in (text, space + text):
            if cand in index:
                out.add(index[cand])
    for s in ("-", "'"):
        cand = space + to_text[ord(s)]
        if cand in index:
            out.add(index[cand])
    out |= {ids["translate"], ids["transcribe"], ids["sot"], ids["startoflm"],
            ids["startofprev"], ids["nocaptions"]}
    return sorted(out)


def write_tokenizer(folder, ids, tokens, merges, suppress, hp):
    vocab = {t: i for i, t in enumerate(tokens)}
    vocab["<|endoftext|>"] = ids["eot"]
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(f"{a} {b}\n")
    added = {text: i for i, text in special_texts(ids)}
    with open(os.path.join(folder, "added_tokens.json"), "w", encoding="utf-8") as f:
        json.dump(added, f, ensure_ascii=False, indent=2)
    specials = [t for i, t in special_texts(ids)
                if not t.startswith("<|") or not t[2].isdigit()]
    with open(os.path.join(folder, "special_tokens_map.json"), "w") as f:
        json.dump({"additional_special_tokens": specials[1:],
                   "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
                   "pad_token": "<|endoftext|>", "unk_token": "<|endoftext|>"},
                  f, indent=2)
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "WhisperTokenizer",
                   "model_max_length": 1024, "errors": "replace",
                   "add_prefix_space": False,
                   "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
                   "pad_token": "<|endoftext|>", "unk_token": "<|endoftext|>"},
                  f, indent=2)


# ------------------------------------------------------------------ configs

def alignment_heads(hp):
    """A fixed choice of heads from the upper half of the decoder layers."""
    rng = np.random.default_rng(99)
    layers = hp["dec_layers"]
    heads = []
    for layer in range(layers // 2, layers):
        for h in sorted(rng.choice(hp["heads"], size=2, replace=False)):
            heads.append([int(layer), int(h)])
    return heads


def write_configs(folder, size, hp, ids, suppress, dtype):
    begin_suppress = [220, ids["eot"]]
    if ids["multilingual"]:
        forced = [[1, None], [2, ids["transcribe"]]]
    else:
        forced = [[1, ids["notimestamps"]]]
    config = {
        "_name_or_path": f"openai/whisper-{size}",
        "activation_dropout": 0.0,
        "activation_function": "gelu",
        "apply_spec_augment": False,
        "architectures": ["WhisperForConditionalGeneration"],
        "attention_dropout": 0.0,
        "begin_suppress_tokens": begin_suppress,
        "bos_token_id": ids["eot"],
        "classifier_proj_size": 256,
        "d_model": hp["d"],
        "decoder_attention_heads": hp["heads"],
        "decoder_ffn_dim": 4 * hp["d"],
        "decoder_layerdrop": 0.0,
        "decoder_layers": hp["dec_layers"],
        "decoder_start_token_id": ids["sot"],
        "dropout": 0.0,
        "encoder_attention_heads": hp["heads"],
        "encoder_ffn_dim": 4 * hp["d"],
        "encoder_layerdrop": 0.0,
        "encoder_layers": hp["enc_layers"],
        "eos_token_id": ids["eot"],
        "forced_decoder_ids": forced,
        "init_std": 0.02,
        "is_encoder_decoder": True,
        "max_length": N_TEXT_CTX,
        "max_source_positions": N_AUDIO_CTX,
        "max_target_positions": N_TEXT_CTX,
        "median_filter_width": 7,
        "model_type": "whisper",
        "num_hidden_layers": hp["enc_layers"],
        "num_mel_bins": hp["n_mels"],
        "pad_token_id": ids["eot"],
        "scale_embedding": False,
        "suppress_tokens": suppress,
        "torch_dtype": "float32" if dtype == "f32" else "float16",
        "transformers_version": "4.40.0",
        "use_cache": True,
        "use_weighted_layer_sum": False,
        "vocab_size": hp["vocab"],
    }
    gen = {
        "alignment_heads": alignment_heads(hp),
        "begin_suppress_tokens": begin_suppress,
        "bos_token_id": ids["eot"],
        "decoder_start_token_id": ids["sot"],
        "eos_token_id": ids["eot"],
        "forced_decoder_ids": forced,
        "is_multilingual": ids["multilingual"],
        "max_initial_timestamp_index": 50,
        "max_length": N_TEXT_CTX,
        "no_timestamps_token_id": ids["notimestamps"],
        "pad_token_id": ids["eot"],
        "prev_sot_token_id": ids["startofprev"],
        "return_timestamps": False,
        "suppress_tokens": suppress,
        "transformers_version": "4.40.0",
    }
    if ids["multilingual"]:
        gen["lang_to_id"] = {f"<|{c}|>": i for c, i in ids["languages"].items()}
        gen["task_to_id"] = {"transcribe": ids["transcribe"],
                             "translate": ids["translate"]}
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(folder, "generation_config.json"), "w") as f:
        json.dump(gen, f, indent=2)


# ------------------------------------------------------------------ weights

def tensor_specs(hp):
    """(HF name, ggml name, shape, kind) for every tensor, in file order."""
    d, m, v = hp["d"], hp["n_mels"], hp["vocab"]
    specs = [
        ("model.encoder.conv1.weight", "encoder.conv1.weight", (d, m, 3), "conv1"),
        ("model.encoder.conv1.bias", "encoder.conv1.bias", (d,), "bias"),
        ("model.encoder.conv2.weight", "encoder.conv2.weight", (d, d, 3), "conv2"),
        ("model.encoder.conv2.bias", "encoder.conv2.bias", (d,), "bias"),
        ("model.encoder.embed_positions.weight", "encoder.positional_embedding",
         (N_AUDIO_CTX, d), "sinusoid"),
    ]

    def attn(hf, gg, cross_ok=True):
        out = []
        for hp_name, gg_name, bias in (("q_proj", "query", True),
                                       ("k_proj", "key", False),
                                       ("v_proj", "value", True),
                                       ("out_proj", "out", True)):
            out.append((f"{hf}.{hp_name}.weight", f"{gg}.{gg_name}.weight", (d, d), "linear"))
            if bias:
                out.append((f"{hf}.{hp_name}.bias", f"{gg}.{gg_name}.bias", (d,), "bias"))
        return out

    def ln(hf, gg):
        return [(f"{hf}.weight", f"{gg}.weight", (d,), "ln_w"),
                (f"{hf}.bias", f"{gg}.bias", (d,), "bias")]

    def mlp(hf, gg):
        return [(f"{hf}.fc1.weight", f"{gg}.mlp.0.weight", (4 * d, d), "linear"),
                (f"{hf}.fc1.bias", f"{gg}.mlp.0.bias", (4 * d,), "bias"),
                (f"{hf}.fc2.weight", f"{gg}.mlp.2.weight", (d, 4 * d), "linear"),
                (f"{hf}.fc2.bias", f"{gg}.mlp.2.bias", (d,), "bias")]

    for i in range(hp["enc_layers"]):
        hf, gg = f"model.encoder.layers.{i}", f"encoder.blocks.{i}"
        specs += ln(f"{hf}.self_attn_layer_norm", f"{gg}.attn_ln")
        specs += attn(f"{hf}.self_attn", f"{gg}.attn")
        specs += ln(f"{hf}.final_layer_norm", f"{gg}.mlp_ln")
        specs += mlp(hf, gg)
    specs += ln("model.encoder.layer_norm", "encoder.ln_post")
    specs += [
        ("model.decoder.embed_tokens.weight", "decoder.token_embedding.weight",
         (v, d), "embed"),
        ("model.decoder.embed_positions.weight", "decoder.positional_embedding",
         (N_TEXT_CTX, d), "pos"),
    ]
    for i in range(hp["dec_layers"]):
        hf, gg = f"model.decoder.layers.{i}", f"decoder.blocks.{i}"
        specs += ln(f"{hf}.self_attn_layer_norm", f"{gg}.attn_ln")
        specs += attn(f"{hf}.self_attn", f"{gg}.attn")
        specs += ln(f"{hf}.encoder_attn_layer_norm", f"{gg}.cross_attn_ln")
        specs += attn(f"{hf}.encoder_attn", f"{gg}.cross_attn")
        specs += ln(f"{hf}.final_layer_norm", f"{gg}.mlp_ln")
        specs += mlp(hf, gg)
    specs += ln("model.decoder.layer_norm", "decoder.ln")
    return specs


def sinusoids(length, channels):
    """Whisper's fixed encoder position code: sin then cos over geometric
    timescales from 1 to 10000."""
    half = channels // 2
    inc = np.log(10000.0) / (half - 1)
    inv = np.exp(-inc * np.arange(half))
    t = np.arange(length)[:, None] * inv[None, :]
    return np.concatenate([np.sin(t), np.cos(t)], axis=1)


def make_tensor(name, shape, kind, seed, dtype):
    """Deterministic values for one tensor, already rounded to `dtype`.

    Scales keep activations O(1) through every layer: linear and conv
    weights have std 1/sqrt(fan_in) (so a projection of a unit-variance
    input has unit variance), layer norm gains are near 1, biases small,
    embeddings at the magnitude of trained Whisper models.
    """
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    if kind == "sinusoid":
        x = sinusoids(*shape).astype(np.float32)
    else:
        x = rng.standard_normal(shape, dtype=np.float32)
        if kind == "linear":
            x *= 1.0 / np.sqrt(shape[1])
        elif kind in ("conv1", "conv2"):
            x *= 1.0 / np.sqrt(shape[1] * shape[2])
        elif kind == "bias":
            x *= 0.02
        elif kind == "ln_w":
            x = 1.0 + 0.1 * x
        elif kind == "embed":
            x *= 0.05
        elif kind == "pos":
            x *= 0.02
        else:
            raise ValueError(kind)
    return x.astype(np.float16 if dtype == "f16" else np.float32)


def write_safetensors(path, hp, seed, dtype):
    specs = tensor_specs(hp)
    itemsize = 2 if dtype == "f16" else 4
    header = {"__metadata__": {"format": "pt"}}
    offset = 0
    for hf, _, shape, _ in specs:
        n = int(np.prod(shape)) * itemsize
        header[hf] = {"dtype": "F16" if dtype == "f16" else "F32",
                      "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for hf, _, shape, kind in specs:
            f.write(np.ascontiguousarray(make_tensor(hf, shape, kind, seed, dtype)).tobytes())
    os.replace(tmp, path)


def write_ggml(path, hp, seed, dtype, tokens):
    """whisper.cpp's ggml container. As whisper.cpp's own converter does,
    f16 files keep 1-D tensors, conv biases and positional embeddings in
    f32 (holding the same f16-rounded values as the safetensors file)."""
    order, chars = byte_alphabet()
    byte_of = {c: order[i] for i, c in enumerate(chars)}
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<i", 0x67676D6C))
        f.write(struct.pack("<11i", hp["vocab"], N_AUDIO_CTX, hp["d"], hp["heads"],
                            hp["enc_layers"], N_TEXT_CTX, hp["d"], hp["heads"],
                            hp["dec_layers"], hp["n_mels"], 1 if dtype == "f16" else 0))
        filters = reference.mel_filters(hp["n_mels"]).astype(np.float32)
        f.write(struct.pack("<ii", filters.shape[0], filters.shape[1]))
        f.write(filters.tobytes())
        f.write(struct.pack("<i", len(tokens)))
        for t in tokens:
            raw = bytes(byte_of[c] for c in t)
            f.write(struct.pack("<i", len(raw)))
            f.write(raw)
        for hf, gg, shape, kind in tensor_specs(hp):
            x = make_tensor(hf, shape, kind, seed, dtype)
            if gg in ("encoder.conv1.bias", "encoder.conv2.bias"):
                x = x.reshape(shape[0], 1)
            keep_f16 = dtype == "f16" and x.ndim >= 2 and kind not in (
                "bias", "sinusoid", "pos")
            x = x.astype(np.float16 if keep_f16 else np.float32)
            name = gg.encode()
            f.write(struct.pack("<iii", x.ndim, len(name), 1 if keep_f16 else 0))
            f.write(struct.pack("<%di" % x.ndim, *reversed(x.shape)))
            f.write(name)
            f.write(np.ascontiguousarray(x).tobytes())
    os.replace(tmp, path)


def make(size, dtype, hf_out=None, ggml_out=None, seed=0, allow_large=False):
    if size not in SIZES:
        raise SystemExit(f"unknown size {size!r}; known: {', '.join(sorted(SIZES))}")
    if size not in SMALL_ENOUGH and not allow_large:
        raise SystemExit(f"{size} writes several GB; pass --allow-large to do it")
    hp = hparams(size)
    ids = special_ids(hp["vocab"])
    tokens, merges = synthetic_bpe(ids["n_regular"])
    if hf_out:
        os.makedirs(hf_out, exist_ok=True)
        suppress = suppress_tokens(tokens, ids)
        write_configs(hf_out, size, hp, ids, suppress, dtype)
        write_tokenizer(hf_out, ids, tokens, merges, suppress, hp)
        write_safetensors(os.path.join(hf_out, "model.safetensors"), hp, seed, dtype)
    if ggml_out:
        parent = os.path.dirname(os.path.abspath(ggml_out))
        os.makedirs(parent, exist_ok=True)
        write_ggml(ggml_out, hp, seed, dtype, tokens)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", required=True, choices=sorted(SIZES))
    ap.add_argument("--dtype", default="f32", choices=["f32", "f16"])
    ap.add_argument("--hf-out", help="folder for the Hugging Face files")
    ap.add_argument("--ggml-out", help="path of the ggml .bin file")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--allow-large", action="store_true")
    a = ap.parse_args()
    if not a.hf_out and not a.ggml_out:
        ap.error("give --hf-out and/or --ggml-out")
    make(a.size, a.dtype, a.hf_out, a.ggml_out, a.seed, a.allow_large)


if __name__ == "__main__":
    main()
