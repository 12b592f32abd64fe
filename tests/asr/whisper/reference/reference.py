#!/usr/bin/python3
"""An independent Whisper forward pass in numpy, float64 throughout.

Written from the published Whisper architecture (Radford et al., 2022, and
the model card's description of the front end), not from studioflow's C++:

  log-mel   16 kHz audio padded with zeros (or cut) to 30 s; STFT with a
            periodic Hann window of 400, hop 160, centred with reflect
            padding; power spectrum; the last frame dropped (3000 remain);
            Slaney-scale mel filters with Slaney area normalisation;
            log10 clamped at 1e-10; floored at (max - 8); (x + 4) / 4.
  encoder   conv1 (k3, p1) + GELU, conv2 (k3, stride 2, p1) + GELU,
            + position embedding, pre-LN blocks (self-attention, MLP with
            GELU), final LN.
  decoder   token + position embeddings, pre-LN blocks (causal
            self-attention, cross-attention to the encoder output, MLP),
            final LN, logits = x @ token_embedding.T.

Attention: keys have no bias; scores scaled by 1/sqrt(head dim); LayerNorm
eps 1e-5; GELU is the exact erf form.

Usage:
  reference.py --model HF_DIR --audio A.wav --tokens 50257,50362 --out DIR
writes mel.npy, encoder.npy, logits.npy (float64).
"""

import argparse
import json
import math
import os
import struct
import wave

import numpy as np

SAMPLE_RATE = 16000
N_FFT = 400
HOP = 160
N_SAMPLES = 30 * SAMPLE_RATE
N_FRAMES = N_SAMPLES // HOP
LN_EPS = 1e-5


# ------------------------------------------------------------------- inputs

def read_wav(path):
    """16-bit PCM mono 16 kHz WAV -> float64 samples in [-1, 1)."""
    with wave.open(path, "rb") as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2 or w.getframerate() != SAMPLE_RATE:
            raise SystemExit(f"{path}: need 16-bit mono {SAMPLE_RATE} Hz PCM")
        data = w.readframes(w.getnframes())
    return np.frombuffer(data, dtype="<i2").astype(np.float64) / 32768.0


