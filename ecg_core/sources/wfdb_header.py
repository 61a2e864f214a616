"""A fast reader for the common case of WFDB records: one signal file in format 16 (PTB-XL, MIMIC-IV-ECG).

wfdb's own header parser builds pandas objects per field and costs ~16 ms a header, more than reading
the signal; this one is plain string work. Anything it does not cover (other formats, multi-segment
records, several signal files) returns None from `read_format16` so callers fall back to wfdb.rdrecord.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ecg_core.sources.canonical import unit_to_mv

_GAIN = re.compile(r"^(?P<gain>[-+0-9.eE]+)(\((?P<baseline>-?\d+)\))?(/(?P<units>\S+))?$")
DEFAULT_GAIN = 200.0  # WFDB: a gain of 0 or none means 200 ADC units per physical unit

# Bits per stored sample of the WFDB formats whose file size follows from the header (others: no check).
_BITS = {
    "8": Fraction(8),
    "16": Fraction(16),
    "24": Fraction(24),
    "32": Fraction(32),
    "61": Fraction(16),
    "80": Fraction(8),
    "160": Fraction(16),
    "212": Fraction(12),
    "310": Fraction(32, 3),
    "311": Fraction(32, 3),
}


@dataclass
class Header:
    record_name: str
    n_sig: int
    fs: float
    sig_len: int
    file_name: list[str]
    fmt: list[str]
    byte_offset: list[int]
    adc_gain: list[float]
    baseline: list[int]
    units: list[str]
    sig_name: list[str]
    comments: list[str]


def read_header(path: str | Path) -> Header:
    """Parse a single-segment `.hea`; raises ValueError naming what is malformed."""
    lines = [line.strip() for line in Path(path).read_text(errors="replace").splitlines()]
    comments = [line[1:].strip() for line in lines if line.startswith("#")]
    fields = [line.split() for line in lines if line and not line.startswith("#")]
    if not fields:
        raise ValueError("header has no record line")
    record = fields[0]
    if "/" in record[0]:
        raise ValueError("multi-segment record")
    if len(record) < 4:
        raise ValueError(f"record line {' '.join(record)!r} lacks sampling rate or length")
    n_sig, fs, sig_len = int(record[1]), float(record[2].split("/")[0]), int(record[3])
    signals = fields[1 : 1 + n_sig]
    if len(signals) != n_sig:
        raise ValueError(f"header declares {n_sig} signals but has {len(signals)} signal lines")
    header = Header(record[0], n_sig, fs, sig_len, [], [], [], [], [], [], [], comments)
    for spec in signals:
        header.file_name.append(spec[0])
        header.fmt.append(re.split(r"[x:+]", spec[1])[0])
        header.byte_offset.append(int(spec[1].split("+")[1]) if "+" in spec[1] else 0)
        match = _GAIN.match(spec[2]) if len(spec) > 2 else None
        gain = float(match["gain"]) if match else 0.0
        adc_zero = int(spec[4]) if len(spec) > 4 else 0
        header.adc_gain.append(gain or DEFAULT_GAIN)
        header.baseline.append(int(match["baseline"]) if match and match["baseline"] else adc_zero)
        header.units.append(match["units"] if match and match["units"] else "mV")
        header.sig_name.append(" ".join(spec[8:]) if len(spec) > 8 else f"sig{len(header.sig_name)}")
    return header


def read_format16(header: Header, folder: Path) -> np.ndarray | None:
    """Physical values [n_sig, sig_len] (header units), or None when the record is not one format-16 file."""
    if set(header.fmt) != {"16"} or len(set(header.file_name)) != 1 or any(header.byte_offset):
        return None
    raw = np.fromfile(folder / header.file_name[0], dtype="<i2", count=header.n_sig * header.sig_len)
    # Convert in the file's sample-major order (contiguous, fast), then one transposing copy to [n_sig, N].
    # float32: 16-bit ADC data needs no more.
    physical = raw.reshape(header.sig_len, header.n_sig).astype(np.float32)
    physical -= np.asarray(header.baseline, dtype=np.float32)
    physical /= np.asarray(header.adc_gain, dtype=np.float32)
    return np.ascontiguousarray(physical.T)


def check_signal_files(hdr, folder: Path) -> str | None:
    """None when every signal file exists and holds the samples the header declares, else the reason."""
    frames: dict[str, list[int]] = {}
    for i, fname in enumerate(hdr.file_name):
        if not fname or "/" in fname or "\\" in fname or fname.startswith("."):
            return f"header names an unsafe signal file {fname!r}"
        frames.setdefault(fname, []).append(i)
    for fname, rows in frames.items():
        path = folder / fname
        if not path.exists():
            return f"signal file {fname!r} named in the header is missing"
        fmt = hdr.fmt[rows[0]]
        if not hdr.sig_len or fmt not in _BITS:
            continue
        offset = (hdr.byte_offset[rows[0]] if hdr.byte_offset else None) or 0
        per_frame = sum((hdr.samps_per_frame[i] if getattr(hdr, "samps_per_frame", None) else 1) or 1 for i in rows)
        frame_bits = _BITS[fmt] * per_frame
        have_bytes = path.stat().st_size - offset
        need_bytes = -(-(hdr.sig_len * frame_bits) // 8)  # ceil
        if have_bytes < need_bytes:
            have_samples = int(max(have_bytes, 0) * 8 // frame_bits)
            partial = max(have_bytes, 0) * 8 % frame_bits != 0
            what = "is truncated (ends mid-frame)" if partial else "is shorter than the header says"
            return (
                f"signal file {fname!r} {what}: holds {have_samples} samples per lead "
                f"({path.stat().st_size} bytes) but the header declares {hdr.sig_len} ({need_bytes + offset} bytes)"
            )
    return None


def open_record(header_path: Path) -> Header:
    """The header of a record whose signal files are all there and long enough; ValueError says why not."""
    name = header_path.name
    if not header_path.exists():
        raise ValueError(f"header {name} is missing")
    try:
        header = read_header(header_path)
    except (OSError, ValueError) as err:
        raise ValueError(f"unreadable header {name}: {err}") from None
    if not header.n_sig or not header.sig_len:
        raise ValueError(f"header {name} declares no signals")
    if not header.fs or header.fs <= 0:
        raise ValueError(f"header {name} has invalid sampling frequency {header.fs}")
    problem = check_signal_files(header, header_path.parent)
    if problem:
        raise ValueError(problem)
    return header


def read_millivolts(header: Header, header_path: Path) -> np.ndarray:
    """[n_sig, N] in mV: the fast format-16 path, else wfdb.rdrecord; ValueError for an unknown unit."""
    signal = read_format16(header, header_path.parent)
    if signal is None:
        import wfdb  # only for the formats the fast path does not cover

        signal = np.asarray(wfdb.rdrecord(str(header_path.with_suffix("")), physical=True).p_signal, dtype=np.float32).T
    for row, unit in enumerate(header.units):
        try:
            signal[row] *= unit_to_mv(unit or "mV")
        except ValueError:
            raise ValueError(f"lead {header.sig_name[row]} has unknown unit {unit!r}") from None
    return signal
