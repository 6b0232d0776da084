"""Property-based tests of the SSE decoder: however the bytes of a stream are split into chunks, the same events
come out, and they are the events that were encoded."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from inferlink._sse import Event, SSEDecoder

LINE_ENDS = st.sampled_from([b"\n", b"\r", b"\r\n"])
# Field values: any text without line breaks (a value cannot contain one), as UTF-8.
VALUES = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]), max_size=30)
NAMES = st.text(st.characters(whitelist_categories=["Ll"]), min_size=1, max_size=8)


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[Event]]:
    """A byte stream and the events it must decode to."""
    out = bytearray(b"\xef\xbb\xbf" if draw(st.booleans()) else b"")
    expected: list[Event] = []
    last_id: str | None = None
    retry: int | None = None
    for _ in range(draw(st.integers(0, 6))):
        end = draw(LINE_ENDS)
        if draw(st.booleans()):
            out += b":" + draw(VALUES).encode() + end  # a comment
        name = draw(st.one_of(st.none(), NAMES))
        if name is not None:
            out += b"event: " + name.encode() + end
        if draw(st.booleans()):
            last_id = draw(VALUES.filter(lambda v: "\x00" not in v))
            out += b"id: " + last_id.encode() + end
        if draw(st.booleans()):
            retry = draw(st.integers(0, 10_000))
            out += b"retry: " + str(retry).encode() + end
        lines = draw(st.lists(VALUES, min_size=1, max_size=3))
        for line in lines:
            bare = draw(st.booleans()) and not line.startswith(" ")  # "data:x": no space to strip
            out += (b"data:" if bare else b"data: ") + line.encode() + end
        out += end
        expected.append(Event("\n".join(lines).encode(), name or "message", last_id, retry))
    return bytes(out), expected


def decode(chunks: list[bytes]) -> list[Event]:
    decoder = SSEDecoder()
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    return events + decoder.close()


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)])]


@settings(max_examples=300, deadline=None)
@given(streams(), st.lists(st.integers(0, 400), max_size=12))
def test_any_split_gives_the_encoded_events(stream: tuple[bytes, list[Event]], cuts: list[int]) -> None:
    data, expected = stream
    assert decode([data]) == expected
    assert decode(split(data, cuts)) == expected


@settings(max_examples=100, deadline=None)
@given(streams())
def test_byte_by_byte_gives_the_encoded_events(stream: tuple[bytes, list[Event]]) -> None:
    data, expected = stream
    assert decode([data[i:i + 1] for i in range(len(data))]) == expected
