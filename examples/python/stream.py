"""A streamed completion, printed as it arrives, with the usage from the last chunk.

Run: AIHUB_API_KEY=ai-hub-... AIHUB_BASE_URL=http://127.0.0.1:8080/v1 python examples/python/stream.py
"""

import os

import aihub

client = aihub.Client()
model = os.environ.get("AIHUB_MODEL", "openai/gpt-4o-mini")

with client.chat.completions.create(
    model=model,
    messages=[{"role": "user", "content": "Write one line about rivers."}],
    stream=True,
    stream_options={"include_usage": True},
) as stream:
    for chunk in stream:
        if chunk.choices:
            print(chunk.choices[0].delta.content or "", end="", flush=True)
        elif chunk.usage is not None:
            print(f"\ntokens: {chunk.usage.total_tokens}")
