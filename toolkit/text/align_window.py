"""Windowed forced alignment: the text placed on the audio a few sentences at a time.

One alignment search over a whole programme loses its path as soon as any stretch does
not fit the acoustic model (an accent far from US English, speech over a music bed), and
then nothing is placed. Here the search only ever sees a short window:

    place(pcm, keys, phones, decoders) -> [Placement | None] per word

An anchor (a time and a word) starts at (0, first word). Each step aligns the audio from
the anchor against a span of text that should fill TEXT_SHARE (0.7) of it; the words
placed well before the window's end are accepted up to the last pause among them, and the
anchor moves to that pause. A window that fails is retried with less text, a wider beam
and more audio (ATTEMPTS); one that still fails leaves its words unplaced (interpolated
later) and the next window starts at the same time, with a garbage loop before its first
word as well. With the stretches without speech known (align_vad.breaks), a window that
fails across one is first searched again on the voice before it, with text for all of
that voice; the anchor then jumps to where speech resumes. A window whose words leave a
long gap between them (the narrow beam lost the voice and called it silence) is searched
again with the wide beam. The caller decides from the share of unplaced and squeezed words whether
the audio is the text at all.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)

FRAME = 160                     # samples per 10 ms frame at 16 kHz
FRAME_S = 0.01                  # seconds per frame (pocketsphinx frames are 10 ms)
#: The slowest speech rate a window may learn, in seconds per phone (slower is a pause).
MAX_PHONE_S = 0.2
#: Audio per window, in frames: about 25 s. Longer windows lose the path more often
#: (accents, beds); shorter ones cost more in overlap and re-normalisation.
WINDOW_FRAMES = 2500
#: The text span is sized to fill this share of the window, leaving room for a slower
#: speaker or a music sting the text does not mention.
TEXT_SHARE = 0.7
#: Words nearer than this to the end of the window (frames) may have been pushed there by
#: speech the span does not include: not accepted, they start the next window.
TAIL_FRAMES = 300
#: A pause at least this long (frames) is a clean place to cut between windows.
PAUSE_FRAMES = 12
#: Below this share of frames in words (the rest silence or noise) between a window's first
#: and last word, the window is not the text (see _search).
MIN_DENSITY = 0.45
#: A gap between words counts for at most this many frames in that share.
MAX_GAP = 150
#: Seconds per phone, speaking time included pauses, until the audio tells us better.
START_RATE = 0.09


@dataclass(frozen=True)
class Placement:
    """Where one word was heard: frames from the start of the audio, inclusive."""

    start: int
    end: int


class Decoders(Protocol):
    """The pocketsphinx decoders to try, narrow beam first (built lazily by the caller)."""

    def __len__(self) -> int: ...

    def __getitem__(self, i: int) -> Any: ...


#: The acoustic model's phones: each is also a one-phone "word" of the garbage loop.
PHONES = ("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH "
          "T TH UH UW V W Y Z ZH").split()
_GARBAGE = "ph_"
#: Probability of each garbage phone: low, so the text's own words win where they fit.
GARBAGE_PROB = 1e-3


def add_garbage_words(decoder: Any) -> None:
    """Give `decoder` the one-phone words the windows' garbage loops are made of."""
    for phone in PHONES:
        decoder.add_word(_GARBAGE + phone.lower(), phone, False)


def _grammar(decoder: Any, keys: list[str], lead: bool) -> Any:
    """The window's grammar: the words in order, then a loop of any phones that absorbs
    speech past the span (so the last words are not stretched over it and the search
    cannot fail for want of text); with `lead`, the same loop before the first word,
    where the anchor may be early (after a window that failed)."""
    n = len(keys)
    first = 1 if lead else 0
    trans: list[tuple] = [(first + i, first + i + 1, 1.0, k) for i, k in enumerate(keys)]
    loops = [first + n] + ([0] if lead else [])
    for state in loops:
        trans += [(state, state, GARBAGE_PROB, _GARBAGE + p.lower()) for p in PHONES]
    trans.append((first + n, first + n + 1, 1.0))
    if lead:
        trans.append((0, 1, 1.0))
    return decoder.create_fsg("window", 0, first + n + 1, trans)


