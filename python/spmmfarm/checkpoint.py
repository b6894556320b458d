"""spmmfarm.checkpoint: writes a PyTorch state dict as a safetensors
checkpoint, one file or sharded with its model.safetensors.index.json (the
layout Hugging Face uses), for `spmmfarm import`. No dependency but torch
(and numpy, which torch's .numpy() needs).

    spmmfarm.checkpoint.save(model.state_dict(), "bert/model.safetensors")
    spmmfarm.checkpoint.save(model.state_dict(), "llama/", shard_bytes=2 << 30)
"""
import json
import os
import struct

__all__ = ["save"]

_DTYPES = {"torch.float32": "F32", "torch.float16": "F16", "torch.bfloat16": "BF16", "torch.float64": "F64",
           "torch.int64": "I64", "torch.int32": "I32", "torch.int8": "I8", "torch.uint8": "U8", "torch.bool": "BOOL"}


def _bytes(t):
    import torch
    t = t.detach().to("cpu").contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: its bits
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def _write(path, tensors):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors:
        dtype = _DTYPES.get(str(t.dtype))
        if dtype is None:
            raise TypeError("spmmfarm.checkpoint: tensor %s: dtype %s is not written" % (name, t.dtype))
        data = _bytes(t)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)
    return offset


def save(state_dict, path, shard_bytes=None):
    """Writes state_dict's tensors. path ending in .safetensors: one file;
    else a directory: model.safetensors, or with shard_bytes, shards of at
    most that many bytes of data (a larger tensor gets a shard of its own)
    named model-0000i-of-0000K.safetensors and model.safetensors.index.json.
    Returns the path to give `spmmfarm import`."""
    items = [(k, v) for k, v in state_dict.items()]
    if path.endswith(".safetensors"):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        _write(path, items)
        return path
    os.makedirs(path, exist_ok=True)
    if not shard_bytes:
        single = os.path.join(path, "model.safetensors")
        _write(single, items)
        return single
    shards, current, size = [], [], 0
    for name, t in items:
        nbytes = t.numel() * t.element_size()
        if current and size + nbytes > shard_bytes:
            shards.append(current)
            current, size = [], 0
        current.append((name, t))
        size += nbytes
    if current:
        shards.append(current)
    weight_map, total = {}, 0
    for i, shard in enumerate(shards):
        name = "model-%05d-of-%05d.safetensors" % (i + 1, len(shards))
        total += _write(os.path.join(path, name), shard)
        weight_map.update({t: name for t, _ in shard})
    index = os.path.join(path, "model.safetensors.index.json")
    with open(index, "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    return index
