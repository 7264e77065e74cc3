"""One chat completion through an AI Hub gateway.

Run: AIHUB_API_KEY=ai-hub-... AIHUB_BASE_URL=http://127.0.0.1:8080/v1 python examples/python/chat.py
"""

import os

import aihub

client = aihub.Client()  # gateway mode from AIHUB_API_KEY and AIHUB_BASE_URL
model = os.environ.get("AIHUB_MODEL", "openai/gpt-4o-mini")

completion = client.chat.completions.create(
    model=model,
    messages=[
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Say hello to AI Hub."},
    ],
    max_tokens=100,
)
print(completion.choices[0].message.content)
if completion.usage is not None:
    print(f"tokens: {completion.usage.prompt_tokens} in, {completion.usage.completion_tokens} out")