def _search(decoder: Any, pcm: np.ndarray, keys: list[str],
            lead: bool = False) -> list[Placement] | None:
    """Align `keys` to `pcm`; frames relative to its start, or None if the search failed."""
    decoder.add_fsg("window", _grammar(decoder, keys, lead))
    decoder.activate_search("window")
    decoder.start_utt()
    decoder.process_raw(pcm.tobytes(), full_utt=True)
    decoder.end_utt()
    segs = decoder.seg()
    if segs is None:
        return None
    out = [Placement(s.start_frame, s.end_frame) for s in segs
           if not s.word.startswith(("<", "[", _GARBAGE, "(NULL)"))]
    if len(out) != len(keys):
        return None
    # Speech that is not the text leaves the words as short islands in a sea of silence
    # and noise: the search's way of saying it found no place for them. A long gap (a
    # sting, music between sections) counts as a pause, not as a sea.
    said = sum(p.end - p.start + 1 for p in out)
    gaps = sum(min(max(0, b.start - a.end - 1), MAX_GAP) for a, b in zip(out, out[1:]))
    density = said / (said + gaps)
    if density < MIN_DENSITY:
        log.debug("window: words cover %.0f%% of their stretch: not placed", density * 100)
        return None
    return out


#: A gap between two of a window's words longer than this (frames) is suspect: a sting
#: the text does not mention, or a narrow search that lost the speech and filled it with
#: silence (see place).
SUSPECT_GAP = 100


def _suspect(found: list[Placement]) -> bool:
    """Whether the placed words leave a long gap between them (the last two, which absorb
    speech past the span, aside)."""
    body = found[:-2]
    return any(b.start - a.end > SUSPECT_GAP for a, b in zip(body, body[1:]))


def _span(phones: list[int], first: int, frames: float, rate: float) -> int:
    """The end (exclusive) of a span of words from `first` expected to last `frames`."""
    budget, k = frames * FRAME_S / rate, first
    while k < len(phones) and budget > 0:
        budget -= phones[k]
        k += 1
    return max(k, min(first + 1, len(phones)))


def _accept(found: list[Placement], last_window: bool, window: int) -> int:
    """How many of the window's words to keep: all of the last window; otherwise those
    well clear of the window's end, cut at the last pause among them."""
    if last_window:
        return len(found)
    keep = 0
    for k, p in enumerate(found[:-2]):            # the last words absorb any extra speech
        if p.end >= window - TAIL_FRAMES:
            break
        keep = k + 1
    # Cut after the last word followed by a pause: the next window starts in silence.
    for k in range(keep - 1, 0, -1):
        if found[k + 1].start - found[k].end > PAUSE_FRAMES:
            return k + 1
    return keep


#: (audio scale, text scale, decoder) tried in turn for one window: first as sized; then
#: half the words with the wide beam (a slower speaker, a sting the text does not
#: mention: too much text is what loses the path); then twice the audio for those.
ATTEMPTS = ((1.0, 1.0, 0), (1.0, 0.5, 1), (2.0, 0.5, 1))
#: After words no window could place, the next window's first words may have absorbed
#: their speech: so many are left to interpolation.
RESYNC_DROP = 2
#: Windows failing one after the other (every attempt, at the same anchor): the text is
#: not what is said there, and the rest of it will not be either; place gives up.
MAX_FAILED_IN_ROW = 3
#: The audio all searches together may cover, as a multiple of the programme (plus a few
#: windows for a short one): the cost of a placement is bounded by the audio's length,
#: whatever the text. A programme that fits the text searches about 1.5 times its length.
SEARCH_BUDGET = 6.0
BUDGET_WINDOWS = 4


class GaveUp(Exception):
    """The windows stopped finding the text (the message says how): not the audio's text."""


