"""Pronunciations for words the aligner's dictionary lacks (grapheme-to-phoneme).

The US-English dictionary that ships with pocketsphinx has 134,000 words but not the
names a news programme is made of (Yongbyon, PyeongChang, Ji-hoon) nor digits
("2018"). eSpeak NG knows how to read any text aloud, numbers included; its library
and data ship in the `espeakng-loader` wheel (no apt install). We ask it for the
phonemes in IPA and map them onto the ARPAbet phones of the acoustic model.

    pronounce("PyeongChang", "en-us")  ->  "P Y OW NG CH AE NG"

Only what the aligner needs: one pronunciation per word, no stress, no variants.
"""
from __future__ import annotations

import ctypes
import logging
import threading
from functools import lru_cache

log = logging.getLogger(__name__)

# eSpeak NG's API constants (speak_lib.h).
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_CHARS_UTF8 = 1
_PHONEMES_IPA = 0x02
_SEPARATOR = ord(" ") << 8       # bits 8-23: the character between phonemes

#: IPA as eSpeak writes it for English -> the en-us model's ARPAbet phones. Longest
#: symbols are matched first; stress and length marks are dropped before matching.
_IPA_TO_ARPA = {
    "aɪ": "AY", "aʊ": "AW", "eɪ": "EY", "oʊ": "OW", "ɔɪ": "OY", "əʊ": "OW", "eə": "EH R",
    "ɪə": "IH R", "ʊə": "UH R", "tʃ": "CH", "dʒ": "JH", "ɑɹ": "AA R", "ɔɹ": "AO R",
    "ɜ": "ER", "ɚ": "ER", "ɝ": "ER", "ə": "AH", "ɐ": "AH", "ʌ": "AH", "æ": "AE", "a": "AA",
    "ɑ": "AA", "ɒ": "AA", "ɔ": "AO", "ɛ": "EH", "e": "EH", "ɪ": "IH", "ᵻ": "IH", "i": "IY",
    "ʊ": "UH", "u": "UW", "o": "OW", "ɾ": "T", "ʔ": "", "p": "P", "b": "B", "t": "T",
    "d": "D", "k": "K", "ɡ": "G", "g": "G", "f": "F", "v": "V", "θ": "TH", "ð": "DH",
    "s": "S", "z": "Z", "ʃ": "SH", "ʒ": "ZH", "h": "HH", "x": "HH", "m": "M", "n": "N",
    "ŋ": "NG", "l": "L", "ɬ": "L", "ɹ": "R", "r": "R", "w": "W", "j": "Y", "y": "IY",
    "ç": "HH", "ʍ": "W", "n̩": "AH N", "l̩": "AH L",
}
_MARKS = str.maketrans("", "", "ˈˌːˑ-̃")

#: eSpeak NG voices for the languages the acoustic model covers.
VOICES = {"en": "en-us"}

_lock = threading.Lock()     # the eSpeak NG library keeps global state


class G2PUnavailable(RuntimeError):
    """eSpeak NG could not be loaded (the words without a pronunciation are interpolated)."""


@lru_cache(maxsize=1)
def _library() -> ctypes.CDLL:
    try:
        import espeakng_loader
    except ImportError as exc:
        raise G2PUnavailable(f"espeakng-loader is not installed ({exc})") from exc
    try:
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
    except OSError as exc:
        raise G2PUnavailable(f"cannot load eSpeak NG: {exc}") from exc
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
    lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int,
                                          ctypes.c_int]
    if lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0,
                             espeakng_loader.get_data_path().encode(), 0) <= 0:
        raise G2PUnavailable("eSpeak NG failed to initialise")
    return lib


def ipa(text: str, voice: str = "en-us") -> str:
    """eSpeak NG's IPA for `text`, phonemes separated by spaces, words by two spaces."""
    with _lock:
        lib = _library()
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise G2PUnavailable(f"eSpeak NG has no voice {voice!r}")
        buf = ctypes.c_char_p(text.encode("utf-8"))
        out: list[str] = []
        # Each call reads one clause and moves the pointer on; NULL at the end of the text.
        while buf.value:
            chunk = lib.espeak_TextToPhonemes(ctypes.byref(buf), _CHARS_UTF8,
                                              _PHONEMES_IPA | _SEPARATOR)
            if chunk:
                out.append(chunk.decode("utf-8", "replace"))
        return "  ".join(out)


def to_arpabet(ipa_text: str) -> list[str]:
    """ARPAbet phones for IPA phonemes separated by spaces (unknown symbols are skipped)."""
    phones: list[str] = []
    for symbol in ipa_text.split():
        rest = symbol.translate(_MARKS)
        while rest:
            for size in (3, 2, 1):
                arpa = _IPA_TO_ARPA.get(rest[:size])
                if arpa is not None:
                    phones += arpa.split()
                    rest = rest[size:]
                    break
            else:
                log.debug("no ARPAbet phone for %r", rest[0])
                rest = rest[1:]
    return phones


@lru_cache(maxsize=4096)
def pronounce(word: str, voice: str = "en-us") -> str | None:
    """One ARPAbet pronunciation ("P Y OW NG CH AE NG") for `word`, or None if eSpeak NG
    is missing or reads nothing (punctuation only)."""
    try:
        phones = to_arpabet(ipa(word, voice))
    except G2PUnavailable as exc:
        log.warning("no pronunciations for unknown words: %s", exc)
        return None
    return " ".join(phones) or None
