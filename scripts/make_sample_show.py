"""Generate the sample show's media ("Korean Peninsula A to Z") from committed text.

Run from the repository root with the project venv:

    .venv/bin/python scripts/make_sample_show.py        # speech, stings, bed, VTT, cover

Only this script needs espeak-ng (`apt-get install espeak-ng`); the files it writes are
committed, so building the show on a fresh machine needs no text-to-speech.

Reads   episodes/hanoi-summit/transcript.txt (with drop_lines from its episode.toml)
        scripts/sample_show/pyeongchang-hockey.txt
Writes  episodes/hanoi-summit/{intro,host-intro,analysis,host-close,outro,bed}.ogg
        episodes/pyeongchang-hockey/{episode.ogg,transcript.vtt}
        the generated [[chapters]] block at the end of episodes/pyeongchang-hockey/episode.toml
        feeds/korea-az.jpg (scripts/make_cover.py)

The host (Claire Whitfield) and the commentator (Dr. Ji-hoon Seo of the Hanbit Institute
for Peninsula Affairs) are fictional people; any likeness to real persons is accidental.
espeak-ng, numpy and libvorbis are deterministic and the Ogg serial numbers are pinned
(bitexact), so the same text, tools and versions give the same bytes.
"""
from __future__ import annotations

import argparse
import logging
import re
import subprocess
import sys
import tempfile
import tomllib
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_cover import write as write_cover  # noqa: E402
from sample_audio import (  # noqa: E402
    SR,
    at_loudness,
    bed,
    encode,
    silence,
    sting,
    to_mono,
    voice_chain,
)

from toolkit.text.transcript_read import drop_lines  # noqa: E402

log = logging.getLogger("make_sample_show")

