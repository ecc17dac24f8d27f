"""Token counting speed: a ~100k-token prompt with tiktoken o200k and the local model's vocabulary,
and exact counts in a 10,000-cell plan.

    python benchmarks/bench_tokens.py

Prints one line per figure (a figure is skipped when its tokenizer is not installed).
"""

from __future__ import annotations

import time

import pandas as pd

import workbench as wb
from workbench.config import get_settings
from workbench.engine.plan import make_plan
from workbench.models import count_tokens
from workbench.models.resolved import _COUNTS
from workbench.tokens.gguf import load_local_tokenizer
from workbench.tokens.tiktoken_offline import load_tiktoken

PARAGRAPH = (
    "Prompt budgets matter: a 1,000-row dataset at 2.5k tokens each costs real money! "
    "Naïve estimates (≈4 chars/token) drift on code, numbers & non-English text — 日本語, émojis 🎉.\n"
)


def main() -> None:
    text = PARAGRAPH * 1900
    messages = [{"role": "system", "content": "Summarise."}, {"role": "user", "content": text}]
    for model in ("openai/gpt-6.2-sol", "local/smollm2"):
        load_tiktoken.cache_clear()
        load_local_tokenizer.cache_clear()
        _COUNTS.clear()
        start = time.perf_counter()
        probe = count_tokens(model, [{"role": "user", "content": "hi"}])
        if not probe.exact:
            print(f"{model}: skipped ({probe.method})")
            continue
        print(f"{model} tokenizer load ({probe.method}): {time.perf_counter() - start:.3f} s")
        start = time.perf_counter()
        count = count_tokens(model, messages, with_offsets=False)
        seconds = time.perf_counter() - start
        print(f"{model} count of a {count.total:,}-token prompt: {seconds:.3f} s")
        start = time.perf_counter()
        count_tokens(model, [*messages[:1], {"role": "user", "content": text + "."}])
        print(f"{model} same with offsets for segments: {time.perf_counter() - start:.3f} s")
    rows = [f"Question {i}: what is the capital of country {i * 7}?" for i in range(10_000)]
    df = pd.DataFrame({"q": rows})
    for model in ("fake/echo", "openai/gpt-6.2-sol", "local/smollm2"):
        v = wb.Variant("a", model=model, system="Answer in one word.", user="{{ q }}")
        make_plan(wb.Dataset(df.head(2)), [v], 1, get_settings())  # load the tokenizer first
        start = time.perf_counter()
        make_plan(wb.Dataset(df), [v], 1, get_settings())
        print(
            f"plan of 10,000 cells on {model} (counts per cell): {time.perf_counter() - start:.2f} s"
        )


if __name__ == "__main__":
    main()
