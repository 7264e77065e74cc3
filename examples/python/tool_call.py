"""A tool call and the follow-up turn: the model asks for the weather, we answer, it replies.

Run: AIHUB_API_KEY=ai-hub-... AIHUB_BASE_URL=http://127.0.0.1:8080/v1 python examples/python/tool_call.py
"""

import json
import os
from typing import Any, Dict, List

import aihub

client = aihub.Client()
model = os.environ.get("AIHUB_MODEL", "openai/gpt-4o-mini")

tools: List[Dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]
messages: List[Any] = [{"role": "user", "content": "What's the weather in Hangzhou?"}]

first = client.chat.completions.create(model=model, messages=messages, tools=tools, tool_choice="required")
message = first.choices[0].message
messages.append(message)
for call in message.tool_calls or []:
    args = json.loads(call.function.arguments)
    print(f"model called {call.function.name}({args})")
    messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps({"city": args.get("city"), "temp_c": 21})})

final = client.chat.completions.create(model=model, messages=messages, tools=tools)
print(final.choices[0].message.content)
