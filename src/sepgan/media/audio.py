"""Audio re-encoded: for a container that cannot hold the input's codec, and for slow motion.

The codec is the one the container takes (:func:`audio_encoder_for`): Opus for
WebM (which holds Opus and Vorbis only), AAC everywhere else. Any audio FFmpeg
decodes goes into MP4 this way (WMA from ``.wmv``, 8-bit PCM
and IMA ADPCM from cameras' ``.avi``, AC-3, Vorbis …), as ``ffmpeg -c:a aac``
would take it:

* **Encoder settings** (:func:`add_audio_encoder`): the input's sample rate when
  the codec codes it (AAC: 13 rates, 7350 to 96000 Hz; Opus: 8000 to 48000 Hz),
  else the next rate up (the highest above them all); the input's channel layout
  when FFmpeg's encoder opens with it. A layout without channel names ("1 channels", as AVI
  and WAV headers give it), which the encoder refuses (EINVAL), becomes
  FFmpeg's default layout for that many channels ("mono", "stereo", "5.1" …),
  as ``ffmpeg`` does; more than 8 channels are downmixed to stereo.
* **Conversion**: decoded frames go to the encoder, whose own resampler
  (PyAV's, swresample through ``aformat``) converts sample format, layout and
  rate and cuts the frames the codec takes (AAC 1024 samples, Opus 960 at 48 kHz).
* **Damage**: a packet that does not decode is skipped, as FFmpeg does, and
  counted for a note (:class:`AudioTranscoder`); frames stay at their own
  timestamps, so later sound stays in step with the video.

Errors: FFmpeg's errors propagate as ``av.FFmpegError``; the writer names the
stream they come from (:class:`sepgan.media.writer.VideoWriter`).
"""

from __future__ import annotations

import functools

import av

from sepgan.media.presentation import stream_tags

__all__ = [
    "AudioTranscoder",
    "add_audio_encoder",
    "audio_encoder_for",
    "encoder_layout",
    "encoder_rate",
    "has_parameters",
]

_MAX_NAMED_CHANNELS = 8  # "8c" is 7.1, FFmpeg's largest default layout for AAC
# Containers whose muxer takes no AAC, and the encoder (FFmpeg's name, the name for notes) they get.
_CONTAINER_AUDIO_ENCODERS = {"webm": ("libopus", "Opus")}  # WebM holds Opus and Vorbis only
_DEFAULT_AUDIO_ENCODER = ("aac", "AAC")


def audio_encoder_for(container: av.container.OutputContainer) -> tuple[str, str]:
    """The audio encoder for re-encoded audio in ``container``: (FFmpeg's encoder name, the codec's
    name for notes); ``("libopus", "Opus")`` for WebM, ``("aac", "AAC")`` for the rest (MP4, MOV, MKV)."""
    return _CONTAINER_AUDIO_ENCODERS.get(container.format.name, _DEFAULT_AUDIO_ENCODER)


def has_parameters(stream: av.stream.Stream) -> bool:
    """Whether FFmpeg learnt an audio stream's sample rate and channels from its packets.

    False for a stream that a program map or header declares but that carries no
    packets (a DVB capture's AC-3 track): no muxer can write it, so it is dropped.
    Always True for other stream types.
    """
    if stream.type != "audio":
        return True
    context = stream.codec_context
    return bool(context.sample_rate) and context.layout.nb_channels > 0


@functools.cache
def _encoder_opens(codec: str, layout: str, rate: int) -> bool:
    """Whether FFmpeg's ``codec`` encoder opens for ``layout`` (a layout name) at ``rate`` Hz (a trial
    open, cached)."""
    context = av.CodecContext.create(codec, "w")
    formats = av.Codec(codec, "w").audio_formats
    context.sample_rate, context.layout = rate, layout
    if formats:
        context.format = formats[0]
    try:
        context.open()
    except (av.FFmpegError, ValueError):
        return False
    return True


def encoder_rate(rate: int, codec: str = "aac") -> int:
    """The sample rate ``codec`` encodes input at ``rate`` Hz at: the same when the codec takes it
    (AAC: 13 rates from 7350 to 96000 Hz), else the next one up (the highest above them all)."""
    rates = sorted(av.Codec(codec, "w").audio_rates or (rate,))
    return next((candidate for candidate in rates if candidate >= rate), rates[-1])


def encoder_layout(layout: av.AudioLayout, rate: int = 48000, codec: str = "aac") -> av.AudioLayout:
    """The channel layout ``codec`` encodes input in ``layout`` in: the same when the encoder opens
    with it, else FFmpeg's default layout for its channel count ("1 channels" → mono), else stereo."""
    channels = layout.nb_channels
    candidates = [layout.name]
    if 0 < channels <= _MAX_NAMED_CHANNELS:
        candidates.append(av.AudioLayout(f"{channels}c").name)
    candidates.append("mono" if channels == 1 else "stereo")
    chosen = next((name for name in candidates if _encoder_opens(codec, name, rate)), candidates[-1])
    return av.AudioLayout(chosen)


def add_audio_encoder(
    container: av.container.OutputContainer, source: av.audio.stream.AudioStream, codec: str = "aac"
) -> av.audio.stream.AudioStream:
    """A new ``codec`` stream in ``container`` for the decoded audio of ``source`` (an input stream):
    its rate and layout as :func:`encoder_rate` and :func:`encoder_layout` choose, the source's tags
    and disposition."""
    decoder = source.codec_context
    rate = encoder_rate(decoder.sample_rate, codec)
    stream = container.add_stream(codec, rate=rate, layout=encoder_layout(decoder.layout, rate, codec))
    stream.metadata.update(stream_tags(source))
    stream.disposition = source.disposition
    return stream


class AudioTranscoder:
    """One input audio stream decoded and re-encoded to ``codec`` (AAC unless given; WebM takes Opus)
    in ``container`` (:func:`add_audio_encoder`).

    :meth:`encode` takes the source's packets and returns packets to mux;
    :meth:`flush`, at the end, the rest. A packet that does not decode is skipped
    (``skipped_packets``, for :meth:`notes`); other FFmpeg errors propagate.
    """

    def __init__(
        self, source: av.audio.stream.AudioStream, container: av.container.OutputContainer, codec: str = "aac"
    ) -> None:
        self.source = source
        self.stream = add_audio_encoder(container, source, codec)
        self.skipped_packets = 0

    def encode(self, packet: av.Packet | None) -> list[av.Packet]:
        """Decode ``packet`` (None: the decoder's last frames) and encode what it holds."""
        try:
            frames = self.source.decode(packet)
        except av.FFmpegError:
            if packet is None:
                raise
            self.skipped_packets += 1
            return []
        packets: list[av.Packet] = []
        for frame in frames:
            packets += self.stream.encode(frame)
        return packets

    def flush(self) -> list[av.Packet]:
        """The decoder's and the encoder's last packets."""
        return self.encode(None) + list(self.stream.encode(None))

    def notes(self, name: str) -> list[str]:
        """What was skipped, for ``note:`` lines about the stream called ``name``."""
        if not self.skipped_packets:
            return []
        return [f"{name}: {self.skipped_packets} packet(s) could not be decoded and were skipped"]
