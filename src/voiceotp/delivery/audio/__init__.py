"""Prompt audio for voice calls: prompt sets (espeak-ng or recorded), rendering, G.711.

``render_prompt("1125")`` returns a :class:`Prompt` whose ``ulaw``/``alaw`` are ready to
send as 20 ms RTP frames (``prompt.rtp_audio == {"PCMU": ..., "PCMA": ...}``). See
docs/audio.md.
"""

from voiceotp.delivery.audio.errors import AudioError, EspeakNotFound, MissingClip
from voiceotp.delivery.audio.g711 import (
    alaw_to_pcm16,
    pcm16_to_alaw,
    pcm16_to_ulaw,
    ulaw_to_pcm16,
)
from voiceotp.delivery.audio.library import PromptLibrary
from voiceotp.delivery.audio.prompt import (
    DEFAULT_TIMING,
    FRAME_BYTES,
    MAX_REPEAT,
    MIN_REPEAT,
    Prompt,
    Timing,
    default_prompt_set,
    layout,
    render_prompt,
)
from voiceotp.delivery.audio.prompts import (
    EspeakRunner,
    PromptSet,
    default_cache_dir,
    load_prompt_set,
    run_espeak,
)
from voiceotp.delivery.audio.voices import CLIP_NAMES, DEFAULT_LANGUAGE, LANGUAGES, Language
from voiceotp.delivery.audio.wavfile import decode_wav, encode_wav

__all__ = [
    "CLIP_NAMES",
    "DEFAULT_LANGUAGE",
    "DEFAULT_TIMING",
    "FRAME_BYTES",
    "LANGUAGES",
    "MAX_REPEAT",
    "MIN_REPEAT",
    "AudioError",
    "EspeakNotFound",
    "EspeakRunner",
    "Language",
    "MissingClip",
    "Prompt",
    "PromptLibrary",
    "PromptSet",
    "Timing",
    "alaw_to_pcm16",
    "decode_wav",
    "default_cache_dir",
    "default_prompt_set",
    "encode_wav",
    "layout",
    "load_prompt_set",
    "pcm16_to_alaw",
    "pcm16_to_ulaw",
    "render_prompt",
    "run_espeak",
    "ulaw_to_pcm16",
]
