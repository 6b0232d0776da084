"""Jobs that follow a submission (specs/flows.json, src/inferlink/_jobs.py): each named flow's failure and deadline
expiry, result-fetch and download errors, the pace of polling, the async client's loop staying free, URL inputs
passed on, provider="auto" never resubmitting an accepted job, and the mapping mini-language these routes use.
Successful flows are the route examples of specs/providers (tests/test_providers.py). Sync and async."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from pytest_httpx import HTTPXMock

from inferlink import (
    AsyncInferenceClient,
    InferenceClient,
    InferenceTimeoutError,
    InvalidInputError,
    JobFailedError,
    NotFoundError,
    ProvidersFailedError,
    ResponseError,
    ServerError,
    _jobs,
)
from inferlink._dialects import remap
from inferlink._request import encode
from inferlink.providers import register_provider

KEY = "sk-provider-key"
HF = "hf_CANARY_jobs_test"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a730000001049444154789c63f8cfc0"
                    "00440c300a001fee03fd8b5f14d40000000049454e44ae426082")
VIDEO = b"\x00\x00\x00\x20ftypisom-video"

# One failing job per flow: (provider, task, method, positional argument, provider id, submission URL,
# the submission's answer, the status URL, the failed status document, the provider's message).
FAL_RESPONSE = "https://queue.fal.run/fal-ai/wan/v2.2-a14b/text-to-video/requests/req-1"
FAILURES: dict[str, tuple[Any, ...]] = {
    "fal-queue": ("fal-ai", "text_to_video", "a fox", "fal-ai/wan/v2.2-a14b/text-to-video",
                  "https://queue.fal.run/fal-ai/wan/v2.2-a14b/text-to-video",
                  {"status": "IN_QUEUE", "request_id": "req-1", "response_url": FAL_RESPONSE},
                  FAL_RESPONSE + "/status",
                  {"status": "COMPLETED", "request_id": "req-1", "error": "Prompt rejected by the safety checker",
                   "error_type": "content_policy_violation"},
                  "Prompt rejected by the safety checker"),
    "replicate-prediction": ("replicate", "text_to_image", "a fox", "black-forest-labs/flux-schnell",
                             "https://api.replicate.com/v1/models/black-forest-labs/flux-schnell/predictions",
                             {"id": "p-1", "status": "starting", "output": None, "error": None,
                              "urls": {"get": "https://api.replicate.com/v1/predictions/p-1"}},
                             "https://api.replicate.com/v1/predictions/p-1",
                             {"id": "p-1", "status": "failed", "output": None,
                              "error": "CUDA out of memory. Tried to allocate 2.00 GiB"},
                             "CUDA out of memory. Tried to allocate 2.00 GiB"),
    "together-video": ("together", "text_to_video", "a fox", "Wan-AI/Wan2.2-T2V-A14B",
                       "https://api.together.xyz/v2/videos",
                       {"id": "vid-1", "object": "video", "status": "queued"},
                       "https://api.together.xyz/v2/videos/vid-1",
                       {"id": "vid-1", "object": "video", "status": "failed",
                        "error": {"message": "The prompt violates the content policy", "code": "invalid_prompt"}},
                       "The prompt violates the content policy"),
    "wavespeed-task": ("wavespeed", "text_to_image", "a fox", "wavespeed-ai/flux-dev",
                       "https://api.wavespeed.ai/api/v3/wavespeed-ai/flux-dev",
                       {"code": 200, "message": "success", "data": {
                           "id": "ws-1", "status": "created", "outputs": [], "error": "",
                           "urls": {"get": "https://api.wavespeed.ai/api/v3/predictions/ws-1/result"}}},
                       "https://api.wavespeed.ai/api/v3/predictions/ws-1/result",
                       {"code": 200, "message": "success", "data": {"id": "ws-1", "status": "failed", "outputs": [],
                                                                   "error": "NSFW content detected"}},
                       "NSFW content detected"),
    "zai-async-result": ("zai-org", "text_to_image", "a fox", "cogview-4-250304",
                         "https://api.z.ai/api/paas/v4/async/images/generations",
                         {"id": "z-1", "request_id": "r", "model": "cogview-4-250304", "task_status": "PROCESSING"},
                         "https://api.z.ai/api/paas/v4/async-result/z-1",
                         {"id": "z-1", "task_status": "FAIL",
                          "error": {"code": "1301", "message": "The content may be unsafe"}},
                         "The content may be unsafe"),
}


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def call(mode: str, method: str, *args: Any, **options: Any) -> Any:
    kwargs = options.pop("kwargs", {})
    if mode == "sync":
        with InferenceClient(**options) as client:
            return getattr(client, method)(*args, **kwargs)
    async with AsyncInferenceClient(**options) as aclient:
        return await getattr(aclient, method)(*args, **kwargs)


def options(provider: str, model_id: str, **more: Any) -> dict[str, Any]:
    return {"provider": provider, "token": KEY, "model": "org/model", "poll_interval": 0.001,
            "provider_mapping": {"org/model": {provider: model_id}}, **more}


@pytest.mark.parametrize("flow", sorted(FAILURES))
async def test_failed_job_raises_job_failed_error_with_the_providers_message(flow: str, mode: str,
                                                                             httpx_mock: HTTPXMock) -> None:
    provider, method, arg, model_id, url, submitted, status_url, failed, message = FAILURES[flow]
    httpx_mock.add_response(url=url, method="POST", json=submitted)
    httpx_mock.add_response(url=status_url, method="GET", json=failed)
    with pytest.raises(JobFailedError) as caught:
        await call(mode, method, arg, **options(provider, model_id))
    error = caught.value
    assert error.provider == provider and error.provider_message == message
    assert error.job_id is not None and error.job_id in str(error) and message in str(error)
    assert error.payload == failed
    assert _jobs.SUBMITTED in error.__notes__
    assert len(httpx_mock.get_requests()) == 2  # nothing downloaded


@pytest.mark.parametrize("flow", sorted(FAILURES))
async def test_a_job_still_running_at_the_deadline_times_out_naming_it(flow: str, mode: str,
                                                                        httpx_mock: HTTPXMock) -> None:
    provider, method, arg, model_id, url, submitted, status_url, _, _ = FAILURES[flow]
    httpx_mock.add_response(url=url, method="POST", json=submitted)
    httpx_mock.add_response(url=status_url, method="GET", json=submitted, is_reusable=True)
    started = time.monotonic()
    with pytest.raises(InferenceTimeoutError) as caught:
        await call(mode, method, arg, **options(provider, model_id, timeout=0.4, poll_interval=0.05))
    elapsed = time.monotonic() - started
    assert 0.3 < elapsed < 1.0
    job_id = str(submitted.get("request_id") or submitted.get("id") or submitted["data"]["id"])
    assert "timed out after 0.4 s" in str(caught.value) and job_id in str(caught.value)
    assert status_url.split("?")[0] in str(caught.value)
    assert len(httpx_mock.get_requests()) >= 4  # polled at the pace asked for, until the deadline


async def test_an_empty_error_object_is_no_failure(mode: str, httpx_mock: HTTPXMock) -> None:
    _, method, arg, model_id, url, submitted, status_url, _, _ = FAILURES["together-video"]
    empty = {"message": None, "code": None}
    httpx_mock.add_response(url=url, method="POST", json={**submitted, "status": "in_progress", "error": empty})
    httpx_mock.add_response(url=status_url, method="GET", json={
        "id": "vid-1", "status": "completed", "error": empty, "info": {"errors": []},
        "outputs": {"video_url": "https://api.together.ai/shrt/v.mp4"}})
    httpx_mock.add_response(url="https://api.together.ai/shrt/v.mp4", method="GET", content=VIDEO)
    assert await call(mode, method, arg, **options("together", model_id)) == VIDEO


async def test_an_error_status_on_the_result_means_the_job_failed(mode: str, httpx_mock: HTTPXMock) -> None:
    _, method, arg, model_id, url, submitted, status_url, _, _ = FAILURES["fal-queue"]
    httpx_mock.add_response(url=url, method="POST", json=submitted)
    httpx_mock.add_response(url=status_url, method="GET", json={"status": "COMPLETED", "request_id": "req-1"})
    httpx_mock.add_response(url=FAL_RESPONSE, method="GET", status_code=422,
                            json={"detail": [{"loc": ["body", "num_frames"], "msg": "must be at most 121"}]})
    with pytest.raises(JobFailedError) as caught:
        await call(mode, method, arg, **options("fal-ai", model_id))
    assert "422" in str(caught.value) and "must be at most 121" in str(caught.value)
    assert caught.value.job_id == "req-1" and caught.value.provider == "fal-ai"


async def test_a_download_is_status_checked_and_never_gets_the_token(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="https://fal.run/fal-ai/flux/schnell", method="POST",
                            json={"images": [{"url": "https://v3.fal.media/files/x.png"}]})
    httpx_mock.add_response(url="https://v3.fal.media/files/x.png", method="GET", status_code=404,
                            text="<Error><Code>NoSuchKey</Code></Error>", headers={"content-type": "text/xml"})
    with pytest.raises(NotFoundError) as caught:
        await call(mode, "text_to_image", "a fox", **options("fal-ai", "fal-ai/flux/schnell"))
    assert "text_to_image(): the result was being downloaded from https://v3.fal.media/files/x.png" \
        in caught.value.__notes__
    download = httpx_mock.get_requests()[1]
    assert "authorization" not in download.headers


async def test_results_without_a_job_id_status_or_url_are_response_errors(mode: str, httpx_mock: HTTPXMock) -> None:
    _, method, arg, model_id, url, _, status_url, _, _ = FAILURES["together-video"]
    httpx_mock.add_response(url=url, method="POST", json={"object": "video", "status": "queued"})
    with pytest.raises(ResponseError, match="no job id"):
        await call(mode, method, arg, **options("together", model_id))
    httpx_mock.add_response(url=url, method="POST", json={"id": "vid-1"})
    with pytest.raises(ResponseError, match="status is missing"):
        await call(mode, method, arg, **options("together", model_id))
    httpx_mock.add_response(url=url, method="POST", json={"id": "vid-1", "status": "completed", "outputs": {}})
    with pytest.raises(ResponseError, match="no result URL"):
        await call(mode, method, arg, **options("together", model_id))


def test_each_flow_polls_at_its_providers_pace(httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []
    monkeypatch.setattr("inferlink._jobs.time.sleep", pauses.append)
    _, method, arg, model_id, url, submitted, status_url, failed, _ = FAILURES["together-video"]
    httpx_mock.add_response(url=url, method="POST", json=submitted)
    httpx_mock.add_response(url=status_url, method="GET", json=submitted)
    httpx_mock.add_response(url=status_url, method="GET", json=failed)
    with InferenceClient(**{**options("together", model_id), "poll_interval": None}) as client:
        with pytest.raises(JobFailedError):
            client.text_to_video(arg)
    assert pauses == [2.0, 2.0]


async def test_the_async_client_polls_without_blocking_the_loop(httpx_mock: HTTPXMock) -> None:
    _, method, arg, model_id, url, submitted, status_url, failed, _ = FAILURES["replicate-prediction"]
    httpx_mock.add_response(url=url, method="POST", json=submitted)
    for _ in range(5):
        httpx_mock.add_response(url=status_url, method="GET", json={**submitted, "status": "processing"})
    httpx_mock.add_response(url=status_url, method="GET", json=failed)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    async with AsyncInferenceClient(**options("replicate", model_id, poll_interval=0.1)) as client:
        with pytest.raises(JobFailedError):
            await client.text_to_image(arg)
    task.cancel()
    assert ticks >= 30  # 6 pauses of 0.1 s: the loop ran the ticker all along


async def test_polls_go_through_the_router_with_an_hf_token(mode: str, httpx_mock: HTTPXMock) -> None:
    """The provider's own URLs are re-rooted under the router, so an HF token never reaches the provider's host."""
    router = "https://router.huggingface.co/replicate"
    httpx_mock.add_response(url=f"{router}/v1/models/black-forest-labs/flux-schnell/predictions", method="POST",
                            json=FAILURES["replicate-prediction"][5])
    httpx_mock.add_response(url=f"{router}/v1/predictions/p-1", method="GET",
                            json={"id": "p-1", "status": "succeeded",
                                  "output": ["https://replicate.delivery/xezq/out-0.webp"]})
    httpx_mock.add_response(url="https://replicate.delivery/xezq/out-0.webp", method="GET", content=PNG)
    image = await call(mode, "text_to_image", "a fox", kwargs={"output_type": "bytes"},
                       **{**options("replicate", "black-forest-labs/flux-schnell"), "token": HF})
    assert image == PNG
    post, poll, download = httpx_mock.get_requests()
    assert post.headers["authorization"] == poll.headers["authorization"] == f"Bearer {HF}"
    assert HF not in str(download.headers)


async def test_url_inputs_are_passed_on_to_providers_that_fetch_them(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="https://queue.fal.run/fal-ai/kling/i2v", method="POST",
                            json={"status": "COMPLETED", "request_id": "r-2",
                                  "response_url": "https://queue.fal.run/fal-ai/kling/requests/r-2"})
    httpx_mock.add_response(url="https://queue.fal.run/fal-ai/kling/requests/r-2", method="GET",
                            json={"video": {"url": "https://v3.fal.media/files/v.mp4"}})
    httpx_mock.add_response(url="https://v3.fal.media/files/v.mp4", method="GET", content=VIDEO)
    video = await call(mode, "image_to_video", "https://example.com/cat.png", kwargs={"prompt": "the cat jumps"},
                       **options("fal-ai", "fal-ai/kling/i2v"))
    assert video == VIDEO
    body = json.loads(httpx_mock.get_requests()[0].content)
    assert body == {"image_url": "https://example.com/cat.png", "prompt": "the cat jumps"}


async def test_auto_does_not_resubmit_a_job_that_a_provider_accepted(mode: str, httpx_mock: HTTPXMock) -> None:
    _, method, arg, _, url, submitted, status_url, _, _ = FAILURES["fal-queue"]
    mapping = {"org/model": {"fal-ai": "fal-ai/wan/v2.2-a14b/text-to-video", "replicate": "wan-video/wan-2.2"}}
    httpx_mock.add_response(url=url, method="POST", json=submitted)
    httpx_mock.add_response(url=status_url, method="GET", status_code=503, json={"detail": "busy"}, is_reusable=True)
    with pytest.raises(ServerError) as caught:
        await call(mode, method, arg, provider="auto", token=KEY, model="org/model", provider_mapping=mapping,
                   poll_interval=0.001, max_retries=0)
    assert _jobs.SUBMITTED in caught.value.__notes__
    assert {str(r.url) for r in httpx_mock.get_requests()} == {url, status_url}  # replicate never called


async def test_auto_fails_over_when_the_submission_itself_fails(mode: str, httpx_mock: HTTPXMock) -> None:
    _, method, arg, _, url, _, _, _, _ = FAILURES["fal-queue"]
    mapping = {"org/model": {"fal-ai": "fal-ai/wan/v2.2-a14b/text-to-video", "replicate": "wan-video/wan-2.2"}}
    httpx_mock.add_response(url=url, method="POST", status_code=503, json={"detail": "busy"})
    httpx_mock.add_response(url="https://api.replicate.com/v1/models/wan-video/wan-2.2/predictions", method="POST",
                            status_code=502, text="bad gateway")
    with pytest.raises(ProvidersFailedError) as caught:
        await call(mode, method, arg, provider="auto", token=KEY, model="org/model", provider_mapping=mapping,
                   max_retries=0)
    assert [p for p, _ in caught.value.failures] == ["fal-ai", "replicate"]


async def test_a_registered_provider_can_use_a_named_flow(mode: str, httpx_mock: HTTPXMock) -> None:
    name = register_provider("my-queue", base_url="https://gen.example.com/api", replace=True, routes={
        "text-to-video": {"path": "/v1/predictions", "dialect": "replicate-prompt", "flow": "replicate-prediction"}})
    httpx_mock.add_response(url="https://gen.example.com/api/v1/predictions", method="POST",
                            json={"id": "j-9", "status": "processing",
                                  "urls": {"get": "https://gen.example.com/api/v1/predictions/j-9"}})
    httpx_mock.add_response(url="https://gen.example.com/api/v1/predictions/j-9", method="GET",
                            json={"id": "j-9", "status": "succeeded", "output": "https://cdn.example.net/j-9.mp4"})
    httpx_mock.add_response(url="https://cdn.example.net/j-9.mp4", method="GET", content=VIDEO)
    assert await call(mode, "text_to_video", "a fox", provider=name, token=KEY, model="my/video",
                      poll_interval=0.001) == VIDEO
    with pytest.raises(InvalidInputError, match="poll_interval must be a positive number"):
        InferenceClient(poll_interval=0)
    with pytest.raises(InvalidInputError, match="unknown flow 'nope'"):
        register_provider("my-queue", base_url="https://gen.example.com", replace=True,
                          routes={"text-to-video": {"path": "/v1/p", "flow": "nope"}})


# --- the mapping mini-language (specs/dialects.json) -----------------------------------------------------------------

def test_remap_alternatives_spread_lists_objects_and_each() -> None:
    source = {"inputs": "x", "parameters": {"width": 8, "height": 4, "seed": 1, "skip": None},
              "segments": [{"start": 0.0, "end": 1.5, "text": "a"}], "output": {"transcription": "hi"}}
    mapping = {"prompt": "inputs", "image_size.width": "parameters.width",
               "*": {"path": "parameters", "except": ["width", "height"]},
               "both": {"list": ["inputs", "missing", "parameters.seed"]},
               "frame": {"object": {"image": "inputs", "frame": {"const": "first"}}},
               "chunks": {"each": "segments", "map": {"text": "text", "timestamp": {"list": ["start", "end"]}}},
               "text": ["output.transcription", "output"]}
    assert remap(mapping, source) == {
        "prompt": "x", "image_size": {"width": 8}, "seed": 1, "both": ["x", 1],
        "frame": {"image": "x", "frame": "first"}, "chunks": [{"text": "a", "timestamp": [0.0, 1.5]}], "text": "hi"}
    assert remap({"text": ["output.transcription", "output"]}, {"output": "plain"}) == {"text": "plain"}
    assert remap({"n": {"path": "n", "join": ", "}}, {"n": ["blurry", "text"]}) == {"n": "blurry, text"}


def test_remap_model_conditions_variables_and_encoding() -> None:
    mapping = {"image_url": {"path": "inputs", "when_model": "(?i)kontext"},
               "reference_images": {"list": ["inputs"], "unless_model": "(?i)kontext"},
               "version": "$version", "mask": {"path": "$download", "encode": "base64"}}
    assert remap(mapping, {"inputs": "u"}, {"model": "black-forest-labs/FLUX.1-Kontext-dev", "download": b"\x00"}) \
        == {"image_url": "u", "mask": "AA=="}
    assert remap(mapping, {"inputs": "u"}, {"model": "flux-dev", "version": "abc"}) == \
        {"reference_images": ["u"], "version": "abc"}


def test_multipart_fields_are_text_and_the_file_keeps_its_type() -> None:
    from inferlink._generated import _tasks
    from inferlink._generated._tables import DIALECTS
    from inferlink._inputs import Media
    from inferlink._routing import Route

    route = Route("deepinfra", "https://x/v1/openai/audio/transcriptions", "openai-transcription", False,
                  "openai/whisper-large-v3")
    body = {"inputs": "", "parameters": {"return_timestamps": True, "generation_parameters": {"max_new_tokens": 5}}}
    content, content_type = encode(_tasks.automatic_speech_recognition, route, body,
                                   {"inputs": Media(b"RIFF....WAVE", "audio/wav")}, None, DIALECTS, None)
    assert content_type.startswith("multipart/form-data; boundary=")
    text = content.decode("latin-1")
    assert 'name="return_timestamps"\r\n\r\ntrue' in text
    assert 'name="generation_parameters"\r\n\r\n{"max_new_tokens": 5}' in text
    assert 'name="file"; filename="file.wav"\r\nContent-Type: audio/wav\r\n\r\nRIFF....WAVE' in text
    assert text.count('name="model"\r\n\r\nopenai/whisper-large-v3') == 1


async def test_a_job_url_on_another_host_gets_no_token(mode: str, httpx_mock: HTTPXMock) -> None:
    _, method, arg, model_id, url, submitted, _, _, _ = FAILURES["replicate-prediction"]
    elsewhere = "https://status.example.net/predictions/p-1"
    httpx_mock.add_response(url=url, method="POST", json={**submitted, "urls": {"get": elsewhere}})
    httpx_mock.add_response(url=elsewhere, method="GET", json={"id": "p-1", "status": "failed", "error": "gone"})
    with pytest.raises(JobFailedError):
        await call(mode, method, arg, **options("replicate", model_id))
    assert "authorization" not in httpx_mock.get_requests()[1].headers


# --- LoRA adapters of the Hub mapping ------------------------------------------------------------------------------

def hub(model: str, provider: str, provider_id: str, weights: str) -> tuple[str, dict[str, Any]]:
    return (f"https://huggingface.co/api/models/{model}?expand%5B%5D=inferenceProviderMapping",
            {"inferenceProviderMapping": [{"provider": provider, "providerId": provider_id, "status": "live",
                                           "task": "text-to-image", "adapter": "lora", "type": "single-model",
                                           "adapterWeightsPath": weights}]})


@pytest.mark.parametrize(("provider_id", "extra"), [
    ("fal-ai/flux-lora", {}),
    ("fal-ai/lora", {"model_name": "stabilityai/stable-diffusion-xl-base-1.0"}),
])
async def test_a_lora_of_the_mapping_is_applied_by_fal(provider_id: str, extra: dict[str, Any], mode: str,
                                                      httpx_mock: HTTPXMock) -> None:
    url, mapping = hub("alvdansen/flux-koda", "fal-ai", provider_id, "araminta_k_flux_koda.safetensors")
    httpx_mock.add_response(url=url, method="GET", json=mapping)
    httpx_mock.add_response(url=f"https://fal.run/{provider_id}", method="POST",
                            json={"images": [{"url": "https://v3.fal.media/files/koda.png"}]})
    httpx_mock.add_response(url="https://v3.fal.media/files/koda.png", method="GET", content=PNG)
    image = await call(mode, "text_to_image", "a quiet harbour, film grain", provider="fal-ai", token=KEY,
                       model="alvdansen/flux-koda", kwargs={"output_type": "bytes"})
    assert image == PNG
    assert json.loads(httpx_mock.get_requests()[1].content) == {
        "prompt": "a quiet harbour, film grain", **extra,
        "loras": [{"path": "https://huggingface.co/alvdansen/flux-koda/resolve/main/araminta_k_flux_koda.safetensors",
                   "scale": 1}]}


async def test_a_lora_of_the_mapping_is_named_to_replicate(mode: str, httpx_mock: HTTPXMock) -> None:
    url, mapping = hub("alvdansen/flux-koda", "replicate", "black-forest-labs/flux-dev-lora", "koda.safetensors")
    httpx_mock.add_response(url=url, method="GET", json=mapping)
    httpx_mock.add_response(url="https://api.replicate.com/v1/models/black-forest-labs/flux-dev-lora/predictions",
                            method="POST", json={"id": "p-7", "status": "succeeded",
                                                 "output": ["https://replicate.delivery/koda.webp"]})
    httpx_mock.add_response(url="https://replicate.delivery/koda.webp", method="GET", content=PNG)
    await call(mode, "text_to_image", "a quiet harbour", provider="replicate", token=KEY, model="alvdansen/flux-koda",
               kwargs={"output_type": "bytes"})
    assert json.loads(httpx_mock.get_requests()[1].content) == {
        "input": {"prompt": "a quiet harbour", "lora_weights": "https://huggingface.co/alvdansen/flux-koda"}}


@pytest.mark.parametrize(("timeout", "prefer"), [(None, "wait=60"), (600, "wait=60"), (10, "wait=9"), (1.5, "wait=1")])
async def test_replicate_is_asked_to_answer_before_the_deadline(timeout: float | None, prefer: str, mode: str,
                                                                httpx_mock: HTTPXMock) -> None:
    """Prefer: wait=N never outlasts the call, so the prediction's id comes back in time to be followed."""
    _, method, arg, model_id, url, submitted, status_url, failed, _ = FAILURES["replicate-prediction"]
    httpx_mock.add_response(url=url, method="POST", json=submitted)
    httpx_mock.add_response(url=status_url, method="GET", json=failed)
    with pytest.raises(JobFailedError):
        await call(mode, method, arg, **options("replicate", model_id, timeout=timeout))
    assert httpx_mock.get_requests()[0].headers["prefer"] == prefer
