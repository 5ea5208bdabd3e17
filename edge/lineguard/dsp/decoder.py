"""Line audio in, line observations out: caller ID, DTMF digits, call-progress tones.

:class:`LineAudioDecoder` is the gateway's line-audio observer on hardware
(``Gateway.line_audio_observers``) and the engine of ``lineguard
line-decode``. The country profile picks the caller-ID method: FSK
(``bell202``/``v23``), DTMF, or both when unknown.
"""

from __future__ import annotations

import numpy as np

from lineguard.dsp.dtmf import DtmfDetector
from lineguard.dsp.dtmf_cid import DtmfCallerIdParser
from lineguard.dsp.fsk import FskDecoder
from lineguard.dsp.tones import ToneDetector
from lineguard.line.base import CallerId, Dtmf, LineEvent, Tone
from lineguard.line.profiles import CountryProfile

SAMPLE_RATE_HZ = 8000


class LineAudioDecoder:
    """Streaming; times are ``start_s`` of the first chunk plus stream position."""

    def __init__(self, profile: CountryProfile, sample_rate_hz: int = SAMPLE_RATE_HZ) -> None:
        if sample_rate_hz != SAMPLE_RATE_HZ:
            raise ValueError(f"line audio is decoded at {SAMPLE_RATE_HZ} Hz, not {sample_rate_hz}")
        self.profile = profile
        method = profile.caller_id
        self.fsk = FskDecoder() if method in ("bell202", "v23", "unknown") else None
        self.dtmf_cid = DtmfCallerIdParser() if method in ("dtmf", "unknown") else None
        self.dtmf = DtmfDetector()
        self.tones = ToneDetector(profile)
        self._t0: float | None = None

    def process(self, samples: np.ndarray, start_s: float = 0.0) -> list[LineEvent]:
        if self._t0 is None:
            self._t0 = start_s
        t0 = self._t0
        x = np.asarray(samples, np.float32).ravel()
        events: list[LineEvent] = []
        if self.fsk is not None:
            for m in self.fsk.process(x):
                msg = m.message
                events.append(CallerId(t0 + m.time_s, msg.number, msg.name, msg.status))
        for hit in self.dtmf.process(x):
            events.append(Dtmf(t0 + hit.time_s, hit.digit))
            if self.dtmf_cid is not None:
                cid = self.dtmf_cid.feed(hit.time_s, hit.digit)
                if cid is not None:
                    events.append(CallerId(t0 + cid.time_s, cid.message.number, None, cid.message.status))
        for tone in self.tones.process(x):
            events.append(Tone(t0 + tone.time_s, tone.tone))
        return sorted(events, key=lambda e: e.time_s)
