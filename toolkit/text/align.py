"""Forced alignment: a plain-text transcript becomes a timed one, offline, against the built audio.

    align(transcript, master, audio_key=..., cache_dir=..., language=...) -> Aligned
        .transcript   timed (one cue per sentence, speaker kept, word times) or the input
        .report       model.AlignReport: status, counts, message (kept in the build record)

How: the master is decoded to 16 kHz mono (toolkit.ffmpeg), every word gets a
pronunciation (the dictionary that ships with pocketsphinx, else eSpeak NG's reading of
it via toolkit.text.g2p; British RP and Scottish readings as alternatives), and
toolkit.text.align_window places the text a window at a time from a moving anchor, each
window's grammar ending in a garbage loop so that one hard stretch (an accent, a bed)
cannot lose the whole programme; toolkit.text.align_vad finds the stretches without
speech (stings, music), so that a window failing across one is searched again on the voice
before it. Words no window placed, and words eSpeak cannot read, are interpolated between
their neighbours over the frames that sound like speech, never dropped.

When the audio is not the text (a wrong file, a missing part), windows find no dense
place for their words: more than MAX_UNPLACED of the words unplaced, or more than
MAX_SQUEEZED squeezed to the shortest length the model allows, is reported as a
mismatch, and the untimed outputs are published rather than nonsense times. Results are
cached under build/cache/<feed>/<slug>/ by a key made of VERSION, the audio master's key
and the text, so an unchanged episode never aligns twice.
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from toolkit import codec, fsutil
from toolkit.model import AlignReport, AlignStatus, Cue, Transcript
from toolkit.text import align_text, align_vad, align_window, g2p

log = logging.getLogger(__name__)

#: Bump when the alignment changes: cached results of older versions are not reused.
VERSION = 3
SAMPLE_RATE = 16000
FRAME_S = align_window.FRAME_S  # pocketsphinx frames are 10 ms
#: Primary language subtags with an acoustic model (the one in the pocketsphinx wheel).
MODELS = {"en": "en-us"}
#: Search beams (state, word), far wider than pocketsphinx's defaults (1e-48): the default
#: loses the right path under a music bed or over a long programme, and then the whole
#: alignment fails. The narrower pair is tried first (cheaper); the wider one if it fails.
BEAMS = ((1e-100, 1e-80), (1e-200, 1e-150))
#: A word squeezed to the fewest frames its phones allow was not heard where the text
#: says: more than this share of such words means the audio is not the text.
MAX_SQUEEZED = 0.25
MIN_FRAMES_PER_PHONE = 3        # the model's HMMs have three emitting states
#: eSpeak NG voices whose readings are added as alternatives to every word's pronunciation.
ACCENTS = ("en-gb-x-rp", "en-gb-scotland")
#: More than this share of the words left unplaced by every window: not the text's audio.
MAX_UNPLACED = 0.2
#: Words per second of detected speech (align_vad) outside which the text cannot be the
#: audio's: people speak about 2-4 words a second, an auctioneer 6; a script read with
#: pauses, a voice the detector half-misses, still well inside these. Checked before any
#: pronunciation or search, so 10,000 words on a second of audio cost no more than the
#: decoding of that second (the search's cost grows with the text, this check's does not).
MAX_WORDS_PER_S = 6.0
MIN_WORDS_PER_S = 0.5
_ABBR = ".abbr"                 # suffix of an abbreviation's own dictionary entry
_CLOSERS = "\"'”’)]"


@dataclass(frozen=True)
class Aligned:
    """What `align` returns: the transcript to publish and what happened."""

    transcript: Transcript
    report: AlignReport


def model_for(language: str | None) -> str | None:
    """The acoustic model for a BCP 47 language tag (None: no model; untagged is English,
    the show's language being unknown here)."""
    primary = (language or "en").split("-")[0].lower()
    return MODELS.get(primary)


def text_hash(transcript: Transcript) -> str:
    """SHA-256 of what alignment reads from the transcript: its words and speakers."""
    data = [[c.speaker, c.text] for c in transcript.cues]
    return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()


def cache_key(audio_key: str, transcript: Transcript) -> str:
    """The cache key: aligner version, the audio master's key and the text."""
    return hashlib.sha256(f"{VERSION}|{audio_key}|{text_hash(transcript)}".encode()).hexdigest()


@dataclass(frozen=True)
class _Cached:
    report: AlignReport
    cues: tuple[Cue, ...]


def align(transcript: Transcript, master: Path, *, audio_key: str, cache_dir: Path,
          language: str | None = None,
          progress: Callable[[float], None] | None = None) -> Aligned:
    """Time an untimed transcript against `master` (the built audio); cached.

    `progress` (a share of the audio, 0 to 1) is called as the search goes: the CLI
    draws it, an 8-minute programme taking about half a minute.

    Returns the timed transcript, or the transcript as given with a report saying why
    not (no model for the language, audio that does not match the text). Raises
    FFmpegError only if the master cannot be decoded.
    """
    lang = transcript.language or language
    toks = align_text.tokens(transcript)     # once: a long transcript takes a second
    words = sum(1 for t in toks if t.key)
    if model_for(lang) is None:
        msg = (f"no alignment model for language {lang!r} (only English): publishing the "
               "transcript untimed; set align = false in [[transcripts]] to silence this")
        return Aligned(transcript, AlignReport(transcript.source, AlignStatus.NO_MODEL, msg,
                                               words=words))
    key = cache_key(audio_key, transcript)
    path = Path(cache_dir) / f"align-{key[:16]}.json"
    cached = _load(path, transcript.source)
    if cached is None:
        cached = _align(transcript, toks, master, key, progress)
        _store(path, cached, transcript.source)
    else:
        log.info("%s: alignment cached (%s)", transcript.source.name, path.name)
    report = replace(cached.report, source=transcript.source)
    if report.status is not AlignStatus.ALIGNED:
        return Aligned(transcript, report)
    return Aligned(replace(transcript, cues=cached.cues), report)


def _load(path: Path, source: Path) -> _Cached | None:
    try:
        return codec.load(_Cached, json.loads(path.read_text("utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, codec.CodecError, KeyError, TypeError) as exc:
        log.warning("%s: ignoring damaged alignment cache %s (%s)", source.name, path, exc)
        return None


def _store(path: Path, result: _Cached, source: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fsutil.write_text(path, json.dumps(codec.dump(result), ensure_ascii=False) + "\n")
    for old in path.parent.glob("align-*.json"):      # earlier texts or masters
        if old != path:
            old.unlink(missing_ok=True)


def pcm16(master: Path) -> bytes:
    """The audio as 16 kHz mono signed 16-bit PCM, what the acoustic model was trained on."""
    import numpy as np

    from toolkit import ffmpeg
    chunks = [np.clip(c[:, 0], -1.0, 1.0) for c in
              ffmpeg.decode(master, sample_rate=SAMPLE_RATE, channels=1)]
    pcm = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    return (pcm * 32767.0).astype("<i2").tobytes()


class _Decoders:
    """The decoders `align_window.place` tries, one per beam in BEAMS, each built on first
    use (a decoder loads the model: about 0.1 s) and reused for every window after."""

    def __init__(self, model: str, keys: set[str]) -> None:
        self.model, self.keys = model, keys
        self._built: dict[int, object] = {}
        self.phones: dict[str, int] = {}
        self.missing: set[str] = set()
        self[0]                                         # pronunciations come with it

    def __len__(self) -> int:
        return len(BEAMS)

    def __getitem__(self, i: int):  # type: ignore[no-untyped-def]
        if i not in self._built:
            decoder = _decoder(self.model, *BEAMS[i])
            self.phones, self.missing = _pronunciations(decoder, self.keys, self.model)
            align_window.add_garbage_words(decoder)
            self._built[i] = decoder
        return self._built[i]


def _decoder(model: str, beam: float, word_beam: float):  # type: ignore[no-untyped-def]
    from pocketsphinx import Decoder, get_model_path
    base = Path(get_model_path()) / model
    # No language model: alignment searches the text's own grammar (and loads faster).
    return Decoder(hmm=str(base / model), dict=str(base / f"cmudict-{model}.dict"), lm=None,
                   samprate=SAMPLE_RATE, bestpath=False, beam=beam, pbeam=beam,
                   wbeam=word_beam, loglevel="FATAL")


def _pronunciations(decoder, keys: set[str], voice: str) -> tuple[dict[str, int], set[str]]:  # type: ignore[no-untyped-def]
    """Phone counts for every key; words added from eSpeak NG; keys left unpronounceable."""
    phones: dict[str, int] = {}
    missing: set[str] = set()
    for key in sorted(keys):
        known = decoder.lookup_word(key)
        if known is None and key.endswith(_ABBR):
            # "Dr." is "doctor" as eSpeak reads it, not the dictionary's "dr" (drive).
            known = g2p.pronounce(key[:-len(_ABBR)] + ".", voice)
            if known is None:
                missing.add(key)
                continue
            decoder.add_word(key, known, False)
        if known is None and "-" in key:
            # "working-level": the dictionary's own parts beat a guess at the whole.
            parts = [decoder.lookup_word(p) for p in key.split("-") if p]
            if parts and all(parts):
                known = " ".join(parts)
                decoder.add_word(key, known, False)
        if known is None:
            guess = g2p.pronounce(key, voice)
            if guess is None:
                missing.add(key)
                continue
            decoder.add_word(key, guess, False)
            log.debug("pronouncing %r as %s", key, guess)
            known = guess
            phones[key] = -len(guess.split())     # negative: marks a guessed word
        else:
            phones[key] = len(known.split())
        _add_accents(decoder, key, known)
    return phones, missing


def _add_accents(decoder, key: str, known: str) -> None:  # type: ignore[no-untyped-def]
    """Add other accents' readings of `key` as alternative pronunciations ("zed" for
    "Z"): the search takes whichever fits the voice, the US model the only one we have."""
    said = {known}
    n = 2
    while (alt := decoder.lookup_word(f"{key}({n})")) is not None:
        said.add(alt)
        n += 1
    text = key[:-len(_ABBR)] + "." if key.endswith(_ABBR) else key
    for voice in ACCENTS:
        reading = g2p.pronounce(text, voice)
        if reading and reading not in said:
            decoder.add_word(f"{key}({n})", reading, False)
            said.add(reading)
            n += 1


def _search_key(tok: align_text.Token) -> str:
    """The word the search looks for: its key, or a key of its own for an abbreviation."""
    if tok.key and tok.text.lower().rstrip(_CLOSERS) in align_text.ABBREVIATIONS:
        return tok.key + _ABBR
    return tok.key


def plausibility(words: int, speech_s: float) -> str | None:
    """Why `words` cannot be what `speech_s` seconds of detected speech say (None: they
    may be): far more or far fewer words a second than anyone speaks."""
    if not words:
        return None             # said below: no word of the text can be pronounced
    if speech_s <= 0:
        return "the audio does not match the text: no speech was detected in the audio"
    rate = words / max(speech_s, 1e-9)
    if rate > MAX_WORDS_PER_S:
        return (f"the audio does not match the text: {words} words for {speech_s:.1f} s of "
                f"speech is {rate:.1f} words a second (people speak at most about "
                f"{MAX_WORDS_PER_S:g}): a wrong or cut audio file, or a longer text")
    if rate < MIN_WORDS_PER_S:
        return (f"the audio does not match the text: {words} words for {speech_s:.1f} s of "
                f"speech is {rate:.2f} words a second (speech is at least about "
                f"{MIN_WORDS_PER_S:g}): a wrong audio file, or much of the speech missing "
                "from the transcript")
    return None


def _align(transcript: Transcript, toks: list[align_text.Token], master: Path, key: str,
           progress: Callable[[float], None] | None = None) -> _Cached:
    """Run the aligner (no cache) on the transcript's tokens; a mismatch report when the
    audio is not the text."""
    import numpy as np

    model = model_for(transcript.language) or "en-us"
    words = sum(1 for t in toks if t.key)
    guessed = 0

    def report(status: AlignStatus, message: str = "", placed: int = 0,
               sentences: int = 0) -> AlignReport:
        return AlignReport(transcript.source, status, message, words=words, guessed=guessed,
                           interpolated=words - placed, sentences=sentences, key=key)

    audio = np.frombuffer(pcm16(master), dtype="<i2")
    duration = len(audio) / SAMPLE_RATE
    speech = align_vad.speech_frames(audio)
    implausible = plausibility(words, float(speech.sum()) * FRAME_S)
    if implausible:
        return _Cached(report(AlignStatus.MISMATCH, implausible), ())
    skeys = [_search_key(t) for t in toks]
    decoders = _Decoders(model, {k for k in skeys if k})
    phones, missing = decoders.phones, decoders.missing
    spoken = [i for i, k in enumerate(skeys) if k and k not in missing]
    guessed = sum(1 for k in skeys if phones.get(k, 0) < 0)
    if not spoken:
        return _Cached(report(AlignStatus.MISMATCH, "no word of the text can be pronounced"), ())
    try:
        found = align_window.place(audio, [skeys[i] for i in spoken],
                                   [abs(phones[skeys[i]]) for i in spoken], decoders,
                                   align_vad.breaks(speech, align_window.BREAK_FRAMES), progress)
    except align_window.GaveUp as exc:
        return _Cached(report(AlignStatus.MISMATCH, f"the audio does not match the text: {exc}"),
                       ())
    times: list[tuple[float, float] | None] = [None] * len(toks)
    squeezed = placed = 0
    for i, where in zip(spoken, found):
        if where is None:
            continue
        placed += 1
        if where.end - where.start + 1 <= MIN_FRAMES_PER_PHONE * abs(phones[skeys[i]]):
            squeezed += 1
        times[i] = (round(where.start * FRAME_S, 3), round((where.end + 1) * FRAME_S, 3))
    log.debug("%s: %d of %d words placed, %d squeezed", transcript.source.name, placed,
              len(spoken), squeezed)
    unplaced = 1 - placed / len(spoken)
    if unplaced > MAX_UNPLACED:
        return _Cached(report(AlignStatus.MISMATCH, f"the audio does not match the text: "
                              f"{unplaced:.0%} of the words could not be placed (more than "
                              f"{MAX_UNPLACED:.0%}; a wrong audio file, or speech missing "
                              "from the transcript)", placed), ())
    share = squeezed / max(1, placed)
    if share > MAX_SQUEEZED:
        return _Cached(report(AlignStatus.MISMATCH, f"the audio does not match the text: "
                              f"{share:.0%} of the words could only be placed at the shortest "
                              f"length the model allows (more than {MAX_SQUEEZED:.0%})",
                              placed), ())
    # Unplaced words go on the voice, not on the music or silence around it.
    filled = align_text.interpolate(times, toks, duration, speech, FRAME_S)
    cues = tuple(align_text.timed_cues(transcript, toks, filled))
    notes = [f"{guessed} words pronounced by eSpeak NG" if guessed else "",
             f"{words - placed} words interpolated" if words > placed else ""]
    return _Cached(report(AlignStatus.ALIGNED, "; ".join(n for n in notes if n), placed,
                          len(cues)), cues)
