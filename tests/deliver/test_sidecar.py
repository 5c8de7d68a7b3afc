"""Sidecars: the cart fields beside a cut, read back with parsers podkit did not write."""
from __future__ import annotations

import json
from pathlib import Path

import defusedxml.ElementTree as SafeET

from toolkit.deliver import sidecar
from toolkit.delivermodel import CutFile, Sidecar

CUT = CutFile(slug="hanoi", cut="air", path=Path("/b/KA0312.wav"), size=123, sha256="ab" * 32,
              format="wav", duration=569.9876, integrated=-23.04, true_peak=-2.96, cart="KA0312",
              title="Hanoi & the <summit>", artist="Example Radio", date="2019-03-07",
              end_date="2019-03-14T23:59:59+09:00", out_cue="…and that was Korea A to Z.")


def test_json_sidecar_has_the_cart_fields_and_is_deterministic():
    data = json.loads(sidecar.render(CUT, Sidecar.JSON))
    assert data == {"file": "KA0312.wav", "cut": "air", "cart": "KA0312",
                    "title": "Hanoi & the <summit>", "artist": "Example Radio",
                    "start_date": "2019-03-07", "end_date": "2019-03-14T23:59:59+09:00",
                    "out_cue": "…and that was Korea A to Z.", "format": "wav",
                    "duration_s": 569.988, "loudness_lufs": -23.0, "true_peak_dbtp": -3.0,
                    "size": 123, "sha256": "ab" * 32}
    assert sidecar.render(CUT, Sidecar.JSON) == sidecar.render(CUT, Sidecar.JSON)
    assert sidecar.name_for(CUT, Sidecar.JSON) == "KA0312.wav.json"


def test_xml_sidecar_parses_and_escapes():
    root = SafeET.fromstring(sidecar.render(CUT, Sidecar.XML))
    assert root.tag == "cart"
    assert root.findtext("title") == "Hanoi & the <summit>"
    assert root.findtext("cart") == "KA0312" and root.findtext("out_cue").startswith("…and")
    assert root.findtext("loudness_lufs") == "-23.0"
