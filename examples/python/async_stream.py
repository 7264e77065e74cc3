"""Three streams at once with AsyncClient; the third is stopped after its first chunk.

Run: AIHUB_API_KEY=ai-hub-... AIHUB_BASE_URL=http://127.0.0.1:8080/v1 python examples/python/async_stream.py
"""

import asyncio
import os

import aihub

MODEL = os.environ.get("AIHUB_MODEL", "openai/gpt-4o-mini")


async def collect(client: aihub.AsyncClient, topic: str, limit: int) -> str:
    parts = []
    stream = await client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": f"A line about {topic}."}], stream=True
    )
    async with stream:
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
                if len(parts) >= limit:
                    break  # leaving the block closes the stream and cancels the request
    return "".join(parts)


async def main() -> None:
    client = aihub.AsyncClient()
    lines = await asyncio.gather(collect(client, "rivers", 100), collect(client, "hills", 100), collect(client, "rain", 1))
    for line in lines:
        print(line.strip())


asyncio.run(main())