def read_safetensors(path):
    """name -> float64 array; a reader of the format written from its spec."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        base = 8 + n
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    types = {"F32": np.float32, "F16": np.float16, "F64": np.float64}
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        if meta["dtype"] == "BF16":
            a, b = meta["data_offsets"]
            u16 = raw[base + a: base + b].view("<u2").astype(np.uint32) << 16
            arr = u16.view(np.float32)
        else:
            a, b = meta["data_offsets"]
            arr = raw[base + a: base + b].view(np.dtype(types[meta["dtype"]]).newbyteorder("<"))
        out[name] = arr.reshape(meta["shape"]).astype(np.float64)
    return out


# ----------------------------------------------------------------- front end

def hz_to_mel(f):
    """Slaney's mel scale: linear below 1 kHz (200/3 Hz per mel), then
    logarithmic with 27 mels per factor 6.4."""
    f = np.asarray(f, dtype=np.float64)
    f_sp = 200.0 / 3.0
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(f >= min_log_hz,
                    min_log_mel + np.log(np.maximum(f, 1e-300) / min_log_hz) / logstep,
                    f / f_sp)


def mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    f_sp = 200.0 / 3.0
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(m >= min_log_mel,
                    min_log_hz * np.exp(logstep * (m - min_log_mel)),
                    m * f_sp)


def mel_filters(n_mels, sr=SAMPLE_RATE, n_fft=N_FFT):
    """Triangular filters, n_mels x (n_fft/2+1), spaced evenly on the Slaney
    mel scale from 0 Hz to Nyquist, each scaled to unit area (2 / width)."""
    bins = np.linspace(0.0, sr / 2.0, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2.0), n_mels + 2))
    w = np.zeros((n_mels, bins.size))
    for i in range(n_mels):
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        rising = (bins - lo) / (mid - lo)
        falling = (hi - bins) / (hi - mid)
        w[i] = np.maximum(0.0, np.minimum(rising, falling)) * (2.0 / (hi - lo))
    return w


def log_mel(audio, n_mels):
    x = np.zeros(N_SAMPLES)
    n = min(audio.size, N_SAMPLES)
    x[:n] = audio[:n]
    x = np.pad(x, N_FFT // 2, mode="reflect")
    n_frames = 1 + (x.size - N_FFT) // HOP
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n_frames)[:, None]
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(N_FFT) / N_FFT)
    spec = np.fft.rfft(x[idx] * window[None, :], axis=1)
    power = (spec.real ** 2 + spec.imag ** 2)[:-1].T  # (201, 3000)
    mel = mel_filters(n_mels) @ power
    logm = np.log10(np.maximum(mel, 1e-10))
    logm = np.maximum(logm, logm.max() - 8.0)
    out = (logm + 4.0) / 4.0
    assert out.shape == (n_mels, N_FRAMES)
    return out


# -------------------------------------------------------------------- model

_erf = np.frompyfunc(math.erf, 1, 1)


def gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)).astype(np.float64))


def layer_norm(x, w, b):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + LN_EPS) * w + b


def softmax(s):
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


def attention(W, prefix, x, source, n_heads, causal):
    """Multi-head attention of queries from x over keys/values from source."""
    q = x @ W[f"{prefix}.q_proj.weight"].T + W[f"{prefix}.q_proj.bias"]
    k = source @ W[f"{prefix}.k_proj.weight"].T
    v = source @ W[f"{prefix}.v_proj.weight"].T + W[f"{prefix}.v_proj.bias"]
    t, d = q.shape
    s = k.shape[0]
    dh = d // n_heads
    q = q.reshape(t, n_heads, dh).transpose(1, 0, 2)
    k = k.reshape(s, n_heads, dh).transpose(1, 0, 2)
    v = v.reshape(s, n_heads, dh).transpose(1, 0, 2)
    scores = q @ k.transpose(0, 2, 1) / math.sqrt(dh)
    if causal:
        scores = scores + np.triu(np.full((t, s), -np.inf), k=1)[None]
    o = (softmax(scores) @ v).transpose(1, 0, 2).reshape(t, d)
    return o @ W[f"{prefix}.out_proj.weight"].T + W[f"{prefix}.out_proj.bias"]


def mlp(W, prefix, x):
    h = gelu(x @ W[f"{prefix}.fc1.weight"].T + W[f"{prefix}.fc1.bias"])
    return h @ W[f"{prefix}.fc2.weight"].T + W[f"{prefix}.fc2.bias"]


def conv1d(x, w, b, stride):
    """x: (C_in, T); w: (C_out, C_in, 3); padding 1."""
    c_in, t = x.shape
    xp = np.pad(x, ((0, 0), (1, 1)))
    t_out = (t + 2 - 3) // stride + 1
    cols = np.stack([xp[:, k: k + stride * (t_out - 1) + 1: stride] for k in range(3)], axis=2)
    # cols: (C_in, T_out, 3) -> (T_out, C_in*3)
    cols = cols.transpose(1, 0, 2).reshape(t_out, c_in * 3)
    return (cols @ w.reshape(w.shape[0], -1).T + b).T  # (C_out, T_out)


def encoder(W, cfg, mel):
    x = gelu(conv1d(mel, W["model.encoder.conv1.weight"], W["model.encoder.conv1.bias"], 1))
    x = gelu(conv1d(x, W["model.encoder.conv2.weight"], W["model.encoder.conv2.bias"], 2))
    x = x.T + W["model.encoder.embed_positions.weight"]
    heads = cfg["encoder_attention_heads"]
    for i in range(cfg["encoder_layers"]):
        p = f"model.encoder.layers.{i}"
        h = layer_norm(x, W[f"{p}.self_attn_layer_norm.weight"], W[f"{p}.self_attn_layer_norm.bias"])
        x = x + attention(W, f"{p}.self_attn", h, h, heads, causal=False)
        h = layer_norm(x, W[f"{p}.final_layer_norm.weight"], W[f"{p}.final_layer_norm.bias"])
        x = x + mlp(W, p, h)
    return layer_norm(x, W["model.encoder.layer_norm.weight"], W["model.encoder.layer_norm.bias"])


def decoder(W, cfg, tokens, enc):
    tokens = np.asarray(tokens)
    emb = W["model.decoder.embed_tokens.weight"]
    x = emb[tokens] + W["model.decoder.embed_positions.weight"][: tokens.size]
    heads = cfg["decoder_attention_heads"]
    for i in range(cfg["decoder_layers"]):
        p = f"model.decoder.layers.{i}"
        h = layer_norm(x, W[f"{p}.self_attn_layer_norm.weight"], W[f"{p}.self_attn_layer_norm.bias"])
        x = x + attention(W, f"{p}.self_attn", h, h, heads, causal=True)
        h = layer_norm(x, W[f"{p}.encoder_attn_layer_norm.weight"], W[f"{p}.encoder_attn_layer_norm.bias"])
        x = x + attention(W, f"{p}.encoder_attn", h, enc, heads, causal=False)
        h = layer_norm(x, W[f"{p}.final_layer_norm.weight"], W[f"{p}.final_layer_norm.bias"])
        x = x + mlp(W, p, h)
    x = layer_norm(x, W["model.decoder.layer_norm.weight"], W["model.decoder.layer_norm.bias"])
    return x @ emb.T


def run(model_dir, audio_path, tokens):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    W = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    mel = log_mel(read_wav(audio_path), cfg["num_mel_bins"])
    enc = encoder(W, cfg, mel)
    logits = decoder(W, cfg, tokens, enc)
    return mel, enc, logits


def main():
    ap = argparse.ArgumentParser(description="numpy float64 Whisper reference")
    ap.add_argument("--model", required=True, help="Hugging Face folder")
    ap.add_argument("--audio", required=True, help="16 kHz mono s16 WAV")
    ap.add_argument("--tokens", required=True, help="comma-separated token ids")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    tokens = [int(t) for t in a.tokens.split(",")]
    mel, enc, logits = run(a.model, a.audio, tokens)
    os.makedirs(a.out, exist_ok=True)
    np.save(os.path.join(a.out, "mel.npy"), mel)
    np.save(os.path.join(a.out, "encoder.npy"), enc)
    np.save(os.path.join(a.out, "logits.npy"), logits)


if __name__ == "__main__":
    main()
