"""Typed usage of the public API, checked by `mypy --strict` (make typecheck); never executed.

Every return type a user relies on is pinned with assert_type, for stream and non-stream calls, sync and async."""

from __future__ import annotations

from typing import assert_type

import PIL.Image
from pydantic import BaseModel

from inferlink import AsyncInferenceClient, AsyncStream, InferenceClient, Stream
from inferlink.types import (
    AutomaticSpeechRecognitionOutput,
    ChatCompletionInputMessage,
    ChatCompletionOutput,
    ChatCompletionParsedOutput,
    ChatCompletionStreamOutput,
    ImageClassificationOutputElement,
    QuestionAnsweringOutputElement,
    SummarizationOutput,
    TableQuestionAnsweringOutputElement,
    TextClassificationOutputElement,
    TextGenerationOutput,
    TextGenerationStreamOutput,
    TokenClassificationOutputElement,
)

MESSAGES = [{"role": "user", "content": "Hello!"}]


def sync_usage(client: InferenceClient, flag: bool) -> None:
    assert_type(client.chat_completion(MESSAGES), ChatCompletionOutput)
    assert_type(client.chat_completion(MESSAGES, stream=False), ChatCompletionOutput)
    assert_type(client.chat_completion(MESSAGES, stream=True), Stream[ChatCompletionStreamOutput])
    assert_type(client.chat_completion(MESSAGES, stream=flag),
                ChatCompletionOutput | Stream[ChatCompletionStreamOutput])
    assert_type(client.chat_completion([ChatCompletionInputMessage(role="user", content="Hi")], max_tokens=5),
                ChatCompletionOutput)
    assert_type(client.chat.completions.create(MESSAGES, model="org/m"), ChatCompletionOutput)
    assert_type(client.chat.completions.create(messages=MESSAGES, model="org/m", stream=True),
                Stream[ChatCompletionStreamOutput])
    for chunk in client.chat_completion(MESSAGES, stream=True):
        assert_type(chunk, ChatCompletionStreamOutput)

    assert_type(client.text_generation("Once"), str)
    assert_type(client.text_generation("Once", details=True), TextGenerationOutput)
    assert_type(client.text_generation("Once", stream=True), Stream[str])
    assert_type(client.text_generation("Once", stream=True, details=True), Stream[TextGenerationStreamOutput])
    for token in client.text_generation("Once", stream=True, max_new_tokens=3):
        assert_type(token, str)

    assert_type(client.text_classification("I love it"), list[TextClassificationOutputElement])
    assert_type(client.token_classification("Paris"), list[TokenClassificationOutputElement])
    assert_type(client.feature_extraction("a sentence"), list[list[float]])
    assert_type(client.feature_extraction(["one", "two"], normalize=True), list[list[float]])
    assert_type(client.sentence_similarity("a", ["b", "c"]), list[float])
    assert_type(client.summarization("long text"), SummarizationOutput)
    assert_type(client.question_answering("Who?", "Me."), list[QuestionAnsweringOutputElement])
    assert_type(client.table_question_answering({"a": ["1"]}, "sum of a?"), TableQuestionAnsweringOutputElement)
    assert_type(client.image_classification(b"\x89PNG", top_k=2), list[ImageClassificationOutputElement])
    assert_type(client.automatic_speech_recognition("clip.flac"), AutomaticSpeechRecognitionOutput)
    assert_type(client.text_to_image("a cat"), PIL.Image.Image)
    assert_type(client.text_to_image("a cat", output_type="bytes"), bytes)
    assert_type(client.text_to_speech("Hello"), bytes)
    assert_type(client.text_to_video("waves"), bytes)


async def async_usage(client: AsyncInferenceClient) -> None:
    assert_type(await client.chat_completion(MESSAGES), ChatCompletionOutput)
    stream = await client.chat_completion(MESSAGES, stream=True, temperature=0.2)
    assert_type(stream, AsyncStream[ChatCompletionStreamOutput])
    async for chunk in stream:
        assert_type(chunk, ChatCompletionStreamOutput)
    assert_type(await client.chat.completions.create(MESSAGES, model="org/m"), ChatCompletionOutput)
    assert_type(await client.text_generation("Once"), str)
    assert_type(await client.text_generation("Once", details=True), TextGenerationOutput)
    assert_type(await client.text_generation("Once", stream=True), AsyncStream[str])
    assert_type(await client.text_generation("Once", stream=True, details=True),
                AsyncStream[TextGenerationStreamOutput])
    assert_type(await client.text_classification("I love it"), list[TextClassificationOutputElement])
    assert_type(await client.text_to_image("a cat", output_type="bytes"), bytes)
    assert_type(await client.feature_extraction("x"), list[list[float]])


def lifecycle() -> None:
    with InferenceClient(model="org/m", timeout=10, headers={"x-a": "b"}, bill_to="my-org") as client:
        assert_type(client, InferenceClient)
    InferenceClient(base_url="http://127.0.0.1:8080/v1", api_key="sk-local").close()
    InferenceClient(provider="tgi", base_url="http://127.0.0.1:8080")


async def async_lifecycle() -> None:
    async with AsyncInferenceClient(model="org/m") as client:
        assert_type(client, AsyncInferenceClient)
    await AsyncInferenceClient().close()


class Answer(BaseModel):
    city: str
    population: int


def structured_usage(client: InferenceClient) -> None:
    reply = client.chat_completion(MESSAGES, response_format=Answer)
    assert_type(reply, ChatCompletionParsedOutput[Answer])
    parsed = reply.choices[0].message.parsed
    assert_type(parsed, Answer | None)
    assert_type(client.chat.completions.create(MESSAGES, model="org/m", response_format=Answer),
                ChatCompletionParsedOutput[Answer])
    assert_type(client.chat_completion(MESSAGES, response_format={"type": "json_object"}), ChatCompletionOutput)


async def async_structured_usage(client: AsyncInferenceClient) -> None:
    reply = await client.chat_completion(MESSAGES, response_format=Answer)
    assert_type(reply.choices[0].message.parsed, Answer | None)


def provider_names() -> None:
    from inferlink.providers import register_provider

    InferenceClient(provider="groq", token="hf_x")
    InferenceClient(provider="auto")
    mine = register_provider("mine", base_url="https://mine.example", routes={"chat-completion": {"path": "/c"}})
    InferenceClient(provider=mine)


async def provider_jobs() -> None:
    from inferlink import JobFailedError

    fal = InferenceClient(provider="fal-ai", token="hf_x", timeout=600, poll_interval=2.0)
    assert_type(fal.text_to_video("a fox in the snow", model="Wan-AI/Wan2.2-T2V-A14B"), bytes)
    assert_type(fal.image_segmentation(b"...", model="briaai/RMBG-2.0")[0].mask, str)
    async with AsyncInferenceClient(provider="replicate", api_key="r8_x") as replicate:
        try:
            assert_type(await replicate.text_to_image("a fox", output_type="bytes"), bytes)
        except JobFailedError as error:
            assert_type(error.provider_message, str | None)
            assert_type(error.job_id, str | None)
