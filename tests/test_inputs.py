"""Binary inputs, sync and async: every accepted form (bytes-likes, paths, binary files, http(s) and data URLs, PIL
images) becomes the right request body with a truthful content type."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

from inferlink import (
    AsyncInferenceClient,
    InferenceClient,
    InferenceTimeoutError,
    InvalidInputError,
    NotFoundError,
)

TOKEN = "hf_input_token"
MODEL = "org/m"
URL = "https://router.huggingface.co/hf-inference/models/org/m"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 16
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00" + b"\x00" * 16
JUNK = b"\x00\x01\x02no known signature"
IMAGE_RESULT = [{"label": "cat", "score": 0.9}]
ASR_RESULT = {"text": "hello"}
RESULTS = {"image_classification": IMAGE_RESULT, "automatic_speech_recognition": ASR_RESULT}


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def call(mode: str, method: str, *args: Any, **kwargs: Any) -> Any:
    if mode == "sync":
        with InferenceClient(model=MODEL, token=TOKEN) as sync_client:
            return getattr(sync_client, method)(*args, **kwargs)
    async with AsyncInferenceClient(model=MODEL, token=TOKEN) as async_client:
        return await getattr(async_client, method)(*args, **kwargs)


def posted(httpx_mock: HTTPXMock) -> httpx.Request:
    """The one inference request that went out."""
    requests = httpx_mock.get_requests(method="POST")
    assert len(requests) == 1
    assert str(requests[0].url) == URL
    assert requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    return requests[0]


async def check_raw(mode: str, httpx_mock: HTTPXMock, method: str, value: Any, data: bytes, mime: str) -> None:
    """`value` goes out as the raw body `data` with content type `mime`, and the result parses."""
    httpx_mock.add_response(url=URL, method="POST", json=RESULTS[method])
    result = await call(mode, method, value)
    request = posted(httpx_mock)
    assert request.content == data
    assert request.headers["content-type"] == mime
    if method == "image_classification":
        assert result[0].label == "cat"
    else:
        assert result.text == "hello"


# --- bytes-likes ---------------------------------------------------------------------------------------------------

SNIFFED = [
    ("image_classification", PNG, "image/png"),
    ("automatic_speech_recognition", WAV, "audio/wav"),
    ("image_classification", JUNK, "application/octet-stream"),
]


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview])
@pytest.mark.parametrize(("method", "data", "mime"), SNIFFED, ids=["png", "wav", "unknown"])
async def test_bytes_like(mode: str, httpx_mock: HTTPXMock, wrap: Any, method: str, data: bytes,
                          mime: str) -> None:
    await check_raw(mode, httpx_mock, method, wrap(data), data, mime)


# --- paths -----------------------------------------------------------------------------------------------------------

PATHS = [
    ("pic.png", PNG, "image_classification", "image/png"),  # magic bytes
    ("no-extension", PNG, "image_classification", "image/png"),  # magic bytes, nothing else to go by
    ("photo.jpg", b"not a real jpeg", "image_classification", "image/jpeg"),  # extension
    ("clip.wav", WAV, "automatic_speech_recognition", "audio/wav"),
]


@pytest.mark.parametrize("as_type", [str, Path], ids=["str", "Path"])
@pytest.mark.parametrize(("name", "data", "method", "mime"), PATHS, ids=[p[0] for p in PATHS])
async def test_path(mode: str, httpx_mock: HTTPXMock, tmp_path: Path, as_type: Any, name: str, data: bytes,
                    method: str, mime: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    await check_raw(mode, httpx_mock, method, as_type(path), data, mime)


# --- file objects --------------------------------------------------------------------------------------------------

async def test_binary_file(mode: str, httpx_mock: HTTPXMock, tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"jpeg-ish bytes")
    with open(path, "rb") as file:
        await check_raw(mode, httpx_mock, "image_classification", file, b"jpeg-ish bytes", "image/jpeg")


@pytest.mark.parametrize(("method", "data", "mime"), SNIFFED, ids=["png", "wav", "unknown"])
async def test_bytesio(mode: str, httpx_mock: HTTPXMock, method: str, data: bytes, mime: str) -> None:
    await check_raw(mode, httpx_mock, method, io.BytesIO(data), data, mime)


async def test_text_mode_file_is_rejected(mode: str, httpx_mock: HTTPXMock, tmp_path: Path) -> None:
    path = tmp_path / "pic.png"
    path.write_bytes(PNG)
    with open(path) as text_file:  # noqa: PTH123
        with pytest.raises(InvalidInputError) as info:
            await call(mode, "image_classification", text_file)
    assert "image_classification()" in str(info.value)
    assert "image" in str(info.value)
    with pytest.raises(InvalidInputError):
        await call(mode, "image_classification", io.StringIO("text"))
    assert httpx_mock.get_requests() == []


# --- http(s) URLs ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "headers", "mime"), [
    ("https://example.com/cat.png", {"content-type": "image/png"}, "image/png"),
    ("http://example.com/files/cat", {"content-type": "image/png; charset=binary"}, "image/png"),
    ("https://example.com/get?id=7", {"content-type": "application/octet-stream"}, "image/png"),  # sniffed
    ("https://example.com/get?id=8", {}, "image/png"),  # no content type: sniffed
], ids=["typed", "typed-params", "octet-stream", "untyped"])
async def test_url_is_downloaded_then_uploaded(mode: str, httpx_mock: HTTPXMock, url: str,
                                               headers: dict[str, str], mime: str) -> None:
    httpx_mock.add_response(url=url, method="GET", content=PNG, headers=headers)
    httpx_mock.add_response(url=URL, method="POST", json=IMAGE_RESULT)
    result = await call(mode, "image_classification", url)
    assert result[0].label == "cat"
    (download,) = httpx_mock.get_requests(method="GET")
    assert str(download.url) == url
    assert "authorization" not in download.headers  # the Hugging Face token stays with Hugging Face
    request = posted(httpx_mock)
    assert request.content == PNG
    assert request.headers["content-type"] == mime
    assert [r.method for r in httpx_mock.get_requests()] == ["GET", "POST"]


async def test_url_download_404(mode: str, httpx_mock: HTTPXMock) -> None:
    url = "https://example.com/missing.png"
    httpx_mock.add_response(url=url, method="GET", status_code=404, text="no such file")
    with pytest.raises(NotFoundError) as info:
        await call(mode, "image_classification", url)
    assert type(info.value) is NotFoundError
    assert info.value.status_code == 404
    assert url in str(info.value)
    assert httpx_mock.get_requests(method="POST") == []


async def test_url_download_uses_the_call_timeout(mode: str, httpx_mock: HTTPXMock) -> None:
    url = "https://example.com/slow.png"
    httpx_mock.add_exception(httpx.ReadTimeout("slow download"), url=url, method="GET")
    with pytest.raises(InferenceTimeoutError) as info:
        await call(mode, "image_classification", url, timeout=2.5, max_retries=0)
    assert type(info.value) is InferenceTimeoutError
    assert isinstance(info.value, TimeoutError)
    (download,) = httpx_mock.get_requests(method="GET")
    timeouts = list(download.extensions["timeout"].values())
    assert timeouts and all(t is not None and 0 < t <= 2.5 for t in timeouts)
    assert httpx_mock.get_requests(method="POST") == []


# --- data URLs -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "data", "mime"), [
    ("data:image/png;base64," + base64.b64encode(PNG).decode(), PNG, "image/png"),
    ("data:image/svg+xml,%3Csvg%2F%3E", b"<svg/>", "image/svg+xml"),
], ids=["base64", "percent-encoded"])
async def test_data_url(mode: str, httpx_mock: HTTPXMock, url: str, data: bytes, mime: str) -> None:
    await check_raw(mode, httpx_mock, "image_classification", url, data, mime)


# --- PIL images ------------------------------------------------------------------------------------------------------

async def test_pil_image(mode: str, httpx_mock: HTTPXMock) -> None:
    from PIL import Image

    image = Image.new("RGB", (3, 2), "red")
    httpx_mock.add_response(url=URL, method="POST", json=IMAGE_RESULT)
    await call(mode, "image_classification", image)
    request = posted(httpx_mock)
    assert request.headers["content-type"] == "image/png"
    assert request.content.startswith(b"\x89PNG\r\n\x1a\n")
    decoded = Image.open(io.BytesIO(request.content))
    assert decoded.format == "PNG"
    assert decoded.size == (3, 2)
    assert decoded.convert("RGB").getpixel((0, 0)) == (255, 0, 0)


# --- binary content inside JSON -------------------------------------------------------------------------------------

async def test_parameters_put_the_image_in_json(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, method="POST", json=IMAGE_RESULT)
    await call(mode, "image_classification", PNG, top_k=1)
    request = posted(httpx_mock)
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {"inputs": base64.b64encode(PNG).decode(), "parameters": {"top_k": 1}}


async def test_visual_question_answering_sends_the_image_once(mode: str, httpx_mock: HTTPXMock,
                                                              tmp_path: Path) -> None:
    path = tmp_path / "pic.png"
    path.write_bytes(PNG)
    httpx_mock.add_response(url=URL, method="POST", json=[{"answer": "yes", "score": 0.8}])
    result = await call(mode, "visual_question_answering", path, "Is it a cat?")
    assert result[0].answer == "yes"
    request = posted(httpx_mock)
    assert request.headers["content-type"] == "application/json"
    encoded = base64.b64encode(PNG).decode()
    assert json.loads(request.content) == {"inputs": {"image": encoded, "question": "Is it a cat?"}}
    assert request.content.count(encoded.encode()) == 1


# --- async: files are read off the event loop -----------------------------------------------------------------------

async def test_async_path_is_read_in_a_thread(httpx_mock: HTTPXMock, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "clip.wav"
    path.write_bytes(WAV)
    used: list[Any] = []
    real = asyncio.to_thread

    async def recording(func: Any, /, *args: Any, **kwargs: Any) -> Any:
        used.append(args)
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", recording)
    await check_raw("async", httpx_mock, "automatic_speech_recognition", path, WAV, "audio/wav")
    assert used == [(path,)]
