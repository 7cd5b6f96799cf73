"""Edits a GGUF file in place for the importer's error tests, without changing its layout.

Every edit keeps each string's length and each value's width, so offsets, alignment and the
tensor data stay valid and only the meaning changes:

  gguf_patch.py FILE --set-string KEY VALUE   a string value (same length as the old one)
  gguf_patch.py FILE --set-u32 KEY VALUE      a uint32 value
  gguf_patch.py FILE --rename NAME NEW        a metadata key or tensor name (same length)
  gguf_patch.py FILE --swap NAME1 NAME2       two tensor names of the same length
  gguf_patch.py FILE --set-type TENSOR ID     a tensor's ggml type id (same bytes per row)
"""

import argparse
import struct
import sys

GGUF_UINT32 = 4
GGUF_STRING = 8


def gguf_string(text: str) -> bytes:
    """A GGUF string as stored: uint64 length, then the bytes."""
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def find_once(blob: bytearray, needle: bytes, what: str) -> int:
    at = blob.find(needle)
    if at < 0 or blob.find(needle, at + 1) >= 0:
        sys.exit(f"gguf_patch: {what} must occur exactly once")
    return at


def same_length(old: str, new: str) -> None:
    if len(old.encode()) != len(new.encode()):
        sys.exit(f"gguf_patch: '{old}' and '{new}' differ in length")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--set-string", nargs=2, metavar=("KEY", "VALUE"))
    parser.add_argument("--set-u32", nargs=2, metavar=("KEY", "VALUE"))
    parser.add_argument("--rename", nargs=2, metavar=("NAME", "NEW"))
    parser.add_argument("--swap", nargs=2, metavar=("NAME1", "NAME2"))
    parser.add_argument("--set-type", nargs=2, metavar=("TENSOR", "ID"))
    args = parser.parse_args()

    with open(args.file, "rb") as f:
        blob = bytearray(f.read())

    if args.set_string:
        key, value = args.set_string
        at = find_once(blob, gguf_string(key), f"key '{key}'") + len(gguf_string(key))
        if struct.unpack_from("<I", blob, at)[0] != GGUF_STRING:
            sys.exit(f"gguf_patch: '{key}' is not a string")
        (length,) = struct.unpack_from("<Q", blob, at + 4)
        old = bytes(blob[at + 12 : at + 12 + length]).decode()
        same_length(old, value)
        blob[at + 12 : at + 12 + length] = value.encode()
    if args.set_u32:
        key, value = args.set_u32
        at = find_once(blob, gguf_string(key), f"key '{key}'") + len(gguf_string(key))
        if struct.unpack_from("<I", blob, at)[0] != GGUF_UINT32:
            sys.exit(f"gguf_patch: '{key}' is not a uint32")
        struct.pack_into("<I", blob, at + 4, int(value))
    if args.rename:
        old, new = args.rename
        same_length(old, new)
        at = find_once(blob, gguf_string(old), f"'{old}'")
        blob[at : at + len(gguf_string(new))] = gguf_string(new)
    if args.swap:
        first, second = args.swap
        same_length(first, second)
        a = find_once(blob, gguf_string(first), f"'{first}'")
        b = find_once(blob, gguf_string(second), f"'{second}'")
        blob[a : a + len(gguf_string(second))] = gguf_string(second)
        blob[b : b + len(gguf_string(first))] = gguf_string(first)

    if args.set_type:
        name, type_id = args.set_type
        # Tensor info: name, uint32 n_dims, n_dims uint64 dims, uint32 type, uint64 offset.
        at = find_once(blob, gguf_string(name), f"tensor '{name}'") + len(gguf_string(name))
        (n_dims,) = struct.unpack_from("<I", blob, at)
        struct.pack_into("<I", blob, at + 4 + 8 * n_dims, int(type_id))

    with open(args.file, "wb") as f:
        f.write(blob)


if __name__ == "__main__":
    main()
