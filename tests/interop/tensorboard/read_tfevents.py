#!/usr/bin/env python3
"""Independent reader of TensorBoard event files (stdlib only: no protobuf, no tensorflow).

Checks every TFRecord's framing and both masked CRC-32C values, decodes each Event protobuf (event.proto,
summary.proto, tensor.proto field numbers) and prints one JSON object per event:
  {"wall_time": 1.7e9, "file_version": "brain.Event:2"}
  {"wall_time": ..., "step": 2, "scalars": {"train/loss": 2.5}, "texts": {"args/text_summary": "..."}}
Exits 1 with the byte offset on the first bad record, or when the first event is not file_version brain.Event:2.

usage: read_tfevents.py EVENT_FILE
"""
import json
import struct
import sys


def make_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


TABLE = make_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def varint(buf, pos):
    shift = value = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, pos


def fields(buf):
    """Yield (field number, wire type, value) of one protobuf message."""
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            n, pos = varint(buf, pos)
            value, pos = buf[pos:pos + n], pos + n
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError("unsupported wire type %d" % wire)
        if pos > len(buf):
            raise ValueError("field %d runs past the end of its message" % field)
        yield field, wire, value


def decode_value(buf, event):
    tag, simple, strings = None, None, []
    for f, w, v in fields(buf):
        if f == 1 and w == 2:
            tag = v.decode("utf-8")
        elif f == 2 and w == 5:
            simple = struct.unpack("<f", v)[0]
        elif f == 8 and w == 2:  # TensorProto: string_val = 8
            strings += [s.decode("utf-8") for tf, tw, s in fields(v) if tf == 8 and tw == 2]
    if simple is not None:
        event.setdefault("scalars", {})[tag] = simple
    elif strings:
        event.setdefault("texts", {})[tag] = strings[0]


def decode_event(buf):
    event = {}
    for f, w, v in fields(buf):
        if f == 1 and w == 1:
            event["wall_time"] = struct.unpack("<d", v)[0]
        elif f == 2 and w == 0:
            event["step"] = v
        elif f == 3 and w == 2:
            event["file_version"] = v.decode("utf-8")
        elif f == 5 and w == 2:
            for sf, sw, sv in fields(v):
                if sf == 1 and sw == 2:
                    decode_value(sv, event)
    return event


def read(path):
    data = open(path, "rb").read()
    pos, events = 0, []
    while pos < len(data):
        if pos + 12 > len(data):
            raise ValueError("offset %d: truncated record header" % pos)
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        if masked(header) != length_crc:
            raise ValueError("offset %d: length CRC mismatch" % pos)
        body = data[pos + 12:pos + 12 + length]
        if len(body) != length or pos + 16 + length > len(data):
            raise ValueError("offset %d: truncated record of %d bytes" % (pos, length))
        (data_crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
        if masked(body) != data_crc:
            raise ValueError("offset %d: data CRC mismatch" % pos)
        events.append(decode_event(body))
        pos += 16 + length
    if not events or events[0].get("file_version") != "brain.Event:2":
        raise ValueError("the first event is not file_version brain.Event:2")
    return events


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    assert crc32c(b"123456789") == 0xE3069283
    try:
        events = read(sys.argv[1])
    except (ValueError, IndexError, UnicodeDecodeError, struct.error) as e:
        print("%s: %s" % (sys.argv[1], e), file=sys.stderr)
        sys.exit(1)
    for e in events:
        print(json.dumps(e, sort_keys=True))


if __name__ == "__main__":
    main()
