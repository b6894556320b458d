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


def f64(*values):
    return b''.join(struct.pack('<d', v) for v in values)


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
# float64, rounded to float32 when read: 0.1 changes (relative 1.49e-8),
# 1e-50 becomes 0 (pruned), 1 and -2.5 are exact.
F64_2x3 = f64(0.1, 0.0, 1.0, 0.0, 1e-50, -2.5)
npy('good_f64.npy', DICT % ('<f8', 'False', '(2, 3)'), F64_2x3)
# a convolution weight O x I x kh x kw = 2 x 3 x 2 x 2, read as 2 x 12:
# element (o, i, y, x) = o*12 + i*4 + y*2 + x + 1 where that is odd, else 0.
CONV = [v if v % 2 else 0 for v in range(1, 25)]
npy('good_conv.npy', DICT % ('<f4', 'False', '(2, 3, 2, 2)'), f32(*CONV))
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
npy('unsupported_i8.npy', DICT % ('<i8', 'False', '(1, 1)'), struct.pack('<q', 1))
npy('unsupported_bigendian.npy', DICT % ('>f4', 'False', '(1, 1)'), struct.pack('>f', 1.0))
npy('unsupported_fortran.npy', DICT % ('<f4', 'True', '(2, 2)'), f32(1, 2, 3, 4))
npy('unsupported_3d.npy', DICT % ('<f4', 'False', '(1, 2, 2)'), f32(1, 2, 3, 4))
npy('bad_range_f64.npy', DICT % ('<f8', 'False', '(1, 2)'), f64(1.0, 1e300))

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

# A checkpoint: a convolution, a float64 linear layer, their biases, an
# integer buffer; and the same tensors sharded over two files by an index.
CKPT = {
    'conv.weight': ('F32', [2, 3, 2, 2], f32(*CONV)),
    'conv.bias': ('F32', [2], f32(0.5, 0.0)),
    'fc.weight': ('F64', [2, 3], F64_2x3),
    'fc.bias': ('F64', [2], f64(0.0, 0.0)),
    'steps': ('I64', [1], struct.pack('<q', 7)),
}


def checkpoint(name, names):
    tensors, data = {}, b''
    for key in names:
        dtype, shape, raw = CKPT[key]
        tensors[key] = (dtype, shape, (len(data), len(data) + len(raw)))
        data += raw
    safetensors(name, tensors, data, metadata={'format': 'pt'})


checkpoint('ckpt.safetensors', list(CKPT))
checkpoint('ckpt-00001-of-00002.safetensors', ['conv.weight', 'conv.bias'])
checkpoint('ckpt-00002-of-00002.safetensors', ['fc.weight', 'fc.bias', 'steps'])
with open('ckpt.safetensors.index.json', 'w') as f:
    json.dump({'metadata': {'total_size': sum(len(v[2]) for v in CKPT.values())},
               'weight_map': {'conv.weight': 'ckpt-00001-of-00002.safetensors',
                              'conv.bias': 'ckpt-00001-of-00002.safetensors',
                              'fc.weight': 'ckpt-00002-of-00002.safetensors',
                              'fc.bias': 'ckpt-00002-of-00002.safetensors',
                              'steps': 'ckpt-00002-of-00002.safetensors'}}, f, indent=1)
    f.write('\n')
# an index naming a tensor its shard does not hold
with open('bad_index.safetensors.index.json', 'w') as f:
    json.dump({'weight_map': {'conv.weight': 'ckpt-00002-of-00002.safetensors'}}, f)
    f.write('\n')
