"""The server-sent-events decoder (WHATWG HTML, "Parsing an event stream") on bytes, fed in arbitrary chunks."""

from __future__ import annotations

import itertools

import pytest

from inferlink._sse import Event, SSEDecoder

BOM = b"\xef\xbb\xbf"


def decode(*chunks: bytes) -> list[Event]:
    """Feed the chunks in order, then end the stream."""
    decoder = SSEDecoder()
    events: list[Event] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.close())
    return events


def datas(events: list[Event]) -> list[bytes]:
    return [e.data for e in events]


# --- line ends ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"], ids=["LF", "CR", "CRLF"])
def test_line_ends(eol: bytes) -> None:
    stream = b"data: one" + eol + eol + b"data: two" + eol + eol
    decoder = SSEDecoder()
    assert datas(decoder.feed(stream)) == [b"one", b"two"]
    assert decoder.close() == []


def test_mixed_line_ends_in_one_stream() -> None:
    stream = b"data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\r"
    assert datas(decode(stream)) == [b"a\nb\nc", b"d"]


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    # the LF that completes the CRLF must not be read as an empty line (which would dispatch the event early)
    assert decoder.feed(b"\ndata: b\r") == []
    # "\n" completes the CRLF after "b"; the lone "\r" after it is the blank line
    assert datas(decoder.feed(b"\n\r")) == [b"a\nb"]
    # and this "\n" completes that CRLF: no second blank line, nothing else pending
    assert decoder.feed(b"\ndata: c\r") == []
    assert datas(decoder.feed(b"\n\r\n")) == [b"c"]
    assert decoder.close() == []


def test_cr_at_chunk_end_followed_by_a_real_blank_line() -> None:
    # "\r" ends the line; the next chunk's "\n" completes that CRLF; the following "\n" is the blank line
    assert datas(decode(b"data: a\r", b"\n\n", b"data: b\n\n")) == [b"a", b"b"]


def test_cr_then_lf_after_an_empty_chunk() -> None:
    assert datas(decode(b"data: a\r", b"", b"\n", b"\r\n")) == [b"a"]


def test_lone_cr_at_chunk_end_then_other_text() -> None:
    # "\r" alone is a complete line end: the next chunk starting with "d" begins a new line
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"data: b\r") == []
    assert datas(decoder.feed(b"\r")) == [b"a\nb"]


def test_lf_at_start_of_chunk_not_after_cr_is_a_line_end() -> None:
    assert datas(decode(b"data: a\n", b"\ndata: b\n", b"\n")) == [b"a", b"b"]


# --- fields ------------------------------------------------------------------------------------------------------


def test_multi_line_data_joined_with_lf() -> None:
    events = decode(b"data: first\ndata: second\ndata:third\n\n")
    assert datas(events) == [b"first\nsecond\nthird"]


def test_empty_data_lines_keep_their_place() -> None:
    assert datas(decode(b"data:\ndata: b\ndata\n\n")) == [b"\nb\n"]


def test_comments_are_ignored() -> None:
    events = decode(b": keep-alive\n\n: another\ndata: x\n: inside\n\n:\n\n")
    assert datas(events) == [b"x"]
    assert events[0].event == "message"


def test_event_field_sets_the_type() -> None:
    events = decode(b"event: delta\ndata: x\n\ndata: y\n\n")
    assert [(e.event, e.data) for e in events] == [("delta", b"x"), ("message", b"y")]


def test_event_type_is_reset_after_dispatch() -> None:
    events = decode(b"event: error\ndata: 1\n\ndata: 2\n\n")
    assert [e.event for e in events] == ["error", "message"]


def test_event_type_is_reset_by_a_blank_line_without_data() -> None:
    # "If the data buffer is an empty string, set the data buffer and the event type buffer to the empty string"
    events = decode(b"event: error\n\ndata: 2\n\n")
    assert [(e.event, e.data) for e in events] == [("message", b"2")]


def test_id_field_and_last_event_id_persists() -> None:
    events = decode(b"id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n")
    assert [e.id for e in events] == ["7", "7", ""]


