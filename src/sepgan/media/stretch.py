"""Slow motion for the streams beside the video: audio time-stretched, subtitles retimed.

``sepgan interpolate --slowmo N`` writes N× the frames at the input's frame
rate, so the clip plays N× longer; the other streams must last N× longer too.

* **Audio** is time-stretched by FFmpeg's ``atempo`` filter (a WSOLA
  time-scale modification: the tempo changes, the pitch does not) in a PyAV
  filter graph, and re-encoded to the audio codec the container takes (AAC; Opus
  in WebM: :func:`~sepgan.media.audio.audio_encoder_for`). One ``atempo``
  takes tempos from 0.5 to 100, so a slowdown by N chains several
  (:func:`atempo_chain`: 0.5 for 2, 0.5 · 0.5 for 4, 0.5 · ⅔ for 3), whose product
  is exactly 1/N. ``atempo`` swallows the last ~10 ms of its input per filter
  (its window is the power of two above 1/24 s); :class:`AudioStretcher` therefore
  feeds 0.1 s of silence after the last sample and cuts the output at N times
  the samples it was given, so the stretched stream is N× the input's length to
  the sample (before the encoder's own framing, at most one frame: 1024 samples
  for AAC, 960 for Opus at 48 kHz, which also codes a 312-sample pre-skip). Its
  first sample starts at N× the input's first timestamp. Sync,
  measured on a 300 → 3000 Hz chirp: the stretched sound runs 4–6 ms (of input
  time) ahead, 9 ms at ×2 and 20 ms at ×4 in the output, under the 45 ms lead
  at which viewers notice (ITU-R BT.1359). A packet that does not decode is
  skipped, and a gap in the timestamps is filled with silence, with a note.
* **Subtitles** are retimed packet by packet: pts, dts and duration × N, in
  the stream's own time base, for text (SubRip, ASS, WebVTT, mov_text) and for
  bitmap subtitles whose display times are the packets' (PGS, DVB) alike.
  DVD subtitles and XSUB carry their display durations inside the packet
  (:data:`TIMED_INSIDE`), which a packet-level retime cannot reach; those
  streams are dropped with a note (:func:`retimeable`).

Timestamps here are counted from the input's origin (:class:`~sepgan.media.reader.VideoReader`
shifts packets so), so scaling them by N keeps every stream in step with the video,
whose own start is scaled the same way by the writer.
"""

from __future__ import annotations

from fractions import Fraction

import av
import av.filter
import numpy as np

from sepgan.media.audio import add_audio_encoder

__all__ = [
    "GAP_TOLERANCE",
    "PADDING_SECONDS",
    "TIMED_INSIDE",
    "AudioStretcher",
    "atempo_chain",
    "retime_packet",
    "retimeable",
]

# Silence fed after the last sample, so that atempo emits its last window (it keeps ~10 ms per filter).
PADDING_SECONDS = Fraction(1, 10)
# Subtitle codecs whose display durations are coded inside the packets, out of a retime's reach.
TIMED_INSIDE = frozenset({"dvd_subtitle", "xsub"})
# A gap in the audio's timestamps longer than this is filled with silence; shorter ones are rounding.
GAP_TOLERANCE = Fraction(1, 100)
_ATEMPO_SLOWEST = Fraction(1, 2)  # one atempo's lowest tempo (FFmpeg's atempo: 0.5 to 100)


def atempo_chain(slow_motion: int) -> list[Fraction]:
    """Tempos for chained ``atempo`` filters, each in [0.5, 1], whose product is exactly ``1 / slow_motion``.

    ``atempo_chain(2) == [1/2]``, ``atempo_chain(4) == [1/2, 1/2]``, ``atempo_chain(3) == [1/2, 2/3]``.
    Raises ValueError for ``slow_motion`` < 1 (1 needs no filter: ``[]``).
    """
    if slow_motion < 1:
        raise ValueError(f"slow_motion must be at least 1, got {slow_motion}")
    tempos, remaining = [], Fraction(1, slow_motion)
    while remaining < _ATEMPO_SLOWEST:
        tempos.append(_ATEMPO_SLOWEST)
        remaining /= _ATEMPO_SLOWEST
    return tempos + ([remaining] if remaining != 1 else [])


