"""An incremental server-sent-events decoder (WHATWG HTML, "Parsing an event stream"), working on bytes so that each
event's data goes to the JSON parser without a decode/encode round trip."""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINE_END = re.compile(rb"\r\n|\r|\n")
_BOM = b"\xef\xbb\xbf"


@dataclass(slots=True)
class Event:
    data: bytes
    event: str = "message"
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Feed it byte chunks split anywhere; it returns each complete event once."""

    __slots__ = ("_buffer", "_data", "_event", "_last_id", "_retry", "_skip_lf", "_started")

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[bytes] = []
        self._event = ""
        self._last_id: str | None = None
        self._retry: int | None = None
        self._skip_lf = False  # the previous chunk ended in CR: a leading LF belongs to that line end
        self._started = False

    def feed(self, chunk: bytes) -> list[Event]:
        # Fast path: servers usually send one whole "data: ...\n\n" event per chunk.
        if (not self._buffer and not self._data and not self._event and self._started and not self._skip_lf
                and chunk[:5] == b"data:" and chunk[-2:] == b"\n\n" and chunk.count(b"\n") == 2
                and b"\r" not in chunk):
            value = chunk[5:-2]
            return [Event(value[1:] if value[:1] == b" " else value, "message", self._last_id, self._retry)]
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if self._buffer:
            chunk = self._buffer + chunk
        if not self._started:
            if len(chunk) < 3 and _BOM.startswith(chunk):
                self._buffer = chunk
                return []
            self._started = True
            if chunk.startswith(_BOM):
                chunk = chunk[3:]
        events: list[Event] = []
        if b"\r" in chunk:
            if chunk.endswith(b"\r"):
                self._skip_lf = True
            lines = _LINE_END.split(chunk)
        else:
            lines = chunk.split(b"\n")
        self._buffer = lines.pop()
        for line in lines:
            self._line(line, events)
        return events

    def close(self) -> list[Event]:
        """End of stream. An event whose closing blank line never came is still delivered: servers often close
        right after the last data line."""
        events: list[Event] = []
        if self._buffer:
            self._line(self._buffer, events)
            self._buffer = b""
        self._line(b"", events)
        return events

    def _line(self, line: bytes, events: list[Event]) -> None:
        if line.startswith(b"data:"):
            value = line[5:]
            self._data.append(value[1:] if value[:1] == b" " else value)
        elif not line:
            if self._data:
                events.append(Event(b"\n".join(self._data), self._event or "message", self._last_id, self._retry))
                self._data = []
            self._event = ""
        elif line[:1] == b":":
            return
        else:
            name, _, value = line.partition(b":")
            if value[:1] == b" ":
                value = value[1:]
            if name == b"data":  # "data" with no colon at all
                self._data.append(b"")
            elif name == b"event":
                self._event = value.decode("utf-8", "replace")
            elif name == b"id":
                if b"\x00" not in value:
                    self._last_id = value.decode("utf-8", "replace")
            elif name == b"retry" and value.isdigit():
                self._retry = int(value)
