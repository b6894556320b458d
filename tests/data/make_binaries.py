#!/usr/bin/env python3
"""Writes the small binary test files (.npy, .safetensors) of tests/data.

Standard library only (no numpy): the bytes are spelled out so that every
file is exactly what its name says. The outputs are committed; run this only
to change them:  cd tests/data && python3 make_binaries.py
"""
import json
import struct

NAN32 = struct.pack('<I', 0x7fc00000)


def f32(*values):
    return b''.join(struct.pack('<f', v) for v in values)


def f16(*bits):
    return b''.join(struct.pack('<H', b) for b in bits)


def npy(name, header, data, version=(1, 0), header_len=None):
    """header: the dict literal; padded with spaces and a newline to 64 bytes."""
    pre = 10 if version[0] == 1 else 12
    text = header.encode('latin-1')
    total = pre + len(text) + 1
    text += b' ' * ((64 - total % 64) % 64) + b'\n'
    hlen = len(text) if header_len is None else header_len
    length = struct.pack('<H', hlen) if version[0] == 1 else struct.pack('<I', hlen)
    with open(name, 'wb') as f:
        f.write(b'\x93NUMPY' + bytes(version) + length + text + data)


def safetensors(name, tensors, data, header_len=None, header_text=None, metadata=None):
    """tensors: {name: (dtype, shape, (begin, end))} in this order."""
    header = {}
    if metadata is not None:
        header['__metadata__'] = metadata
    for key, (dtype, shape, offsets) in tensors.items():
        header[key] = {'dtype': dtype, 'shape': list(shape), 'data_offsets': list(offsets)}
    text = header_text if header_text is not None else json.dumps(header).encode()
    text += b' ' * ((8 - len(text) % 8) % 8)
    hlen = len(text) if header_len is None else header_len
    with open(name, 'wb') as f:
        f.write(struct.pack('<Q', hlen) + text + data)


F32_3x4 = f32(1.5, 0.0, -2.0, 0.0,
              0.0, 0.0, 0.0, 0.0,
              -0.0, 0.25, 0.0, 3.0)
DICT = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }"

# .npy: good
npy('good_f32.npy', DICT % ('<f4', 'False', '(3, 4)'), F32_3x4)
# 2 x 3 half: smallest subnormal, largest finite, -2, 0, 1, -0
npy('good_f16.npy', DICT % ('<f2', 'False', '(2, 3)'),
    f16(0x0001, 0x7bff, 0xc000, 0x0000, 0x3c00, 0x8000))
npy('good_v2.npy', DICT % ('=f4', 'False', '(2L, 2L)'), f32(0.0, 1.0, 2.0, 0.0), version=(2, 0))
npy('good_v3.npy', '{"descr": "|f2", "fortran_order": False, "shape": (1, 3)}',
    f16(0x3555, 0x0000, 0x03ff), version=(3, 0))
# .npy: malformed, one per class
npy('bad_truncated.npy', DICT % ('<f4', 'False', '(3, 4)'), F32_3x4[:40])
npy('bad_count.npy', DICT % ('<f4', 'False', '(3, 4)'), F32_3x4 + f32(9.0))
npy('bad_nan.npy', DICT % ('<f4', 'False', '(3, 4)'), F32_3x4[:24] + NAN32 + F32_3x4[28:])
npy('bad_inf.npy', DICT % ('<f2', 'False', '(2, 3)'), f16(0x3c00, 0x3c00, 0x3c00, 0x3c00, 0x7c00, 0))
npy('bad_absurd.npy', DICT % ('<f4', 'False', '(2000000000, 2000000000)'), f32(1.0))
npy('bad_absurd_header.npy', DICT % ('<f4', 'False', '(1, 1)'), f32(1.0), version=(2, 0),
    header_len=0x7fffffff)
with open('bad_magic.npy', 'wb') as f:
    f.write(b'PK\x03\x04 this is a zip, not an array' + b'\0' * 32)
npy('bad_header.npy', "{'descr': '<f4' 'fortran_order': False, 'shape': (1, 1), }", f32(1.0))
npy('unsupported_f8.npy', DICT % ('<f8', 'False', '(1, 1)'), struct.pack('<d', 1.0))
npy('unsupported_bigendian.npy', DICT % ('>f4', 'False', '(1, 1)'), struct.pack('>f', 1.0))
npy('unsupported_fortran.npy', DICT % ('<f4', 'True', '(2, 2)'), f32(1, 2, 3, 4))
npy('unsupported_3d.npy', DICT % ('<f4', 'False', '(1, 2, 2)'), f32(1, 2, 3, 4))

# .safetensors: good. w_f32 [[1, 0, -2], [0, 0, 0.5]]; w_f16 [[0, 1], [-2, 65504]];
# w_bf16 [[1, 0], [-1, 0], [0, 3.0]] (0x3f80 = 1, 0xbf80 = -1, 0x4040 = 3).
W32 = f32(1.0, 0.0, -2.0, 0.0, 0.0, 0.5)
W16 = f16(0x0000, 0x3c00, 0xc000, 0x7bff)
WBF = f16(0x3f80, 0x0000, 0xbf80, 0x0000, 0x0000, 0x4040)
BIAS = f32(0.1, 0.2, 0.3)
safetensors('good.safetensors', {
    'bias': ('F32', [3], (0, 12)),
    'w_bf16': ('BF16', [3, 2], (12, 24)),
    'w_f16': ('F16', [2, 2], (24, 32)),
    'w_f32': ('F32', [2, 3], (32, 56)),
}, BIAS + WBF + W16 + W32, metadata={'format': 'pt', 'source': 'spmmfarm tests'})
safetensors('single.safetensors', {
    'bias': ('F32', [2], (0, 8)),
    'weight': ('F32', [2, 3], (8, 32)),
}, f32(1, 2) + W32)
# .safetensors: malformed, one per class
safetensors('bad_truncated.safetensors', {'w': ('F32', [2, 3], (0, 24))}, W32[:16])
safetensors('bad_count.safetensors', {'w': ('F32', [2, 3], (0, 20))}, W32[:20])
safetensors('bad_nan.safetensors', {'w': ('BF16', [3, 2], (0, 12))},
            WBF[:6] + f16(0x7fc0) + WBF[8:])
safetensors('bad_absurd.safetensors', {'w': ('F32', [2, 3], (0, 24))}, W32,
            header_len=1 << 60)
safetensors('bad_header.safetensors', {}, W32,
            header_text=b'{"w": {"dtype": "F32", "shape": [2, 3],, "data_offsets": [0, 24]}}')
safetensors('unsupported_dtype.safetensors', {'w': ('I64', [2, 2], (0, 32))}, b'\1' * 32)
safetensors('unsupported_3d.safetensors', {'w': ('F32', [1, 2, 3], (0, 24))}, W32)
