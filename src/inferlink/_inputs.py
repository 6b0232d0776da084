"""Binary inputs (images, audio, video, documents): what a caller may pass and how it becomes bytes."""

from __future__ import annotations

import base64
import binascii
import io
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Union
from urllib.parse import unquote_to_bytes

from .errors import InvalidInputError

if TYPE_CHECKING:
    from typing import TypeAlias

    from PIL.Image import Image

    ContentInput: TypeAlias = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", BinaryIO, Image]
else:
    ContentInput = Union[bytes, bytearray, memoryview, str, os.PathLike, BinaryIO]

EXPECTED = "bytes, bytearray, memoryview, a path (str or Path), a binary file, an http(s) or data URL, or a PIL image"

# Magic numbers of the formats inference servers take, so raw bytes get a truthful Content-Type.
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"BM", "image/bmp"),
    (0, b"fLaC", "audio/flac"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"\xff\xfb", "audio/mpeg"),
    (0, b"OggS", "audio/ogg"),
    (0, b"%PDF", "application/pdf"),
    (0, b"\x1aE\xdf\xa3", "video/webm"),
    (4, b"ftyp", "video/mp4"),
)


def sniff(data: bytes) -> str | None:
    """The media type that the leading bytes announce, or None."""
    if data[:4] == b"RIFF" and data[8:12] in (b"WAVE", b"WEBP"):
        return "audio/wav" if data[8:12] == b"WAVE" else "image/webp"
    for offset, magic, mime in _SIGNATURES:
        if data[offset:offset + len(magic)] == magic:
            return mime
    return None


@dataclass(slots=True)
class Media:
    """Binary content ready to send: bytes with their media type, or a URL the server fetches itself."""

    data: bytes
    mime: str | None

    def base64(self) -> str:
        return base64.b64encode(self.data).decode("ascii")


def is_remote(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def _is_pil(value: object) -> bool:
    return type(value).__module__.startswith("PIL.") and hasattr(value, "save")


def check(value: object, where: str) -> None:
    """Reject what cannot be content, without reading it (nothing is sent before every input passed)."""
    if isinstance(value, (bytes, bytearray, memoryview)) or _is_pil(value):
        return
    if isinstance(value, str):
        if is_remote(value) or value.startswith("data:"):
            return
        if len(value) < 4096 and os.path.isfile(value):
            return
        shown = value if len(value) <= 80 else value[:77] + "..."
        raise InvalidInputError(f"{where}: {shown!r} is neither an http(s) or data URL nor an existing file; "
                                f"expected {EXPECTED}")
    if isinstance(value, os.PathLike):
        if os.path.isfile(value):
            return
        raise InvalidInputError(f"{where}: no such file {os.fspath(value)!r}")
    if hasattr(value, "read"):
        if isinstance(value, io.TextIOBase):
            raise InvalidInputError(f"{where}: the file is open in text mode; open it with 'rb'")
        return
    raise InvalidInputError(f"{where}: got {type(value).__name__}; expected {EXPECTED}")


def _guess(name: str) -> str | None:
    return mimetypes.guess_type(name)[0]


def read_local(value: Any) -> Media:
    """Bytes and media type of content that needs no network (check() has accepted it)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        return Media(data, sniff(data))
    if isinstance(value, str) and value.startswith("data:"):
        return from_data_url(value)
    if isinstance(value, (str, os.PathLike)):
        data = Path(value).read_bytes()
        return Media(data, sniff(data) or _guess(os.fspath(value)))
    if _is_pil(value):
        buffer = io.BytesIO()
        fmt = value.format or "PNG"
        value.save(buffer, format=fmt)
        return Media(buffer.getvalue(), f"image/{fmt.lower()}")
    data = value.read()
    if not isinstance(data, bytes):
        raise InvalidInputError(f"the file gave {type(data).__name__} instead of bytes; open it in binary mode")
    name = getattr(value, "name", None)
    return Media(data, sniff(data) or (_guess(name) if isinstance(name, str) else None))


def from_data_url(url: str) -> Media:
    header, sep, payload = url.partition(",")
    if not sep:
        raise InvalidInputError("a data URL needs a ',' between its header and its content")
    mime = header[5:].split(";")[0] or None
    try:
        data = base64.b64decode(payload, validate=True) if header.endswith(";base64") else unquote_to_bytes(payload)
    except binascii.Error as error:
        raise InvalidInputError(f"the data URL's base64 content is invalid: {error}") from None
    return Media(data, mime)


def from_download(data: bytes, content_type: str | None, url: str) -> Media:
    mime = (content_type or "").split(";")[0].strip() or None
    if mime in (None, "application/octet-stream", "binary/octet-stream"):
        mime = sniff(data) or _guess(url.split("?")[0]) or mime
    return Media(data, mime)