def test_id_with_nul_is_ignored() -> None:
    events = decode(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n")
    assert [e.id for e in events] == ["1", "1"]


def test_no_id_is_none() -> None:
    assert decode(b"data: a\n\n")[0].id is None


def test_retry_field() -> None:
    events = decode(b"retry: 3000\ndata: a\n\nretry: soon\ndata: b\n\nretry: 10\ndata: c\n\n")
    assert [e.retry for e in events] == [3000, 3000, 10]


def test_retry_alone_dispatches_nothing() -> None:
    assert decode(b"retry: 5\n\n") == []


def test_data_with_no_colon_is_an_empty_data_line() -> None:
    events = decode(b"data\n\n")
    assert datas(events) == [b""]


def test_field_with_no_space_after_the_colon() -> None:
    events = decode(b"event:delta\nid:9\ndata:{\"a\":1}\n\n")
    assert [(e.event, e.id, e.data) for e in events] == [("delta", "9", b'{"a":1}')]


def test_only_one_leading_space_is_removed() -> None:
    events = decode(b"data:  two spaces\nevent:  spaced\n\n")
    assert [(e.event, e.data) for e in events] == [(" spaced", b" two spaces")]


def test_colon_in_the_value_is_kept() -> None:
    assert datas(decode(b"data: a: b:c\n\n")) == [b"a: b:c"]


def test_unknown_fields_are_ignored() -> None:
    assert datas(decode(b"foo: bar\ndata: x\nDATA: y\nData: z\n\n")) == [b"x"]


def test_field_names_are_exact() -> None:
    # "data " (with a trailing space) is another field name, not data
    assert decode(b"data : x\n\n") == []


def test_non_ascii_data_is_kept_as_bytes() -> None:
    text = "héllo — 世界 😀".encode()
    assert datas(decode(b"data: " + text + b"\n\n")) == [text]


def test_non_ascii_split_inside_a_character() -> None:
    text = "世界".encode()
    assert datas(decode(b"event: \xe4", b"\xb8\x96\ndata: " + text[:2], text[2:] + b"\n\n")) == [text]
    assert decode(b"event: \xe4", b"\xb8\x96\ndata: x\n\n")[0].event == "世"


# --- BOM ---------------------------------------------------------------------------------------------------------


def test_leading_bom_is_stripped() -> None:
    events = decode(BOM + b"data: a\n\n")
    assert datas(events) == [b"a"]


def test_leading_bom_before_a_field_name() -> None:
    # without stripping, the first field would be named "\ufeffevent" and ignored
    events = decode(BOM + b"event: delta\ndata: a\n\n")
    assert [(e.event, e.data) for e in events] == [("delta", b"a")]


@pytest.mark.parametrize("chunks", [
    [b"\xef", b"\xbb", b"\xbfevent: delta\ndata: a\n\n"],
    [b"\xef\xbb", b"\xbfevent: delta\ndata: a\n\n"],
    [b"\xef", b"\xbb\xbfevent: delta\ndata: a\n\n"],
    [b"", b"\xef", b"", b"\xbb\xbf", b"event: delta\ndata: a\n\n"],
    [BOM, b"event: delta\ndata: a\n\n"],
])
def test_bom_split_across_chunks(chunks: list[bytes]) -> None:
    events = decode(*chunks)
    assert [(e.event, e.data) for e in events] == [("delta", b"a")]


def test_bom_is_stripped_once_only() -> None:
    decoder = SSEDecoder()
    assert datas(decoder.feed(BOM + b"data: a\n\n")) == [b"a"]
    # a second BOM later in the stream is part of a line: "\ufeffdata" is an unknown field name
    assert decoder.feed(BOM + b"data: b\n\n") == []
    assert decoder.close() == []


def test_double_bom_at_start_strips_one() -> None:
    events = decode(BOM + BOM + b"data: a\n\ndata: b\n\n")
    assert datas(events) == [b"b"]


def test_bom_prefix_not_followed_by_the_rest_is_not_stripped() -> None:
    events = decode(b"\xef\xbb", b"data: a\n\ndata: b\n\n")
    # the first line is "\xef\xbbdata: a": an unknown field
    assert datas(events) == [b"b"]


def test_bom_only_at_the_very_start() -> None:
    events = decode(b"data: a\n\n", BOM + b"data: b\n\n")
    assert datas(events) == [b"a"]


# --- dispatch ----------------------------------------------------------------------------------------------------


def test_blank_line_without_data_dispatches_nothing() -> None:
    assert decode(b"\n\n\n") == []
    assert decode(b"event: ping\n\n") == []
    assert decode(b"id: 3\n\n") == []


def test_event_needs_its_blank_line_before_feed_returns_it() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert datas(decoder.feed(b"\n")) == [b"a"]


def test_each_event_returned_once() -> None:
    decoder = SSEDecoder()
    first = decoder.feed(b"data: a\n\ndata: b")
    second = decoder.feed(b"\n\n")
    assert datas(first) == [b"a"]
    assert datas(second) == [b"b"]
    assert decoder.close() == []


def test_close_delivers_the_last_event_without_its_blank_line() -> None:
    decoder = SSEDecoder()
    assert datas(decoder.feed(b"data: a\n\nevent: last\ndata: b\n")) == [b"a"]
    events = decoder.close()
    assert [(e.event, e.data) for e in events] == [("last", b"b")]


def test_close_delivers_an_unterminated_last_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\ndata: {\"b\": 1}") == [Event(b"a")]
    assert datas(decoder.close()) == [b'{"b": 1}']


def test_close_after_cr_ending() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert datas(decoder.close()) == [b"a"]


def test_close_with_nothing_pending() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\n") == [Event(b"a")]
    assert decoder.close() == []
    assert SSEDecoder().close() == []


def test_close_with_only_a_comment_pending() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b": keep-alive") == []
    assert decoder.close() == []


