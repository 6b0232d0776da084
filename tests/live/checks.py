"""Assertions shared by the live tests of every server."""

from __future__ import annotations

from inferlink.types import ChatCompletionOutput, ChatCompletionStreamOutput


def check_reply(reply: ChatCompletionOutput, content: str, finish_reason: str) -> None:
    assert isinstance(reply, ChatCompletionOutput)
    assert reply.choices[0].message.content == content
    assert reply.choices[0].finish_reason == finish_reason
    assert reply.usage is not None
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


def joined(chunks: list[ChatCompletionStreamOutput]) -> str:
    assert chunks and all(isinstance(c, ChatCompletionStreamOutput) for c in chunks)
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def finish_reasons(chunks: list[ChatCompletionStreamOutput]) -> list[str]:
    return [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
