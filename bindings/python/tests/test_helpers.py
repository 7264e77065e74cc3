"""count_tokens, estimate_cost and catalog: the core's numbers, checked against published ones."""

from __future__ import annotations

from decimal import Decimal

import pytest

import aihub

# The OpenAI Cookbook's "How to count tokens with tiktoken" conversation (section 6), whose
# prompt is 129 tokens on gpt-4 / gpt-3.5-turbo and 124 on gpt-4o / gpt-4o-mini, as counted
# and confirmed by the API there.
COOKBOOK = [
    {"role": "system", "content": "You are a helpful, pattern-following assistant that translates corporate jargon into plain English."},
    {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
    {"role": "system", "name": "example_assistant", "content": "Things working well together will increase revenue."},
    {"role": "system", "name": "example_user", "content": "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage."},
    {"role": "system", "name": "example_assistant", "content": "Let's talk later when we're less busy about how to do better."},
    {"role": "user", "content": "This late pivot means we don't have time to boil the ocean for the client deliverable."},
]


def test_count_tokens_matches_published_counts() -> None:
    assert aihub.count_tokens("gpt-4", COOKBOOK) == 129
    assert aihub.count_tokens("gpt-3.5-turbo", COOKBOOK) == 129
    assert aihub.count_tokens("gpt-4o", COOKBOOK) == 124
    assert aihub.count_tokens("openai/gpt-4o-mini", COOKBOOK) == 124
    # tiktoken's README: "tiktoken is great!" is 6 cl100k_base tokens.
    assert aihub.count_tokens("gpt-4", "tiktoken is great!") == 6
    # The cookbook's encoding comparison, cl100k_base column.
    assert aihub.count_tokens("gpt-4", "antidisestablishmentarianism") == 6
    assert aihub.count_tokens("gpt-4", "2 + 2 = 4") == 7
    assert aihub.count_tokens("gpt-4", "お誕生日おめでとう") == 9
    assert aihub.count_tokens("gpt-4o", "") == 0


def test_token_encoding_says_when_a_count_is_an_estimate() -> None:
    assert aihub.token_encoding("openai/gpt-4o") == ("o200k_base", True)
    assert aihub.token_encoding("gpt-4") == ("cl100k_base", True)
    enc = aihub.token_encoding("deepseek/deepseek-chat")
    assert enc.exact is False and enc.name == "cl100k_base"


def test_count_tokens_agrees_with_the_upstream(mock_client: aihub.Client) -> None:
    # mock-upstream counts prompts with o200k_base and OpenAI's formula.
    messages = COOKBOOK[:1] + [{"role": "user", "content": "Count me, please."}]
    r = mock_client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    assert r.usage is not None
    assert aihub.count_tokens("gpt-4o-mini", messages) == r.usage.prompt_tokens
    with pytest.raises(aihub.BadRequestError):
        aihub.count_tokens("gpt-4o", 42)  # type: ignore[arg-type]


def by_hand(model: str, prompt: int, completion: int, cached: int = 0) -> Decimal:
    """The cost from the catalog's prices, computed here in Python's decimal arithmetic."""
    info = aihub.catalog_model(model)
    assert info is not None and info.price is not None
    p = info.price
    cached_price = p.cached_input if p.cached_input is not None else p.input
    return ((prompt - cached) * p.input + cached * cached_price + completion * p.output) / Decimal(1_000_000)


@pytest.mark.parametrize(
    ("model", "prompt", "completion", "cached"),
    [
        ("openai/gpt-4o-mini", 1000, 500, 200),
        ("openai/gpt-4o", 123_456, 7_890, 0),
        ("anthropic/claude-sonnet-4-5", 10_000, 2_000, 4_000),
        ("deepseek/deepseek-chat", 1_000_000, 1_000_000, 250_000),
        ("gemini/gemini-2.5-flash", 1, 1, 0),
    ],
)
def test_estimate_cost_is_exact(model: str, prompt: int, completion: int, cached: int) -> None:
    cost = aihub.estimate_cost(model, prompt_tokens=prompt, completion_tokens=completion, cached_tokens=cached)
    assert isinstance(cost, Decimal)
    assert cost == by_hand(model, prompt, completion, cached)


def test_estimate_cost_known_values() -> None:
    # gpt-4o-mini at $0.15 / $0.075 cached / $0.60 per million: 800 x 0.15 + 200 x 0.075 + 500 x 0.60.
    assert aihub.estimate_cost("openai/gpt-4o-mini", prompt_tokens=1000, completion_tokens=500, cached_tokens=200) == Decimal("0.000435")
    assert aihub.estimate_cost("gpt-4o-mini", prompt_tokens=0, completion_tokens=0) == 0
    with pytest.raises(aihub.NotFoundError):
        aihub.estimate_cost("nobody/no-model", prompt_tokens=1, completion_tokens=1)


def test_estimate_cost_prices_tiers_one_hour_writes_and_snapshots() -> None:
    # Gemini 2.5 Pro above 200K prompt tokens: 300 000 x 2.50 + 1000 x 15 = 765 000 per million.
    assert aihub.estimate_cost("gemini/gemini-2.5-pro", prompt_tokens=300_000, completion_tokens=1000) == Decimal("0.765")
    # Claude Sonnet 4.5: 2000 x 3 + 15 000 x 0.30 + 2000 x 3.75 + 1000 x 6 (1-hour writes) + 1500 x 15 = 46 500.
    cost = aihub.estimate_cost(
        "anthropic/claude-sonnet-4-5",
        prompt_tokens=20_000,
        completion_tokens=1500,
        cached_tokens=15_000,
        cache_write_tokens=3000,
        cache_write_1h_tokens=1000,
    )
    assert cost == Decimal("0.0465")
    # A dated snapshot the catalog lists has its own price; one it does not list is not found.
    assert aihub.estimate_cost("openai/gpt-4o-2024-05-13", prompt_tokens=1000, completion_tokens=100) == Decimal("0.0065")
    with pytest.raises(aihub.NotFoundError):
        aihub.estimate_cost("openai/gpt-4o-2099-01-01", prompt_tokens=1, completion_tokens=1)
    # Free is zero; unknown is None.
    assert aihub.estimate_cost("ollama/llama3.2", prompt_tokens=100, completion_tokens=100) == Decimal(0)
    assert aihub.estimate_cost("moonshot/moonshot-v1-8k", prompt_tokens=100, completion_tokens=100) is None
    price = aihub.catalog_model("gemini/gemini-2.5-pro").price  # type: ignore[union-attr]
    assert price is not None and price.per_request is None
    tier = price.tiers[0]
    assert isinstance(tier, aihub.types.ModelPriceTier)
    assert (tier.above_prompt_tokens, tier.input, tier.cached_input, tier.output) == (
        200_000,
        Decimal("2.50"),
        Decimal("0.25"),
        Decimal("15.00"),
    )
    sonnet = aihub.catalog_model("anthropic/claude-sonnet-4-5").price  # type: ignore[union-attr]
    assert sonnet is not None and sonnet.cache_write_1h == Decimal("6")


def test_estimate_cost_equals_what_the_gateway_bills(gateway_client: aihub.Client, gateway: object) -> None:
    from conftest import Gateway

    assert isinstance(gateway, Gateway)
    key, _ = gateway.new_key()
    client = aihub.Client(api_key=key, base_url=gateway.base_url, max_retries=0, keys_from_env=False)
    r = client.chat.completions.create(model="mock/gpt-4o-mini", messages=[{"role": "user", "content": "bill me"}])
    assert r.usage is not None
    status, cost = gateway.api("GET", "usage/cost", bearer=key)
    assert status == 200, cost
    billed = [c for c in cost["by_model"] if c["model"] == "mock/gpt-4o-mini"]
    assert len(billed) == 1, cost
    # The demo provider `mock` is priced like openai/gpt-4o-mini in the demo catalog.
    mine = aihub.estimate_cost("openai/gpt-4o-mini", prompt_tokens=r.usage.prompt_tokens, completion_tokens=r.usage.completion_tokens)
    assert billed[0]["currency"] == "USD"
    assert Decimal(billed[0]["cost"]) == mine


def test_catalog_lists_models_with_exact_prices() -> None:
    models = aihub.catalog()
    assert len(models) >= 60
    ids = {m.id for m in models}
    assert {"openai/gpt-4o", "deepseek/deepseek-chat", "qwen/qwen-max", "anthropic/claude-sonnet-4-5"} <= ids
    priced = [m for m in models if m.price is not None]
    assert priced and all(isinstance(m.price.input, Decimal) for m in priced)  # type: ignore[union-attr]
    assert {m.price.currency for m in priced} <= {"USD", "CNY"}  # type: ignore[union-attr]
    gpt = aihub.catalog_model("openai/gpt-4o")
    assert gpt is not None and gpt.provider == "openai" and gpt.capabilities.tools and gpt.context_window > 0
    assert gpt == next(m for m in models if m.id == "openai/gpt-4o")
    alias = next(m for m in models if m.aliases)
    assert aihub.catalog_model(alias.aliases[0]) == alias
    assert aihub.catalog_model("nobody/no-model") is None