def test_event_dataclass_defaults() -> None:
    event = decode(b"data: x\n\n")[0]
    assert event == Event(data=b"x", event="message", id=None, retry=None)


def test_openai_style_stream() -> None:
    stream = (b'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n'
              b'data: {"choices":[{"delta":{"content":" there"}}]}\n\n'
              b"data: [DONE]\n\n")
    assert datas(decode(stream)) == [b'{"choices":[{"delta":{"content":"Hi"}}]}',
                                     b'{"choices":[{"delta":{"content":" there"}}]}', b"[DONE]"]


# --- chunking does not change the result (exhaustive split points, no hypothesis) --------------------------------

STREAMS = [
    pytest.param(b"data: a\n\ndata: b\ndata: c\n\n", id="lf"),
    pytest.param(b"data: a\r\n\r\nevent: e\r\ndata: b\r\n\r\n", id="crlf"),
    pytest.param(b"data: a\r\rid: 1\rdata: b\r\r", id="cr"),
    pytest.param(BOM + b"event: x\ndata: 1\r\n\r\n: c\rdata:2\n\n", id="bom-mixed"),
    pytest.param(b": ping\n\nretry: 10\nid: 4\ndata\n\ndata: \xe4\xb8\x96\r\n\r\n", id="fields-utf8"),
    pytest.param(b"event: error\n\ndata: {\"x\": 1}\ndata: tail", id="no-final-blank-line"),
    pytest.param(b"data: a\r\n\r\n\r\n\r\ndata: b\r", id="crlf-runs"),
]


@pytest.mark.parametrize("stream", STREAMS)
def test_every_two_chunk_split_gives_the_same_events(stream: bytes) -> None:
    whole = decode(stream)
    assert whole  # the streams are chosen to produce events
    for i in range(len(stream) + 1):
        assert decode(stream[:i], stream[i:]) == whole, f"split at {i}"


@pytest.mark.parametrize("stream", STREAMS)
def test_every_three_chunk_split_gives_the_same_events(stream: bytes) -> None:
    whole = decode(stream)
    for i, j in itertools.combinations_with_replacement(range(len(stream) + 1), 2):
        assert decode(stream[:i], stream[i:j], stream[j:]) == whole, f"split at {i}, {j}"


@pytest.mark.parametrize("stream", STREAMS)
def test_byte_by_byte_gives_the_same_events(stream: bytes) -> None:
    whole = decode(stream)
    assert decode(*(stream[i:i + 1] for i in range(len(stream)))) == whole


def test_split_results_are_the_expected_events() -> None:
    # anchor the property tests on known values, so a decoder wrong in the same way everywhere still fails
    assert decode(BOM + b"event: x\ndata: 1\r\n\r\n: c\rdata:2\n\n") == [Event(b"1", "x"), Event(b"2")]
    assert decode(b"data: a\r\rid: 1\rdata: b\r\r") == [Event(b"a"), Event(b"b", id="1")]
    assert decode(b"event: error\n\ndata: {\"x\": 1}\ndata: tail") == [Event(b'{"x": 1}\ntail')]
