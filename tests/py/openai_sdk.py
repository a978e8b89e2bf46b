"""The official OpenAI Python SDK (openai==3.63.0, from the project venv) against a running
`woodwork-actors serve`: a plain completion, a streamed one, an unknown model's error, and the
`user` field carrying a conversation across two calls on an agent with memory.

Run by tests/it/openai_api.rs with WW_BASE_URL (http://ADDR/v1), WW_API_KEY (the server's
--auth-token) and WW_SESSIONS_URL (http://ADDR/sessions). The pipeline's models are `llm mock`
echo models: an answer is "echo: <the last user message>".
"""

import json
import os
import sys
import urllib.request

import openai

base_url = os.environ["WW_BASE_URL"]
api_key = os.environ["WW_API_KEY"]
sessions_url = os.environ["WW_SESSIONS_URL"]

client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=60)


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


# The models list holds the pipeline's input, agent and llm components.
ids = [m.id for m in client.models.list()]
check(ids == ["model", "bot", "in"], f"models {ids}")
check(client.models.retrieve("bot").owned_by == "woodwork", "retrieve bot")

# Plain.
r = client.chat.completions.create(
    model="in",
    messages=[
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hello from the sdk"},
    ],
)
check(r.object == "chat.completion", f"object {r.object}")
check(r.choices[0].message.role == "assistant", "role")
check(r.choices[0].message.content == "echo: hello from the sdk", f"content {r.choices[0].message.content!r}")
check(r.choices[0].finish_reason == "stop", "finish_reason")
check(r.usage is not None and r.usage.total_tokens > 0, f"usage {r.usage}")
print("plain ok:", r.choices[0].message.content)

# Streaming, with usage.
pieces = []
finish = None
usage = None
with client.chat.completions.create(
    model="bot",
    messages=[{"role": "user", "content": [{"type": "text", "text": "one two three"}]}],
    stream=True,
    stream_options={"include_usage": True},
) as stream:
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            if choice.delta.content:
                pieces.append(choice.delta.content)
            if choice.finish_reason:
                finish = choice.finish_reason
check("".join(pieces) == "echo: one two three", f"streamed {pieces!r}")
check(len(pieces) >= 3, f"streamed in pieces: {pieces!r}")
check(finish == "stop", f"finish {finish}")
check(usage is not None and usage.completion_tokens == 5, f"stream usage {usage}")
print("stream ok:", pieces)

# An unknown model is a NotFoundError carrying our message.
try:
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    check(False, "unknown model accepted")
except openai.NotFoundError as e:
    check(e.status_code == 404, f"status {e.status_code}")
    check(e.code == "model_not_found", f"code {e.code}")
    check("model, bot, in" in str(e), f"message {e}")
    print("unknown model ok:", e.code)

# A wrong key is an AuthenticationError.
try:
    openai.OpenAI(base_url=base_url, api_key="wrong", max_retries=0).models.list()
    check(False, "wrong key accepted")
except openai.AuthenticationError as e:
    check(e.code == "invalid_api_key", f"code {e.code}")
    print("wrong key ok:", e.code)

# `user` carries a conversation: two calls in one session on the agent with memory.
for text in ["my name is Ada", "what is my name?"]:
    r = client.chat.completions.create(
        model="bot", user="sdk-conversation", messages=[{"role": "user", "content": text}]
    )
    check(r.choices[0].message.content == f"echo: {text}", f"turn {text!r}")
req = urllib.request.Request(
    f"{sessions_url}/sdk-conversation", headers={"Authorization": f"Bearer {api_key}"}
)
with urllib.request.urlopen(req, timeout=30) as res:
    info = json.load(res)
check(info["turns"] == 2, f"session {info}")
print("conversation ok:", info["turns"], "turns")

print("ok: all checks passed")
