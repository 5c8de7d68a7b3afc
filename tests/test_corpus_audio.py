"""Corpus: audio files that are broken, silent, odd or hostile, through `podkit build`.

Broken files (truncated, empty, not audio, nothing to normalize) fail the episode with one
line naming the file and leave the last good build byte for byte as it was. Valid but
unusual files (8 kHz mono, 96 kHz 24-bit, 5.1, clipped, RF64, foreign tags, mixed rates and
channels) build an MP3 that is checked: 44.1 kHz stereo, the right length, -16 LUFS ±0.5 LU
and at most -1 dBTP by ffmpeg's own ebur128 meter, and whatever the row is about.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from audiosignals import decode_all, ebur128
from corpus_audio import (
    RATE,
    amplitude,
    audio_part,
    audio_single,
    built_mp3,
    built_ok,
    chapters_of,
    check_mp3,
    clipped,
    correlation,
    db,
    lag,
    lavfi,
    rf64,
    sine,
    speech_wav,
    sting,
    surround,
    tagged_mp3,
    truncated_mp3,
    truncated_wav,
    wrapped_riff,
)
from corpus_support import EP, EP_TOML, PROGRESS_RE, Case, Line, Run, corpus_built, edit, run_case  # noqa: F401

FAILED = "podkit: 1 of 1 episode(s) failed"
PREFIX = "failed first-episode: "
BUILD = ("build",)
LIMITING = "episodes/first-episode: audio: warning: heavy limiting: "


def failing(id: str, what: str, plant, outcome: str, line: Line, **kw) -> Case:
    """A row whose `podkit build` fails the episode and keeps the last good build."""
    return Case(id, what, plant, outcome, line, command=BUILD, built=True,
                summary=FAILED, **kw)


def valid(id: str, what: str, plant, outcome: str, verify, checked: str, **kw) -> Case:
    """A row whose `podkit build` succeeds; `verify` checks the MP3 it wrote."""
    def both_checks(root: Path, run: Run) -> None:
        built_ok(run)
        verify(root, run)
        # The one stderr line a valid build may add: material the limiter works hard on
        # (hot plosives, clipping) is reported, never silently squashed.
        assert all(ln.startswith(LIMITING) for ln in run.err_lines
                   if not PROGRESS_RE.match(ln)), run
    return Case(id, what, plant, outcome, None, command=BUILD, exit=0, verify=both_checks,
                checked=checked, extra_lines=1, **kw)


# ---- the checks of valid rows ----------------------------------------------------------------

def mono_8k(root: Path, run: Run) -> None:
    x = check_mp3(root, 4.0)
    assert correlation(x[:, 0], x[:, 1]) > 0.999          # mono goes to both sides alike


def hires(root: Path, run: Run) -> None:
    check_mp3(root, 4.0)


def downmixed(root: Path, run: Run) -> None:
    """ffmpeg's default (ITU-R BS.775) matrix: L = FL + 0.707 C + 0.707 BL, R likewise; LFE
    dropped. Each tone's amplitude in L and R, relative to the front channel's, within 0.5 dB."""
    x = check_mp3(root, 4.0)
    left = {f: amplitude(x[:, 0], f) for f in (300, 500, 700, 60, 900, 1100)}
    right = {f: amplitude(x[:, 1], f) for f in (300, 500, 700, 60, 900, 1100)}
    for side, own, centre, back, other in ((left, 300, 700, 900, (500, 1100)),
                                           (right, 500, 700, 1100, (300, 900))):
        assert abs(db(side[centre] / side[own]) + 3.01) < 0.5, side
        assert abs(db(side[back] / side[own]) + 3.01) < 0.5, side
        for f in (*other, 60):                                # the other side, the LFE
            assert db(side[f] / side[own]) < -40, (f, side)


def clipped_meets_target(root: Path, run: Run) -> None:
    check_mp3(root, 6.0)


def rf64_read(root: Path, run: Run) -> None:
    assert (root / EP / "long.wav").read_bytes()[:4] == b"RF64"     # the input really is RF64
    check_mp3(root, 4.0)


def only_our_tags(root: Path, run: Run) -> None:
    """No ID3v1, no APE, nothing of the source's tags; the audio is the source's audio."""
    from mutagen.id3 import ID3
    x = check_mp3(root, 4.0)
    mp3 = built_mp3(root)
    data = mp3.read_bytes()
    assert data[-128:-125] != b"TAG" and b"APETAGEX" not in data
    for word in ("LEAK", "LEAK".encode("utf-16-le").decode("latin-1")):
        assert word.encode("latin-1") not in data, word
    tags = ID3(mp3)
    assert str(tags["TIT2"]) == "First episode" and not tags.getall("TXXX")
    assert [str(c) for c in tags.getall("COMM")] == ["The first one."]
    # The source's waveform: tags read as audio would add frames (a shift) or noise bursts.
    src = decode_all(root / EP / "tagged.mp3", RATE, 2)[:, 0]
    out = x[:, 0]
    assert len(src) == len(out) and lag(src, out) == 0
    seg = RATE // 10                                    # every 100 ms that holds sound
    near = [correlation(src[i:i + seg], out[i:i + seg]) for i in range(0, len(src) - seg, seg)
            if np.std(src[i:i + seg]) > 1e-4]
    assert len(near) > 20 and min(near) > 0.9, near


def centred_speech_stereo_sting(root: Path, run: Run) -> None:
    x = check_mp3(root, 5.5)
    speech, jingle = x[int(0.2 * RATE):int(2.8 * RATE)], x[int(3.7 * RATE):int(5.3 * RATE)]
    assert correlation(speech[:, 0], speech[:, 1]) > 0.999
    assert abs(correlation(jingle[:, 0], jingle[:, 1])) < 0.1
    assert db(amplitude(jingle[:, 0], 990) / amplitude(jingle[:, 0], 660)) < -40
    assert db(amplitude(jingle[:, 1], 660) / amplitude(jingle[:, 1], 990)) < -40


def mixed_rates(root: Path, run: Run) -> None:
    check_mp3(root, 5.5)
    assert chapters_of(root) == [(0.0, "Intro"), (2.5, "Talk")]


def rate_part(root: Path) -> None:
    speech_wav(root / EP / "phone.wav", 2.0, rate=22050, channels=1)
    lavfi(root / EP / "studio.flac", *sine(440, 3.0, 48000), "-ac", "2")
    edit(root / EP_TOML, '"intro.flac"', '"phone.wav"')
    # The tone stands 3.4 LU above the phone's speech: a music part, set under it.
    edit(root / EP_TOML, '"body.flac"', '"studio.flac"\nlevel = "-3 LU"')


def mono_and_sting(root: Path) -> None:
    speech_wav(root / EP / "speech.wav", 3.0, channels=1)
    sting(root / EP / "sting.flac")
    edit(root / EP_TOML, '"intro.flac"', '"speech.wav"')
    # The sting stands 5.5 LU above the speech: set under it, as a producer would.
    edit(root / EP_TOML, '"body.flac"', '"sting.flac"\nlevel = "-3 LU"')


CASES = [
    # ---- broken files: the episode fails, the last good build stays ------------------------------
    failing("build-truncated-wav", "a part WAV cut after 1.5 s whose header declares 3 s",
            audio_part("intro.wav", truncated_wav),
            "refused at load (check says the same; was built without a word)",
            Line(EP_TOML, "parts[0].file", ("intro.wav is truncated", "declares 3.000 s",
                                             "holds 1.500 s"), prefix=PREFIX), process=True),
    Case("check-truncated-wav", "`podkit check` with that WAV", audio_part("intro.wav", truncated_wav),
         "the same line from check (it reads WAV headers, never decodes)",
         Line(EP_TOML, "parts[0].file", ("intro.wav is truncated", "declares 3.000 s")),
         summary="1 problem(s)"),
    failing("build-truncated-mp3", "a part MP3 (3 s by its Info header) cut mid-frame at half",
            audio_part("intro.mp3", truncated_mp3),
            "the episode fails when decoding comes up short (was built without a word; check "
            "reads headers only)",
            Line(f"{EP}/intro.mp3", None, ("truncated", "decodes to 1.4", "declares 3.000 s"),
                 prefix=PREFIX, absolute=True)),
    failing("build-zero-byte", "`podkit build` with a zero-byte part",
            lambda r: (r / EP / "intro.flac").write_bytes(b""),
            "refused at load, as by check",
            Line(EP_TOML, "parts[0].file", ("intro.flac is empty (0 bytes)",), prefix=PREFIX)),
    failing("build-text-as-wav", "`podkit build` with a text file named `.wav` as a part",
            audio_part("intro.wav", lambda p: p.write_text("RIFF? no: the script, saved as .wav\n")),
            "the episode fails naming the file (ffmpeg's probe)",
            Line(f"{EP}/intro.wav", None, ("not a readable audio file",), prefix=PREFIX,
                 absolute=True), process=True),
    failing("build-digital-silence", "an episode whose only audio is 3 s of digital silence",
            audio_single("silence.wav", lambda p: lavfi(p, "-f", "lavfi", "-i",
                                                          "anullsrc=r=44100:cl=stereo", "-t", "3")),
            "the episode fails: no gain can normalize silence",
            Line(f"{EP}/silence.wav", None, ("digital silence",), prefix=PREFIX, absolute=True)),
    failing("build-0.2s", "an episode whose only audio lasts 0.2 s",
            audio_single("short.wav", lambda p: lavfi(p, *sine(440, 0.2), "-ac", "2")),
            "the episode fails: shorter than one 400 ms loudness block",
            Line(f"{EP}/short.wav", None, ("0.200 s long", "shorter than one 400 ms"),
                 prefix=PREFIX, absolute=True)),
    failing("build-below-gate", "an episode whose only audio is a tone at -75 dBFS (24-bit)",
            audio_single("quiet.wav", lambda p: lavfi(p, *sine(440, 3), "-af", "volume=-54dB",
                                                       "-ac", "2", "-c:a", "pcm_s24le")),
            "the episode fails: below the -70 LUFS absolute gate",
            Line(f"{EP}/quiet.wav", None, ("quieter than the -70 LUFS absolute gate",
                                           "sample peak -75.1 dBFS"), prefix=PREFIX, absolute=True)),
    failing("build-dc-and-one-click", "an episode whose only audio is 5 s of a DC offset "
            "with one click (near-silent)",
            audio_single("click.wav", lambda p: lavfi(
                p, "-f", "lavfi", "-i", "aevalsrc=0.01+0.9*eq(n\\,44100):s=44100:d=5",
                "-ac", "2")),
            "the episode fails: no programme to normalize (it used to build 10 LU off target "
            "with 128.9 dB of limiting, then validate suggested --force, which cannot help)",
            Line(f"{EP}/click.wav", None, ("too quiet", "0.7 s of its 5.0 s",
                                           "no programme to normalize"),
                 prefix=PREFIX, absolute=True)),
    failing("build-wav-over-4gib", "a plain RIFF WAV of 4 GiB + 1 s (sparse) whose 32-bit sizes "
            "wrapped to 1 s", audio_part("intro.wav", wrapped_riff),
            "refused at load without reading it: only RF64 can describe more than 4 GiB (ffmpeg "
            "would read the wrapped 1 s)",
            Line(EP_TOML, "parts[0].file", ("intro.wav", "4.0 GiB", "RF64"), prefix=PREFIX),
            checked="big files hashed by size and their first and last MiB"),
    # ---- valid but unusual: a correct MP3 ------------------------------------------------------
    valid("mono-8k", "an episode of 8 kHz mono speech (a phone line)",
          audio_single("phone.wav", lambda p: speech_wav(p, 4.0, rate=8000, channels=1)),
          "built: 44.1 kHz stereo, both sides alike", mono_8k,
          "MP3 44.1 kHz stereo, 4.000 s, -16 ±0.5 LUFS and ≤ -1 dBTP (ffmpeg ebur128); L and R "
          "correlate > 0.999", process=True),
    valid("hires-96k-24bit", "an episode of 96 kHz 24-bit stereo speech",
          audio_single("hires.wav", lambda p: speech_wav(p, 4.0, rate=96000, bits=24)),
          "built: resampled to 44.1 kHz", hires,
          "MP3 44.1 kHz stereo, 4.000 s, -16 ±0.5 LUFS, ≤ -1 dBTP"),
    valid("surround-5.1", "a 5.1 WAV (48 kHz), one tone per channel",
          audio_single("surround.wav", surround),
          "built: downmixed to the preset's stereo by ffmpeg's default matrix (documented in "
          "docs/formats.md)", downmixed,
          "the MP3 as above; per side, centre and back tones -3.0 ±0.5 dB against the front "
          "one, the other side's tones and the LFE below -40 dB"),
    valid("clipped-0dbfs", "speech at about -26 LUFS whose plosives are hard-clipped at 0 dBFS "
          "(true peak > 0 dBTP)", audio_single("clipped.wav", clipped),
          "built: limited under the ceiling, on target", clipped_meets_target,
          "MP3 -16 ±0.5 LUFS and ≤ -1 dBTP by ffmpeg ebur128 (input measured by it too)"),
    valid("rf64-wav", "an RF64 WAV (ffmpeg `-rf64 always`: the >4 GiB format, on a short signal)",
          audio_single("long.wav", rf64),
          "built: RF64 is read like any WAV", rf64_read,
          "input starts with RF64; MP3 44.1 kHz stereo, 4.000 s, on target"),
    valid("mp3-foreign-tags", "an MP3 carrying ID3v2.3 (cover, TXXX, COMM), ID3v1 and APEv2 tags",
          audio_single("tagged.mp3", tagged_mp3),
          "built: only podkit's ID3v2 tag; no ID3v1, no APE, none of the source's text", only_our_tags,
          "mutagen: TIT2/COMM are the episode's, no TXXX; no `TAG` trailer, no APETAGEX, "
          "the word LEAK in no encoding; the source's waveform: same length, no shift, every 100 ms "
          "correlates > 0.9"),
    valid("mono-speech-stereo-sting", "parts: 3 s of mono speech, then a stereo sting "
          "(660 Hz left, 990 Hz right)", mono_and_sting,
          "built: speech centred, the sting keeps its stereo", centred_speech_stereo_sting,
          "MP3 5.5 s on target; L/R correlate > 0.999 in the speech, ~0 in the sting, each "
          "sting tone on its own side (other side < -40 dB)"),
    valid("mixed-sample-rates", "parts at 22.05 kHz mono and 48 kHz stereo", rate_part,
          "built: both resampled to 44.1 kHz, timing kept", mixed_rates,
          "MP3 5.5 s on target; chapters at 0.0 and 2.5 s (2 s + 0.5 s gap)"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_audio_case(case: Case, corpus_built: Path, tmp_path: Path) -> None:
    run_case(case, corpus_built, tmp_path)


def test_the_clipped_input_is_hostile(tmp_path: Path) -> None:
    """The clipped row is only worth something if its input is clipped and far off target."""
    clipped(tmp_path / "clipped.wav")
    meter = ebur128(tmp_path / "clipped.wav")
    assert meter["TP"] > 0.0 and meter["I"] < -24.0, meter