class _Budget:
    """The audio searched so far (frames), against SEARCH_BUDGET: GaveUp past it."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.limit = SEARCH_BUDGET * total + BUDGET_WINDOWS * WINDOW_FRAMES
        self.spent = 0

    def spend(self, frames: int) -> None:
        self.spent += frames
        if self.spent > self.limit:
            raise GaveUp(f"the search went over {self.spent * FRAME_S:.0f} s of audio for a "
                         f"{self.total * FRAME_S:.0f} s programme without placing the text; "
                         "gave up")


#: A stretch without speech at least this long (frames) is a break (a sting, music between
#: sections): a window that fails across one is searched again on the audio before it.
BREAK_FRAMES = 150
#: Closer than this (frames) to the break, the anchor jumps over it to where speech resumes.
NEAR_BREAK = 100
#: The anchor lands this many frames before the speech found after a break (the detector
#: judges a second at a time).
RESUME_MARGIN = 50


def _break_in(breaks: list[tuple[int, int]], at: int, window: int) -> tuple[int, int] | None:
    """The first break that starts inside the window from `at`, or holds `at`."""
    for start, end in breaks:
        if end > at and start < at + window:
            return start, end
    return None


@dataclass
class _Anchor:
    """The anchoring loop's state: where the next window starts, in the audio and the text."""

    rate: float                 # seconds per phone, as measured so far
    at: int = 0                 # frame
    word: int = 0               # the first word not yet placed (or left to interpolation)
    resync: bool = False        # the last window failed: its speech may lead this one's
    lead: bool = False          # the anchor may be early: a garbage loop before the first word
    failed: int = 0             # windows in a row that placed nothing
    # After a window failed across a break: windows end where it starts (the music
    # would skew the search's normalisation of the voice before it), until the anchor
    # reaches it and jumps to where speech resumes.
    limit: tuple[int, int] | None = None


@dataclass(frozen=True)
class _Window:
    """One window's search: words [anchor.word, stop) over `frames` of audio from the anchor."""

    stop: int
    last: bool                  # the window holds the rest of the text
    frames: int
    found: list[Placement] | None


def place(pcm: np.ndarray, keys: list[str], phones: list[int], decoders: Decoders,
          breaks: list[tuple[int, int]] | None = None,
          progress: Callable[[float], None] | None = None) -> list[Placement | None]:
    """Where each of `keys` is spoken in `pcm` (16 kHz int16), None for words no window
    placed. `phones[i]` is the length of `keys[i]` in phones (for sizing spans); `breaks`
    are the stretches without speech (align_vad.breaks, frames), if known. `progress`
    is told the share of the audio behind the anchor before each window.

    The anchoring loop: size, search, retry (_search_window), then accept and advance
    (_advance) or give the words up (_failed); at a break, jump over it (_jump).
    """
    total = len(pcm) // FRAME
    out: list[Placement | None] = [None] * len(keys)
    # The programme's own pace (music and pauses included) is the cautious default: too
    # much text for a window loses the path, too little only costs another window.
    slowest = total * FRAME_S / max(1, sum(phones))
    anchor, budget = _Anchor(rate=max(START_RATE, slowest)), _Budget(total)
    while anchor.word < len(keys) and anchor.at < total:
        if progress is not None:
            progress(anchor.at / total)      # an 8-minute programme takes half a minute
        if anchor.limit is not None and anchor.limit[0] - anchor.at < NEAR_BREAK:
            _jump(anchor, anchor.limit)
            continue
        win = _search_window(pcm, keys, phones, decoders, anchor, total, budget)
        if win.found is None:
            _failed(anchor, win, breaks or [], len(keys))
        else:
            _advance(anchor, win, out, phones, slowest)
    log.debug("searched %.0f s of audio for a %.0f s programme (%.1fx)", budget.spent * FRAME_S,
              total * FRAME_S, budget.spent / max(1, total))
    return out


def _jump(anchor: _Anchor, limit: tuple[int, int]) -> None:
    """The anchor, close to the break `limit` that windows stopped at, moved over it to
    where speech resumes (a garbage loop leads the next window: the place is a guess)."""
    log.debug("break %.2f-%.2f s: anchor %.2f s jumps over it", limit[0] * FRAME_S,
              limit[1] * FRAME_S, anchor.at * FRAME_S)
    anchor.at, anchor.limit, anchor.lead = max(anchor.at, limit[1] - RESUME_MARGIN), None, True


def _search_window(pcm: np.ndarray, keys: list[str], phones: list[int], decoders: Decoders,
                   anchor: _Anchor, total: int, budget: _Budget) -> _Window:
    """The window from the anchor, sized to the pace so far, tried as ATTEMPTS says until
    one search places its words (the last attempt's window, found None, if none does)."""
    at, word, limit = anchor.at, anchor.word, anchor.limit
    # Up to a break, the voice fills the window: text for all of it.
    room = WINDOW_FRAMES * TEXT_SHARE if limit is None else min(WINDOW_FRAMES, limit[0] - at)
    end = _span(phones, word, room, anchor.rate)
    for attempt, (audio_scale, text_scale, beam) in enumerate(ATTEMPTS):
        stop = word + max(1, int((end - word) * text_scale))
        last = stop == len(keys)
        # The rest of the text gets all the rest of the audio.
        window = total - at if last else min(int(WINDOW_FRAMES * audio_scale), total - at)
        if limit is not None:
            window = min(window, limit[0] - at)
        clip = pcm[at * FRAME:(at + window) * FRAME]
        found = _attempt(decoders, beam, clip, keys[word:stop], anchor, budget)
        if found is not None:
            return _Window(stop, last, window, found)
        log.debug("window at %.2f s, words %d-%d: no path (attempt %d)",
                  at * FRAME_S, word, stop, attempt + 1)
    return _Window(stop, last, window, None)


