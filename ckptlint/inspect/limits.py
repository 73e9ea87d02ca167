"""How much the inspector is willing to read, decompress or allocate for one artifact.

An artifact is untrusted input: a few KB can declare gigabytes (an unallocated HDF5 dataset, a zip
member that inflates 1000x, a checkpoint entry whose shape does not match its bytes). Every size an
artifact declares is checked against these limits and against the bytes actually stored BEFORE anything
is allocated or decompressed, and tensor values are read and compared `chunk_bytes` at a time, so peak
memory stays bounded however large a real model is (measured by benchmarks/fuzz_inspect.py).
"""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1 << 20


@dataclass(frozen=True)
class Limits:
    # Tensor values are read (and diffed) this many bytes at a time; a whole-tensor read is allowed
    # only up to `max_whole_read` (scalars, string tensors, small arrays).
    chunk_bytes: int = 8 * MiB
    max_whole_read: int = 64 * MiB
    # Metadata a reader parses whole. Keras configs of very large models are a few MB; a bigger
    # config.json is skipped with a note (it only orders layers and names the optimizer).
    max_json_bytes: int = 16 * MiB
    max_state_file_bytes: int = 1 * MiB
    max_index_bytes: int = 256 * MiB  # a TF bundle .index: ~55 bytes per variable
    max_object_graph_bytes: int = 64 * MiB
    max_attribute_bytes: int = 16 * MiB  # one HDF5 attribute (layer and weight name lists)
    max_zip_members: int = 10_000
    max_path_chars: int = 4096  # PATH_MAX on Linux
    # Compressed data (zip members, filtered HDF5 datasets) may expand at most `max_expansion` times
    # its stored size once it is over `bomb_floor`; uncompressed data must be backed by stored bytes.
    # Keras writes neither compressed, and DEFLATE cannot exceed ~1032:1, so 100 leaves headroom for a
    # re-zipped archive while a decompression bomb (1000:1 and up) is refused before it is inflated.
    max_expansion: int = 100
    bomb_floor: int = 64 * MiB


DEFAULT_LIMITS = Limits()


def human(n: int) -> str:
    """1536 -> '1.5 KiB' (for error messages)."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover
