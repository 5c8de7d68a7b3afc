"""Sidecar files: the cart fields of a cut in JSON or XML, for systems that read one beside the audio.

The fields are those of the AES46 cart chunk the WAV itself carries (title, artist, cut id,
out-cue, air window), plus what a producer's import script usually wants (length,
loudness, the audio's SHA-256). Written deterministically (sorted keys, no timestamps),
so a sidecar is byte-identical while its cut is, and incremental delivery skips it.
"""
from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from toolkit.delivermodel import CutFile, Sidecar


def fields(cut: CutFile) -> dict[str, object]:
    """The sidecar's fields for one cut (None values left out)."""
    data: dict[str, object | None] = {
        "file": cut.name, "cut": cut.cut, "cart": cut.cart or None, "title": cut.title or None,
        "artist": cut.artist or None, "start_date": cut.date or None,
        "end_date": cut.end_date or None,
        "out_cue": cut.out_cue or None, "format": cut.format or None,
        "duration_s": round(cut.duration, 3) if cut.duration is not None else None,
        "loudness_lufs": round(cut.integrated, 1) if cut.integrated is not None else None,
        "true_peak_dbtp": round(cut.true_peak, 1) if cut.true_peak is not None else None,
        "size": cut.size, "sha256": cut.sha256,
    }
    return {k: v for k, v in data.items() if v is not None}


def name_for(cut: CutFile, kind: Sidecar) -> str:
    """The sidecar's file name: the cut's name with .json or .xml added."""
    return f"{cut.name}.{kind.value}"


def render(cut: CutFile, kind: Sidecar) -> bytes:
    """The sidecar's bytes (UTF-8)."""
    data = fields(cut)
    if kind is Sidecar.JSON:
        return (json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()
    root = ET.Element("cart")
    for key in sorted(data):
        ET.SubElement(root, key).text = str(data[key])
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
