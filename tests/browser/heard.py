"""The code a callee heard, read back from the simulated carrier's recording of the call
(``<data_dir>/calls/<voiceid>.wav``): the prompt is the prompt set's clips laid out as
docs/audio.md says, so each digit slot holds exactly one digit clip's samples."""

from __future__ import annotations

import wave
from pathlib import Path

from voiceotp.delivery.audio import Timing, load_prompt_set
from voiceotp.delivery.dialer.g711 import decode

BYTES_PER_MS = 16  # 8 kHz, 16-bit mono


def heard_code(recording: Path, clips: Path, cache: Path, timing: Timing | None = None) -> str:
    """The digits after the first ``intro`` of the recording (the tone clips in ``clips``,
    processed as the server did, cached in ``cache``)."""
    t = timing or Timing()
    with wave.open(str(recording)) as wav:
        pcm = wav.readframes(wav.getnframes())
    prompts = load_prompt_set("zh", directory=clips, cache_dir=cache)
    for codec, name in (("PCMU", "ulaw"), ("PCMA", "alaw")):
        heard = {n: decode(codec, c).tobytes() for n, c in prompts.encoded(name).items()}
        at = t.lead_in_ms * BYTES_PER_MS
        if not pcm.startswith(heard["intro"], at):
            continue
        at += len(heard["intro"]) + t.after_intro_ms * BYTES_PER_MS
        code = ""
        while digit := next((d for d in "0123456789" if pcm.startswith(heard[d], at)), ""):
            code += digit
            at += len(heard[digit]) + t.digit_gap_ms * BYTES_PER_MS
        return code
    raise AssertionError(f"{recording} does not start with the prompt's intro")
