"""Token counts and exact costs before sending anything, from the built-in catalog (no network).

Run: python examples/python/costs.py
"""

from decimal import Decimal

import aihub

messages = [{"role": "user", "content": "Summarise the plot of Journey to the West in three lines."}]
for model in ["openai/gpt-4o-mini", "deepseek/deepseek-chat", "anthropic/claude-sonnet-4-5"]:
    prompt = aihub.count_tokens(model, messages)
    encoding = aihub.token_encoding(model)
    info = aihub.catalog_model(model)
    cost = aihub.estimate_cost(model, prompt_tokens=prompt, completion_tokens=500)
    if info is None or info.price is None or cost is None:
        print(f"{model}: no price in the catalog")
        continue
    exactness = "exact" if encoding.exact else "estimate"
    print(f"{model}: {prompt} prompt tokens ({exactness}), at most {cost:f} {info.price.currency} with 500 out")
    assert isinstance(cost, Decimal)