def retimeable(stream: av.stream.Stream) -> str | None:
    """None if ``stream`` (audio or subtitle) can be slowed down; else why not, for a note."""
    name = stream.codec_context.name
    if stream.type == "subtitle" and name in TIMED_INSIDE:
        return f"its display times are coded inside its packets ({name}), which slow motion cannot retime"
    if stream.type == "audio":
        try:
            av.Codec(name, "r")
        except (av.FFmpegError, ValueError):  # UnknownCodecError is a ValueError
            return f"FFmpeg has no decoder for {name}, so it cannot be time-stretched"
    return None


def retime_packet(packet: av.Packet, slow_motion: int) -> av.Packet:
    """``packet`` with its pts, dts and duration multiplied by ``slow_motion`` (in its own time base)."""
    if packet.pts is not None:
        packet.pts *= slow_motion
    if packet.dts is not None:
        packet.dts *= slow_motion
    if packet.duration:
        packet.duration *= slow_motion
    return packet


class AudioStretcher:
    """One audio stream slowed down ``slow_motion``× by chained ``atempo`` (pitch kept), encoded to ``codec``
    (FFmpeg's encoder name: AAC unless given; the writer gives the container's, Opus for WebM).

    ``AudioStretcher(source, container, slow_motion)`` adds the output stream
    (``stream``; the source's sample rate and channel layout, tags and disposition)
    to ``container``. :meth:`encode` takes the source's packets, timestamps counted
    from the input's origin, and returns packets to mux; :meth:`flush`, at the end,
    the rest. The output holds exactly ``slow_motion`` times the samples decoded
    (the module docstring says how), starting at ``slow_motion`` times the first
    decoded frame's time. The filter graph is built from the first decoded frame
    (its sample format, rate and layout). A packet that does not decode is skipped
    (``skipped_packets``), and a gap in the input's timestamps longer than
    :data:`GAP_TOLERANCE` is filled with silence (``filled_seconds``), so later
    sound stays in step with the video. Other FFmpeg errors propagate as ``av.FFmpegError``.
    """

    def __init__(
        self,
        source: av.audio.stream.AudioStream,
        container: av.container.OutputContainer,
        slow_motion: int,
        codec: str = "aac",
    ) -> None:
        self.source = source
        self.slow_motion = slow_motion
        self.stream = add_audio_encoder(container, source, codec)
        self.sample_rate = self.stream.codec_context.sample_rate  # the output's (encoder_rate)
        self._graph: av.filter.Graph | None = None
        self._template: av.AudioFrame | None = None  # the first decoded frame: format, rate and layout
        self._first_pts: int | None = None  # of the output, in 1/sample_rate
        self._start_time = Fraction(0)  # of the first decoded frame, in seconds from the input's origin
        self._samples_in = 0  # decoded, and silence for the gaps between them
        self._samples_out = 0
        self.skipped_packets = 0  # packets that did not decode
        self.filled_seconds = Fraction(0)  # of silence put in the input's gaps

    def encode(self, packet: av.Packet) -> list[av.Packet]:
        """Decode ``packet``, stretch what it holds and encode what the filters have ready."""
        return self._stretch(packet)

    def flush(self) -> list[av.Packet]:
        """Decode, stretch and encode what is left; the output ends at exactly N× the samples decoded."""
        packets = self._stretch(None)
        if self._graph is not None:
            self._graph.push(self._silence(round(PADDING_SECONDS * self._template.sample_rate)))
            self._graph.push(None)
            # N× the samples given, counted at the output's rate (the codec may code another: encoder_rate).
            given = self._samples_in * self.slow_motion
            limit = round(Fraction(given * self.sample_rate, self._template.sample_rate))
            packets += self._drain(limit=limit)
        return packets + list(self.stream.encode(None))

    def _stretch(self, packet: av.Packet | None) -> list[av.Packet]:
        """Stretch the frames decoded from ``packet`` (None: the decoder's last); encode what comes out.

        A packet that does not decode (a partial AC-3 frame where a file was cut) is skipped and counted
        in ``skipped_packets``, as FFmpeg does; the silence that fills its time keeps the sync.
        """
        try:
            frames = self.source.decode(packet)
        except av.FFmpegError:
            self.skipped_packets += 1
            return []
        packets: list[av.Packet] = []
        for frame in frames:
            if self._graph is None:
                self._start(frame)
            gap = self._gap(frame)
            if gap > 0:
                self._graph.push(self._silence(gap))
                self._samples_in += gap
                self.filled_seconds += Fraction(gap, frame.sample_rate)
            self._samples_in += frame.samples
            self._graph.push(frame)
            packets += self._drain()
        return packets

    def _gap(self, frame: av.AudioFrame) -> int:
        """Samples missing before ``frame`` by its timestamp (a skipped packet, a hole in the input), or 0.

        Gaps under :data:`GAP_TOLERANCE` are timestamp rounding (Matroska counts milliseconds).
        """
        if frame.pts is None or frame.time_base is None:
            return 0
        expected = self._start_time + Fraction(self._samples_in, frame.sample_rate)
        gap = frame.pts * frame.time_base - expected
        return round(gap * frame.sample_rate) if gap > GAP_TOLERANCE else 0

    def notes(self, name: str) -> list[str]:
        """What was skipped or filled, for ``note:`` lines about the stream called ``name``."""
        notes = []
        if self.skipped_packets:
            notes.append(f"{name}: {self.skipped_packets} packet(s) could not be decoded and were skipped")
        if self.filled_seconds:
            notes.append(
                f"{name}: {float(self.filled_seconds):.3f} s of gaps between its timestamps filled with "
                "silence, to stay in step with the video"
            )
        return notes

    def _start(self, frame: av.AudioFrame) -> None:
        """Build abuffer → atempo … → aformat (the encoder's) → abuffersink for frames like ``frame``."""
        self._template = frame
        time_base = Fraction(1, frame.sample_rate)
        if frame.pts is not None and frame.time_base is not None:
            self._start_time = frame.pts * frame.time_base
        self._first_pts = round(self._start_time * self.slow_motion * self.sample_rate)
        graph = av.filter.Graph()
        source = graph.add_abuffer(  # not template=frame, which PyAV 18 reads as a stream
            format=frame.format.name,
            sample_rate=frame.sample_rate,
            layout=frame.layout.name,
            time_base=time_base,
        )
        chain = [source]
        chain += [graph.add("atempo", f"tempo={float(tempo)!r}") for tempo in atempo_chain(self.slow_motion)]
        encoder = self.stream.codec_context
        chain.append(
            graph.add(
                "aformat",
                f"sample_fmts={encoder.format.name}:sample_rates={self.sample_rate}"
                f":channel_layouts={encoder.layout.name}",
            )
        )
        chain.append(graph.add("abuffersink"))
        for upstream, downstream in zip(chain, chain[1:], strict=False):
            upstream.link_to(downstream)
        graph.configure()
        if encoder.frame_size:  # AAC takes frames of exactly 1024 samples, Opus 960; all but the last
            graph.set_audio_frame_size(encoder.frame_size)
        self._graph = graph

    def _silence(self, samples: int) -> av.AudioFrame:
        """A frame of ``samples`` zeros in the first decoded frame's format, rate and layout."""
        template = self._template
        channels = len(template.layout.channels)
        shape = (channels, samples) if template.format.is_planar else (1, samples * channels)
        silence = av.AudioFrame.from_ndarray(
            np.zeros(shape, template.to_ndarray().dtype), format=template.format.name, layout=template.layout
        )
        silence.sample_rate = template.sample_rate
        silence.time_base = Fraction(1, template.sample_rate)
        silence.pts = None
        return silence

    def _drain(self, limit: int | None = None) -> list[av.Packet]:
        """Encode the frames the graph has ready, cut so that no more than ``limit`` samples are output."""
        packets: list[av.Packet] = []
        while True:
            try:
                frame = self._graph.pull()
            except (av.BlockingIOError, av.EOFError):
                return packets
            if limit is not None:
                keep = limit - self._samples_out
                if keep <= 0:
                    continue
                if frame.samples > keep:
                    frame = _first_samples(frame, keep)
            frame.pts = self._first_pts + self._samples_out
            frame.time_base = Fraction(1, self.sample_rate)
            self._samples_out += frame.samples
            packets += self.stream.encode(frame)


def _first_samples(frame: av.AudioFrame, samples: int) -> av.AudioFrame:
    """The first ``samples`` samples of ``frame`` as a new frame (same format, layout and rate)."""
    channels = len(frame.layout.channels)
    array = frame.to_ndarray()
    array = array[:, :samples] if frame.format.is_planar else array[:, : samples * channels]
    cut = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(array), format=frame.format.name, layout=frame.layout
    )
    cut.sample_rate = frame.sample_rate
    return cut