def _attempt(decoders: Decoders, beam: int, clip: np.ndarray, words: list[str],
             anchor: _Anchor, budget: _Budget) -> list[Placement] | None:
    """One search of `words` on `clip` with decoder `beam`, searched again with the wide
    beam when the narrow one leaves a suspect gap."""
    window = len(clip) // FRAME
    budget.spend(window)
    found = _search(decoders[min(beam, len(decoders) - 1)], clip, words,
                    anchor.resync or anchor.lead)
    if found is not None and beam == 0 and _suspect(found):
        # A narrow beam that lost the path and found it again later leaves a long
        # "silence" over speech and the words after it late; the wide beam's search
        # is the better one (and costs a third more, so only when in doubt).
        budget.spend(window)
        wide = _search(decoders[min(1, len(decoders) - 1)], clip, words,
                       anchor.resync or anchor.lead)
        log.debug("window at %.2f s: long gap inside, wide beam %s", anchor.at * FRAME_S,
                  "placed it" if wide is not None else "failed")
        found = wide or found
    return found


def _failed(anchor: _Anchor, win: _Window, breaks: list[tuple[int, int]], words: int) -> None:
    """After a window no attempt placed: searched again up to the break it crossed, if any;
    else its words are left to interpolation (GaveUp after MAX_FAILED_IN_ROW of these)."""
    hit = _break_in(breaks, anchor.at + NEAR_BREAK, win.frames) if anchor.limit is None else None
    if hit is not None:
        # Searched again on the voice before the break (or from after it).
        anchor.limit = hit
        return
    anchor.failed += 1
    if anchor.failed >= MAX_FAILED_IN_ROW:
        raise GaveUp(f"{anchor.failed} windows in a row (from {anchor.at * FRAME_S:.1f} s) found "
                     f"no place for their words; gave up with {words - anchor.word} of "
                     f"{words} words left")
    # Leave these words to interpolation; the next window starts at the same time
    # (the words after them are likely within it).
    anchor.word = win.stop
    anchor.resync = True


def _advance(anchor: _Anchor, win: _Window, out: list[Placement | None], phones: list[int],
             slowest: float) -> None:
    """Keep a placed window's words up to a pause well clear of its end (into `out`),
    learn the pace from them, and move the anchor into the pause after them."""
    found, at, word = win.found, anchor.at, anchor.word
    assert found is not None
    if anchor.limit is not None and found[-1].end >= win.frames - NEAR_BREAK:
        keep = len(found)          # the text reached the break: all of it was said
    else:
        keep = max(1, _accept(found, win.last, win.frames))
    log.debug("window at %.2f s (%.1f s), words %d-%d: kept %d, last kept %d-%d",
              at * FRAME_S, win.frames * FRAME_S, word, win.stop, keep, at + found[keep - 1].start,
              at + found[keep - 1].end)
    for k in range(RESYNC_DROP if anchor.resync else 0, keep):
        out[word + k] = Placement(at + found[k].start, at + found[k].end)
    anchor.resync = anchor.lead = False
    anchor.failed = 0
    spoken = found[keep - 1].end + 1 - found[0].start
    if keep >= 10 and spoken > 0:
        local = spoken * FRAME_S / sum(phones[word:word + keep])
        anchor.rate = min(MAX_PHONE_S, max(slowest, 0.5 * anchor.rate + 0.5 * local))
    # Into the pause after the last kept word, but not far: the next word's place is
    # unsure (it may have been pushed late by speech the span did not include).
    end_kept = found[keep - 1].end + 1
    nxt = found[keep].start if keep < len(found) else end_kept
    anchor.at += end_kept + max(0, min(nxt - end_kept, PAUSE_FRAMES) // 2)
    anchor.word += keep