HANOI = "hanoi-summit"
HOCKEY = "pyeongchang-hockey"
SENTENCE_PAUSE = 0.30     # seconds between sentences of one paragraph
PARAGRAPH_PAUSE = 0.70    # seconds between paragraphs
PART_PAD = 0.40           # room tone at both ends of a speech part (crossfades land here)
# Source levels as a broadcaster would deliver them: speech at EBU R 128's -23 LUFS,
# stings a little hotter, the bed at music level (the episode's bed_gain ducks it).
SPEECH_LUFS, STING_LUFS, BED_LUFS = -23.0, -21.0, -23.0
BEGIN_MARK = "# ---- BEGIN generated chapters (scripts/make_sample_show.py); do not edit ----"
END_MARK = "# ---- END generated chapters ----"


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice: name with variant, words per minute, pitch 0-99."""

    name: str
    speed: int
    pitch: int


# Two clearly different voices: a US female host and a British male commentator.
VOICES = {
    "Host": Voice("en-us+f3", 160, 58),
    "Ji-hoon Seo": Voice("en-gb-x-rp+m3", 148, 38),
}
# WebVTT voice tags name people, not roles.
DISPLAY = {"Host": "Claire Whitfield", "Ji-hoon Seo": "Ji-hoon Seo"}

# Spoken forms only: the transcript keeps the written spelling.
PRONOUNCE = {
    "Dr.": "Doctor", "Ji-hoon": "Jee-hoon", "Seo": "Suh", "Yongbyon": "Yong-byon",
    "Kaesong": "Kay-song", "Kumgang": "Koom-gahng", "Panmunjom": "Pan-moon-jom",
    "PyeongChang": "Pyong-chahng", "Hanbit": "Hahn-bit",
}


def spoken(text: str) -> str:
    """The text as espeak-ng should read it (names respelled for English rules)."""
    for written, said in PRONOUNCE.items():
        text = re.sub(rf"(?<![\w-]){re.escape(written)}(?![\w-])", said, text)
    return text


def sentences(text: str) -> list[str]:
    """Split a paragraph into sentences; 'Dr.' does not end one."""
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9])", text.strip())
    out: list[str] = []
    for part in parts:
        if out and out[-1].endswith("Dr."):
            out[-1] += " " + part
        else:
            out.append(part)
    return out


def speak(text: str, voice: Voice, workdir: Path) -> np.ndarray:
    """Synthesize one sentence with espeak-ng; mono float32 at SR, silence trimmed."""
    wav = workdir / "say.wav"
    subprocess.run(["espeak-ng", "-v", voice.name, "-s", str(voice.speed), "-p", str(voice.pitch),
                    "-w", str(wav), spoken(text)], check=True, capture_output=True)
    with wave.open(str(wav)) as w:
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768
    g = np.gcd(SR, rate)
    audio = resample_poly(pcm, SR // g, rate // g).astype(np.float32)
    # Trim espeak's own leading/trailing silence so cue times hug the words (-50 dBFS gate).
    loud = np.flatnonzero(np.abs(audio) > 0.003)
    if loud.size == 0:
        raise SystemExit(f"espeak-ng produced silence for: {text!r}")
    return audio[max(loud[0] - 220, 0): loud[-1] + 441]


@dataclass(frozen=True)
class Cue:
    """One synthesized sentence: start/end in seconds from the start of its audio."""

    start: float
    end: float
    speaker: str
    text: str


def read_paragraphs(lines: list[str], where: str) -> list[tuple[str, str]]:
    """Parse 'Speaker: text' paragraphs; blank lines and '#' comments are skipped."""
    paras = []
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        speaker, sep, text = line.partition(": ")
        if not sep or speaker not in VOICES:
            raise SystemExit(f"{where}: line {n}: expected 'Host: ...' or 'Ji-hoon Seo: ...'")
        paras.append((speaker, text))
    return paras


def speech(paras: list[tuple[str, str]], workdir: Path, pad: float = PART_PAD) -> tuple[np.ndarray, list[Cue]]:
    """Synthesize paragraphs sentence by sentence; return mono audio and its cues."""
    chunks = [silence(pad)]
    cues: list[Cue] = []
    pos = chunks[0].size
    for i, (speaker, text) in enumerate(paras):
        for j, sentence in enumerate(sentences(text)):
            if i or j:
                gap = silence(SENTENCE_PAUSE if j else PARAGRAPH_PAUSE)
                chunks.append(gap)
                pos += gap.size
            audio = speak(sentence, VOICES[speaker], workdir)
            cues.append(Cue(pos / SR, (pos + audio.size) / SR, speaker, sentence))
            chunks.append(audio)
            pos += audio.size
    chunks.append(silence(pad))
    # Per part, so the two voices match in loudness (espeak's male voice reads ~3 LU quieter).
    # Through a station's voice processing (sample_audio.voice_chain), as delivered speech is.
    voiced = voice_chain(np.concatenate(chunks), SPEECH_LUFS)
    return at_loudness(voiced, SPEECH_LUFS, workdir), cues


def transcript_body(episode_dir: Path) -> list[str]:
    """The transcript's lines without the page furniture named by drop_lines."""
    meta = tomllib.loads((episode_dir / "episode.toml").read_text("utf-8"))
    spec = meta["transcripts"][0]
    path = episode_dir / spec["file"]
    lines = path.read_text("utf-8").splitlines()
    # The same reading as podkit's (lines of text counted, blank lines skipped).
    return drop_lines(lines, tuple(spec.get("drop_lines", [])), path)


def make_hanoi(root: Path, workdir: Path) -> dict[str, float]:
    """Episode one as parts: stings, host introduction, analysis, host close, bed."""
    folder = root / "episodes" / HANOI
    paras = read_paragraphs(transcript_body(folder), f"episodes/{HANOI}/transcript.txt")
    first = next(i for i, (s, _) in enumerate(paras) if s != "Host")
    last = max(i for i, (s, _) in enumerate(paras) if s != "Host")
    host_intro, _ = speech(paras[:first], workdir)
    analysis, _ = speech(paras[first:last + 1], workdir)
    host_close, _ = speech(paras[last + 1:], workdir)
    files = {
        "intro.ogg": at_loudness(sting(rising=True), STING_LUFS, workdir),
        "host-intro.ogg": host_intro,
        "analysis.ogg": analysis,
        "host-close.ogg": host_close,
        "outro.ogg": at_loudness(sting(rising=False), STING_LUFS, workdir),
        # The bed runs under the host introduction: the same length, faded at both ends.
        "bed.ogg": at_loudness(bed(host_intro.size / SR), BED_LUFS, workdir),
    }
    return {name: encode(audio, folder / name, workdir) for name, audio in files.items()}


