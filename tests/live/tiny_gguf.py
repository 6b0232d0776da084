"""Write a tiny llama-architecture GGUF model (well under 1 MB) whose hand-set weights make it a bigram "alphabet"
model: after any prompt it answers "abcdefghijklmnopqrstuvwxyz" and stops, at any temperature and seed.

How: every layer's attention output and feed-forward down projection are zero, so the residual stream is the token
embedding. Each token embeds as one of 27 orthonormal "state" vectors (a letter, or "other"); the output row of a
letter points at the state of the letter before it (for "a": the "other" state), and the end-of-sequence row points
at "z". The winning logit leads by ~8 * SCALE, so sampling cannot pick anything else. Mean pooling is declared so
/v1/embeddings returns one vector per input.

    python tests/live/tiny_gguf.py PATH
"""

from __future__ import annotations

import string
import sys
from pathlib import Path

import gguf
import numpy as np

DIM, LAYERS, HEADS, FFN, CONTEXT = 64, 2, 4, 128, 512
SCALE = 40.0  # logit lead of the right token: exp(-8 * 40 / T) is 0 for any sane temperature T
LETTERS = string.ascii_lowercase
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
EXPECTED_ANSWER = LETTERS


def vocabulary() -> tuple[list[str], list[int]]:
    """<unk>, <s>, </s>, 256 byte-fallback tokens, then the printable ASCII characters (space as U+2581)."""
    tokens = ["<unk>", "<s>", "</s>"]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [gguf.TokenType.BYTE] * 256
    for char in string.printable[:95]:  # digits, letters, punctuation, space
        tokens.append("\u2581" if char == " " else char)
        types.append(gguf.TokenType.NORMAL)
    return tokens, [int(t) for t in types]


def weights(tokens: list[str]) -> dict[str, np.ndarray]:
    states = np.linalg.qr(np.random.default_rng(0).standard_normal((DIM, DIM)))[0][:, :27].T  # 27 orthonormal rows
    other = 26

    def state(token: str) -> int:
        return LETTERS.index(token) if len(token) == 1 and token in LETTERS else other

    embedding = np.stack([states[state(t)] for t in tokens]).astype(np.float32)
    output = np.zeros((len(tokens), DIM), dtype=np.float32)
    for i, token in enumerate(tokens):
        if len(token) == 1 and token in LETTERS:
            before = other if token == "a" else LETTERS.index(token) - 1
            output[i] = SCALE * states[before]
    output[tokens.index("</s>")] = SCALE * states[LETTERS.index("z")]
    tensors = {"token_embd.weight": embedding, "output.weight": output,
               "output_norm.weight": np.ones(DIM, dtype=np.float32)}
    rng = np.random.default_rng(1)
    for layer in range(LAYERS):
        prefix = f"blk.{layer}."
        tensors[prefix + "attn_norm.weight"] = np.ones(DIM, dtype=np.float32)
        tensors[prefix + "ffn_norm.weight"] = np.ones(DIM, dtype=np.float32)
        for name in ("attn_q", "attn_k", "attn_v"):
            tensors[prefix + name + ".weight"] = (0.02 * rng.standard_normal((DIM, DIM))).astype(np.float32)
        tensors[prefix + "attn_output.weight"] = np.zeros((DIM, DIM), dtype=np.float32)
        tensors[prefix + "ffn_gate.weight"] = (0.02 * rng.standard_normal((FFN, DIM))).astype(np.float32)
        tensors[prefix + "ffn_up.weight"] = (0.02 * rng.standard_normal((FFN, DIM))).astype(np.float32)
        tensors[prefix + "ffn_down.weight"] = np.zeros((DIM, FFN), dtype=np.float32)
    return tensors


def write(path: Path) -> Path:
    tokens, types = vocabulary()
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("inferlink-tiny-alphabet")
    writer.add_context_length(CONTEXT)
    writer.add_embedding_length(DIM)
    writer.add_block_count(LAYERS)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(HEADS)
    writer.add_rope_dimension_count(DIM // HEADS)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_pooling_type(gguf.PoolingType.MEAN)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores([0.0] * len(tokens))
    writer.add_token_types(types)
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_chat_template(CHAT_TEMPLATE)
    for name, tensor in weights(tokens).items():
        writer.add_tensor(name, tensor)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


if __name__ == "__main__":
    print(write(Path(sys.argv[1])))