def vtt_time(seconds: float) -> str:
    """WebVTT timestamp hh:mm:ss.mmm."""
    ms = int(round(seconds * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def toml_time(seconds: float) -> str:
    """A podkit time string m:ss.mmm."""
    ms = int(round(seconds * 1000))
    return f"{ms // 60000}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 text with LF endings via a temp file and rename."""
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(text, "utf-8", newline="\n")
    tmp.replace(path)


def replace_chapters(toml_path: Path, chapters: list[tuple[float, str]]) -> None:
    """Rewrite the generated [[chapters]] block at the end of an episode.toml."""
    text = toml_path.read_text("utf-8")
    head, sep, _ = text.partition(BEGIN_MARK)
    if not sep:
        raise SystemExit(f"{toml_path}: marker line {BEGIN_MARK!r} not found")
    block = [BEGIN_MARK]
    for start, title in chapters:
        block += ["[[chapters]]", f'start = "{toml_time(start)}"', f'title = "{title}"', ""]
    block.append(END_MARK)
    write_text(toml_path, head + "\n".join(block) + "\n")
    tomllib.loads(toml_path.read_text("utf-8"))  # the result must still parse


def make_hockey(root: Path, workdir: Path) -> dict[str, float]:
    """Episode two as one file with explicit chapters and a timed WebVTT transcript."""
    folder = root / "episodes" / HOCKEY
    source = root / "scripts" / "sample_show" / f"{HOCKEY}.txt"
    paras = read_paragraphs(source.read_text("utf-8").splitlines(), str(source.relative_to(root)))
    first = next(i for i, (s, _) in enumerate(paras) if s != "Host")
    last = max(i for i, (s, _) in enumerate(paras) if s != "Host")
    sections = [paras[:first], paras[first:last + 1], paras[last + 1:]]

    intro, outro = (at_loudness(to_mono(sting(rising=r)), STING_LUFS, workdir) for r in (True, False))
    overlap = int(1.0 * SR)   # the host starts while the intro sting's last chord rings
    pieces: list[tuple[int, np.ndarray]] = [(0, intro)]
    pos = intro.size - overlap
    cues: list[Cue] = []
    marks: list[float] = [0.0]
    for section in sections:
        audio, section_cues = speech(section, workdir)
        pieces.append((pos, audio))
        marks.append(pos / SR)   # a chapter starts with its section's room tone
        cues += [Cue(c.start + pos / SR, c.end + pos / SR, c.speaker, c.text) for c in section_cues]
        pos += audio.size
    marks.append(pos / SR)
    pieces.append((pos, outro))
    total = np.zeros(pos + outro.size, dtype=np.float32)
    for at, audio in pieces:
        total[at:at + audio.size] += audio

    seconds = {"episode.ogg": encode(total, folder / "episode.ogg", workdir)}
    lines = ["WEBVTT", ""]
    for n, cue in enumerate(cues, 1):
        lines += [str(n), f"{vtt_time(cue.start)} --> {vtt_time(cue.end)}",
                  f"<v {DISPLAY[cue.speaker]}>{cue.text}", ""]
    write_text(folder / "transcript.vtt", "\n".join(lines))
    # The closing host words stay inside the analysis chapter, as in episode one.
    titles = ["Opening", "Introduction", "A joint team on the ice", "Closing music"]
    replace_chapters(folder / "episode.toml", list(zip([marks[0], marks[1], marks[2], marks[4]], titles)))
    return seconds


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="show folder (default: the repo)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory(prefix="podkit-sample-") as tmp:
        work = Path(tmp)
        durations = {f"{HANOI}/{k}": v for k, v in make_hanoi(args.root, work).items()}
        durations |= {f"{HOCKEY}/{k}": v for k, v in make_hockey(args.root, work).items()}
    cover = write_cover(args.root / "feeds" / "korea-az.jpg")
    total = 0
    for name, secs in durations.items():
        size = (args.root / "episodes" / name).stat().st_size
        total += size
        log.info("episodes/%-32s %7.2f s %8.1f KB", name, secs, size / 1024)
    log.info("feeds/korea-az.jpg %.1f KB; media total %.2f MB", cover / 1024, (total + cover) / 2**20)


if __name__ == "__main__":
    main()
