"""Writing: encoders at exact frame rates, stream copy of audio and subtitles, atomic output.

* **Encoders.** ``h264``: libx264 with a constant rate factor (CRF, default 18,
  visually near-lossless), ``yuv420p`` for even sizes (plays everywhere) and
  ``yuv444p`` for odd sizes such as 421×239, because 4:2:0 needs even sizes and
  sepgan never resizes or crops behind the user's back (4:4:4 H.264 plays in
  FFmpeg, VLC and mpv but not in every browser). ``hevc`` (libx265) and ``vp9``
  (libvpx-vp9, profile 1 for 4:4:4) the same way; ``av1`` (SVT-AV1, or libaom or
  rav1e where FFmpeg lacks it) in 4:2:0 only, so even sizes only. CRF ranges,
  defaults and speed presets per codec are :data:`sepgan.options.ENCODER_QUALITY`'s.
  ``prores``: ProRes 422 HQ (prores_ks, ``yuv422p10le``; 4444 for odd widths),
  always 10-bit. ``ffv1``: lossless RGB (``bgr0``) in Matroska. ``png``: a folder
  of numbered PNG files (``000000.png`` ...), lossless, at compression level 1 for speed.
* **More than 8 bits.** Input of more than 8 bits per sample keeps its depth
  where the output can (:func:`frame_bits`): HEVC, AV1, VP9 (profile 2 or 3)
  and ProRes in 10 bits (``yuv420p10le``, ...), FFV1 in RGB of the input's
  depth (``gbrp10le``, ...), PNG in 16 bits (``rgb48``). The job then reads,
  makes and writes its frames as uint16 RGB (``rgb48le``), so the frames in
  between have the input's precision too. H.264, and an encoder FFmpeg was
  built without high bit depth (this libvpx), write 8 bits, with a note.
  ``write`` takes uint8 or uint16 frames into any codec (uint16 is rounded
  for an 8-bit one: a montage beside a 10-bit output).
* **Frame rates** are exact: the output stream's time base is ``1/fps``, so MP4
  and MOV store it exactly; Matroska stores timestamps in milliseconds, so
  players read 119.88 fps back as an approximation (the frames are still evenly
  spaced to within 1 ms).
* **Audio and subtitles** are copied packet by packet, unchanged, with their
  timestamps. When the output container cannot hold a codec (MP4 takes only
  ``mov_text`` subtitles, for instance; PyAV's FFmpeg puts no WMA or IMA ADPCM
  into Matroska), audio is re-encoded to AAC, Opus in WebM (:mod:`sepgan.media.audio`), and
  subtitles are dropped with a note. An audio stream without packets (no
  sample rate or channels known) is dropped with a note. An error in one of
  these streams names it (:class:`VideoError`), never the video.
* **What else a stream copy keeps**: cover art (an ``attached_pic`` stream: MP4's
  cover in MP4/MOV, a one-frame track elsewhere, with a note), other video
  streams (copied, not interpolated, with a note), attachments (Matroska only;
  elsewhere a note), file tags and chapters (``container_info``).
* **Slow motion** (``slow_motion`` = N > 1, for ``--slowmo``): the video is
  written at the given rate as usual, its start at N× the input's; audio is
  time-stretched N× with FFmpeg's ``atempo`` (pitch kept) and re-encoded to AAC
  (Opus in WebM),
  subtitles are retimed (timestamps and durations × N), both by
  :mod:`sepgan.media.stretch`; a stream that cannot be is dropped with a note.
* **Colour and presentation** are the input's (:class:`sepgan.media.colour.Colour`,
  :class:`sepgan.media.presentation.Presentation`).
* **Atomic output.** A video is written to a hidden temporary file beside the
  target and renamed onto it by :meth:`VideoWriter.close`; a PNG sequence is
  written into a hidden temporary folder that is renamed at the end. An error
  or Ctrl-C leaves no partial output under the final name.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from sepgan.atomic import AtomicOutput
from sepgan.media.audio import AudioTranscoder, audio_encoder_for, has_parameters
from sepgan.media.colour import RANGE_PC, Colour, full_range_yuv, output_colour, round_to_8bit
from sepgan.media.formats import (
    ATTACHING_CONTAINERS,
    COVER_ART_CONTAINERS,
    ENCODERS,
    ROTATING_CONTAINERS,
    VideoError,
    ffmpeg_reason,
    output_codec,
)
from sepgan.media.presentation import ContainerInfo, Presentation, stream_tags
from sepgan.media.stretch import AudioStretcher, retime_packet, retimeable
from sepgan.options import check_crf, check_encoder_preset

# Codecs that store 10 bits per sample; ProRes always does.
TEN_BIT_CODECS = frozenset({"hevc", "av1", "vp9", "prores"})
# Codecs that keep more than 8 bits per sample of deeper input (where FFmpeg's encoder has them), in
# the order a note suggests them: FFV1 as RGB of the input's depth, PNG as 16-bit RGB.
DEEP_CODECS = ("hevc", "av1", "vp9", "prores", "ffv1", "png")
# The RGB formats frames are handed over in, by array dtype.
_RGB_FORMATS = {np.dtype(np.uint8): "rgb24", np.dtype(np.uint16): "rgb48le"}
# Codecs whose bitstream has no pixel aspect, which FFmpeg's Matroska/WebM muxer as PyAV drives it does
# not write either (tests/test_codecs.py): a note says it is dropped.
ASPECTLESS_CODECS = frozenset({"ffv1", "av1", "vp9"})

__all__ = ["PngSequenceWriter", "VideoWriter", "frame_bits", "open_writer"]


class VideoWriter:
    """Encodes RGB uint8 or uint16 H×W×3 frames to a video file at an exact frame rate, atomically.

    ``write(frame)`` encodes the next frame; ``copy_packet(packet)`` copies a
    packet of one of the ``passthrough`` input streams; ``close()`` flushes and
    renames the temporary file onto ``path``; ``abort()`` deletes it.
    Used as a context manager, an exception aborts.

    ``colour`` (a reader's :attr:`VideoReader.colour`) sets how RGB becomes YUV
    and the colour tags written: the input's matrix, range, primaries and
    transfer. Without it, untagged-input rules apply (BT.709 for HD, BT.601
    below, tv range). The matrix is always tagged, also when it was guessed, so
    no player has to guess again. FFV1 stores RGB, tagged ``gbr``.

    ``presentation`` (a reader's :attr:`VideoReader.presentation`) is written
    to the video stream: display matrix, sample aspect ratio and tags. Copied
    audio and subtitle streams keep their tags and disposition.

    ``keyframe_interval``: at most this many frames between H.264 keyframes
    (x264's ``g``; None: x264's default, 250), short for clips that are sought
    in. ``faststart``: MP4/MOV with the index first (``movflags=+faststart``),
    so that a browser starts playing before the whole file has arrived.

    ``template`` (a stream of a file this class wrote, e.g. a segment's part): the video is
    not encoded but copied, packet by packet (:meth:`copy_video_packet`), with that
    stream's codec parameters; colour tags and pixel aspect come with them.

    ``container_info`` (a reader's :attr:`VideoReader.container_info`): the input's file tags
    (title, artist, …) and chapters are written too, chapter times × ``slow_motion``.

    ``slow_motion`` (an integer N ≥ 1): the copied streams are slowed down N×
    to stay in step with a video of N× the frames at the input's rate: audio
    time-stretched (:class:`~sepgan.media.stretch.AudioStretcher`), subtitle
    timestamps and durations × N. ``start_time`` is the output's own (already
    scaled by the caller).

    ``duration`` (seconds, exact; MP4/MOV): the video lasts exactly this long, whatever
    its frame rate: the last frame is held until then (it must start before). The
    track's timescale is then one in which both the frame period and ``duration``
    are whole ticks, and the video packet with the latest timestamp is held back
    until :meth:`close` knows it is the last. The study gives every arm of a trial
    the same duration this way (:mod:`sepgan.study.clips`).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fps: Fraction,
        width: int,
        height: int,
        codec: str = "h264",
        crf: int | None = None,
        preset: str | None = None,
        start_time: Fraction = Fraction(0),
        passthrough: Sequence[av.stream.Stream] = (),
        colour: Colour | None = None,
        presentation: Presentation | None = None,
        keyframe_interval: int | None = None,
        faststart: bool = False,
        slow_motion: int = 1,
        template: av.stream.Stream | None = None,
        container_info: ContainerInfo | None = None,
        duration: Fraction | None = None,
    ) -> None:
        self.path = Path(path)
        self.fps = Fraction(fps)
        self.duration = None if duration is None else Fraction(duration)
        self._held: list[av.Packet] = []  # with ``duration``: video packets not muxed yet
        self.slow_motion = slow_motion
        self.colour = output_colour(colour, codec, width, height)
        self.notes: list[str] = []
        self.frames_written = 0
        self._bits = 8  # bits per sample of the encoder's format (set with the video stream)
        self._output = AtomicOutput(self.path)  # a hidden temporary beside path, with its suffix
        try:
            options = {"movflags": "+faststart"} if faststart else {}
            if self.duration is not None:
                options["video_track_timescale"] = str(_timescale(self.fps, self.duration))
            self.container = av.open(str(self._output.temporary), "w", options=options)
        except (av.FFmpegError, OSError) as error:
            raise VideoError(
                f"{self.path}: cannot write to folder {self.path.parent} ({ffmpeg_reason(error)})"
            ) from error
        try:
            if template is None:
                self._add_video_stream(codec, width, height, crf, preset, keyframe_interval)
            else:  # encoded already: packets come through copy_video_packet
                self.video = self.container.add_stream_from_template(template)
                self.video.time_base = Fraction(self.fps.denominator, self.fps.numerator)
            self._encoding = template is None
            self._present(presentation or Presentation(), codec)
            self._keep_file_info(container_info or ContainerInfo())
            # First output pts: the input's first timestamp, in output frames.
            self._first_pts = round(start_time * self.fps)
            self._copies: dict[int, av.stream.Stream] = {}
            self._transcodes: dict[int, AudioTranscoder] = {}
            self._stretches: dict[int, AudioStretcher] = {}
            for stream in passthrough:
                self._add_passthrough(stream)
            self._write_header()
        except BaseException:
            self.abort()
            raise

    def _add_video_stream(
        self,
        codec: str,
        width: int,
        height: int,
        crf: int | None,
        preset: str | None,
        keyframe_interval: int | None,
    ) -> None:
        if codec not in ENCODERS:
            raise VideoError(f"unknown video codec {codec!r}")
        encoder = _encoder(codec)
        crf, preset = check_crf(crf, codec), check_encoder_preset(preset, codec)
        pix_fmt = _pix_fmt(codec, width, height, self.colour.bits)
        if codec == "av1" and pix_fmt is None:
            raise VideoError(
                f"{self.path}: AV1 is written in 4:2:0, which needs an even width and height, not "
                f"{width}×{height}; choose --codec hevc or vp9 (4:4:4 at odd sizes)"
            )
        if pix_fmt not in _formats(encoder) and pix_fmt.endswith("10le"):  # libvpx without high bit depth
            self._depth_note(f"{encoder} here has no {pix_fmt}")
            pix_fmt = pix_fmt.removesuffix("10le")
        elif self.colour.bits > 8 and codec not in DEEP_CODECS:
            self._depth_note(f"{codec} is written in 8")
        self._bits = _bits(pix_fmt)
        if encoder == "libsvtav1":  # SVT-AV1 prints its whole configuration to stderr unless told otherwise
            os.environ.setdefault("SVT_LOG", "1")
        stream = self.container.add_stream(encoder, rate=self.fps)
        stream.options = _encoder_options(encoder, crf, preset, keyframe_interval, pix_fmt)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        # The encoder writes these into the bitstream (H.264 VUI) and the muxer into the container.
        context = stream.codec_context
        context.colorspace, context.color_range = self.colour.matrix, self.colour.range
        context.color_primaries, context.color_trc = self.colour.primaries, self.colour.transfer
        stream.time_base = Fraction(self.fps.denominator, self.fps.numerator)
        stream.codec_context.time_base = stream.time_base
        self.video = stream

    def _depth_note(self, reason: str) -> None:
        """The note for input of more than 8 bits per sample written in 8 here, for ``reason``."""
        keeping = [codec for codec in DEEP_CODECS if _keeps_depth(codec)]
        self.notes.append(
            f"the input's {self.colour.bits} bits per sample are cut to 8: {reason} "
            f"(--codec {', '.join(keeping[:-1])} or {keeping[-1]} keeps them)"
        )

    def _present(self, presentation: Presentation, codec: str = "h264") -> None:
        """Write the input's display matrix, sample aspect ratio and tags to the video stream (a
        ``note:`` for what ``codec`` in this container cannot hold)."""
        if presentation.display_matrix is not None:
            if self.path.suffix.lower() in ROTATING_CONTAINERS:
                self.video.set_display_matrix(presentation.display_matrix)
            else:
                self.notes.append(
                    f"{presentation.turn} dropped: {self.path.suffix} cannot hold a display "
                    "matrix (write .mp4, .mov or .mkv to keep it)"
                )
        if presentation.sample_aspect_ratio is not None:
            # On the codec context: the encoder writes it into the bitstream, the muxer into the container.
            self.video.codec_context.sample_aspect_ratio = presentation.sample_aspect_ratio
            suffix = self.path.suffix.lower()
            if (
                codec in ASPECTLESS_CODECS
                and suffix in (".mkv", ".webm")
                and presentation.sample_aspect_ratio != 1
            ):
                self.notes.append(
                    f"pixel aspect {presentation.sample_aspect_ratio} dropped: {codec} in {suffix} does not "
                    "carry it here (H.264, HEVC and ProRes do, and AV1 in .mp4)"
                )
        self.video.metadata.update(dict(presentation.tags))

    def _keep_file_info(self, info: ContainerInfo) -> None:
        """The input's file tags, and its chapters (times × ``slow_motion``), in the output."""
        self.container.metadata.update(dict(info.tags))
        if info.chapters:
            time_base = Fraction(1, 1000)
            self.container.set_chapters(
                [
                    {
                        "id": index + 1,
                        "start": round(chapter.start * self.slow_motion / time_base),
                        "end": round(chapter.end * self.slow_motion / time_base),
                        "time_base": time_base,
                        "metadata": dict(chapter.tags),
                    }
                    for index, chapter in enumerate(info.chapters)
                ]
            )

    def _add_passthrough(self, stream: av.stream.Stream) -> None:
        if stream.type == "attachment":
            self._add_attachment(stream)
            return
        name = stream.codec_context.name
        if not has_parameters(stream):
            self.notes.append(
                f"{stream.type} stream {stream.index} ({name}) dropped: it carries no packets "
                "(FFmpeg found no sample rate or channels to write)"
            )
        elif self.slow_motion > 1 and (reason := retimeable(stream)) is not None:
            self.notes.append(f"{stream.type} stream {stream.index} ({name}) dropped: {reason}")
        elif self.slow_motion > 1 and stream.type == "audio":
            codec, target = audio_encoder_for(self.container)
            stretcher = AudioStretcher(stream, self.container, self.slow_motion, codec)
            self._stretches[stream.index] = stretcher
            self._open_encoder(stream, stretcher.stream, "time-stretched")
            self.notes.append(
                f"audio stream {stream.index} ({name}) time-stretched {self.slow_motion}× with atempo "
                f"(pitch kept), re-encoded to {target}"
            )
        elif name in self.container.supported_codecs:
            copy = self._copies[stream.index] = self.container.add_stream_from_template(stream)
            copy.metadata.update(stream_tags(stream))
            copy.disposition = stream.disposition
            if stream.type == "video" and not stream.disposition & av.stream.Disposition.attached_pic:
                self.notes.append(f"video stream {stream.index} ({name}) copied as it is, not interpolated")
            elif stream.type == "video" and self.path.suffix.lower() not in COVER_ART_CONTAINERS:
                self.notes.append(
                    f"cover art (video stream {stream.index}, {name}) kept as a one-frame video track, "
                    f"as a stream copy keeps it: {self.path.suffix} has no cover art of its own"
                )
        elif stream.type == "audio":
            codec, target = audio_encoder_for(self.container)
            transcoder = self._transcodes[stream.index] = AudioTranscoder(stream, self.container, codec)
            self._open_encoder(stream, transcoder.stream, f"re-encoded to {target}")
            self.notes.append(
                f"audio stream {stream.index} ({name}) re-encoded to {target} for {self.path.suffix}"
            )
        else:
            self.notes.append(
                f"{stream.type} stream {stream.index} ({name}) dropped: {self.path.suffix} cannot hold it "
                "(write .mkv to keep it)"
            )

    def _add_attachment(self, stream: av.stream.Stream) -> None:
        """An attached file (a font for ASS subtitles), copied into a container that holds them."""
        if self.path.suffix.lower() in ATTACHING_CONTAINERS:
            self.container.add_stream_from_template(stream)
            return
        filename = stream.metadata.get("filename", "a file")
        self.notes.append(
            f"attachment stream {stream.index} ({filename}) dropped: {self.path.suffix} cannot hold "
            "attachments (write .mkv to keep it)"
        )

    def _write_header(self) -> None:
        """Open the encoders and write the file header now, so that a failure is not taken for a frame's."""
        try:
            with _scheduling_kept():
                self.container.start_encoding()
        except (av.FFmpegError, ValueError) as error:
            streams = ", ".join(f"{item.type} ({item.codec_context.name})" for item in self.container.streams)
            reason = ffmpeg_reason(error)
            raise VideoError(f"{self.path}: cannot write the file header for {streams} ({reason})") from error

    def _open_encoder(self, source: av.stream.Stream, encoder: av.stream.Stream, how: str) -> None:
        """Open ``encoder`` now, so that a refusal names its stream (the first mux would blame the video)."""
        try:
            encoder.codec_context.open()
        except (av.FFmpegError, ValueError) as error:
            raise self._stream_error(source, f"cannot be {how}", error) from error

    def _stream_error(self, source: av.stream.Stream, what: str, error: BaseException) -> VideoError:
        """An error about one of the input's other streams: which stream, of which file, and why."""
        context = source.codec_context
        layout = f", {context.layout.name}, {context.sample_rate} Hz" if source.type == "audio" else ""
        return VideoError(
            f"{source.container.name}: {source.type} stream {source.index} ({context.name}{layout}) {what} "
            f"for {self.path.name} ({ffmpeg_reason(error)})"
        )

    def write(self, frame: np.ndarray) -> None:
        """Encode the next frame, RGB H×W×3 uint8 or uint16 (rounded to 8 bits for an 8-bit format)."""
        pix_fmt = self.video.codec_context.pix_fmt
        if self._bits == 8 and frame.dtype == np.uint16:
            frame = round_to_8bit(frame)
        rgb_format = _RGB_FORMATS[frame.dtype]
        if self.colour.rgb:  # the encoder converts to its RGB format (bgr0, gbrp10le ...) itself
            video_frame = av.VideoFrame.from_ndarray(frame, format=rgb_format)
        elif self.colour.range == RANGE_PC and pix_fmt in ("yuv420p", "yuv444p"):
            # Not by swscale, which floors full-range chroma.
            samples = full_range_yuv(frame, self.colour.matrix, pix_fmt)
            video_frame = av.VideoFrame.from_ndarray(samples, format=pix_fmt)
            video_frame.color_range, video_frame.colorspace = self.colour.range, self.colour.matrix
        else:
            # Converted here, not by the encoder, whose conversion would use BT.601 whatever the tags.
            video_frame = av.VideoFrame.from_ndarray(frame, format=rgb_format).reformat(
                format=pix_fmt,
                src_color_range=RANGE_PC,
                dst_color_range=self.colour.range,
                **self.colour.sws_arguments(),
            )
        video_frame.pts = self._first_pts + self.frames_written
        # The codec's time base is 1/fps; the stream's may be changed by the muxer (MP4 picks 1/60000).
        video_frame.time_base = self.video.codec_context.time_base
        self._mux_video(self.video.encode(video_frame))
        self.frames_written += 1

    def _mux_video(self, packets: Sequence[av.Packet], final: bool = False) -> None:
        """Mux encoded video packets; with ``duration``, in ticks of the track's timescale, each one
        frame long, the last frame (latest pts) until ``duration``.

        Packets come in decode order and are muxed in it; the one with the latest pts so
        far, and those after it, wait, since only at the end is it known to be the last.
        """
        if self.duration is None:
            self._mux(packets)
            return
        timescale = _timescale(self.fps, self.duration)
        frame_ticks = int(timescale / self.fps)
        for packet in packets:  # from the codec's time base, 1/fps
            packet.pts, packet.dts = packet.pts * frame_ticks, packet.dts * frame_ticks
            packet.time_base, packet.duration = Fraction(1, timescale), frame_ticks
            self._held.append(packet)
        if not self._held:
            return
        latest = max(range(len(self._held)), key=lambda index: self._held[index].pts)
        if final:
            end = int(self.duration * timescale)
            last = self._held[latest]
            if last.pts >= end:
                raise VideoError(
                    f"{self.path}: frames past the requested duration {float(self.duration):g} s"
                )
            last.duration = end - last.pts
            latest = len(self._held)
        self._mux(self._held[:latest])
        del self._held[:latest]

    def copy_video_packet(self, packet: av.Packet, pts: int, dts: int) -> None:
        """Mux an encoded video packet (``template`` mode) at ``pts``/``dts`` in output frames from the
        writer's start (its ``start_time``)."""
        packet.pts, packet.dts = self._first_pts + pts, self._first_pts + dts
        packet.time_base = Fraction(self.fps.denominator, self.fps.numerator)
        packet.stream = self.video
        self._mux([packet])
        self.frames_written += 1

    def copy_packet(self, packet: av.Packet) -> None:
        """Copy (or re-encode) a packet of an input audio/subtitle stream given as ``passthrough``.

        Raises :class:`VideoError` naming that stream when it cannot be written.
        """
        source = packet.stream
        index = source.index
        try:
            if index in self._copies:
                if self.slow_motion > 1:  # a subtitle packet: audio is stretched instead
                    retime_packet(packet, self.slow_motion)
                packet.stream = self._copies[index]
                self.container.mux(packet)
            elif index in self._stretches:
                self.container.mux(self._stretches[index].encode(packet))
            elif index in self._transcodes:
                self.container.mux(self._transcodes[index].encode(packet))
        except av.FFmpegError as error:
            raise self._stream_error(source, "cannot be written", error) from error

    def _mux(self, packets: Sequence[av.Packet]) -> None:
        try:
            self.container.mux(packets)
        except av.FFmpegError as error:
            raise VideoError(f"{self.path}: cannot write video ({ffmpeg_reason(error)})") from error

    def close(self) -> None:
        """Flush the encoders, finish the file and rename it onto ``path``."""
        try:
            if self._encoding:
                self._mux_video(self.video.encode(None), final=True)
            for index, encoder in [*self._transcodes.items(), *self._stretches.items()]:
                try:
                    packets = encoder.flush()
                except av.FFmpegError as error:
                    raise self._stream_error(encoder.source, "cannot be written", error) from error
                self._mux(packets)
                self.notes += encoder.notes(f"audio stream {index}")
            self.container.close()
            self._output.commit()
        except BaseException as error:
            self.abort()
            if isinstance(error, OSError):
                raise VideoError(f"{self.path}: cannot write video ({ffmpeg_reason(error)})") from error
            raise

    def abort(self) -> None:
        # Closing a half-written container may fail too; the temporary file goes anyway.
        with contextlib.suppress(av.FFmpegError, OSError, ValueError):
            self.container.close()
        self._output.discard()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _timescale(fps: Fraction, duration: Fraction) -> int:
    """Ticks per second in which one frame (1/fps) and ``duration`` are whole numbers of ticks,
    doubled up to at least 10000 as FFmpeg's MP4 muxer does (finer seeking)."""
    timescale = math.lcm(fps.numerator, duration.denominator)
    while timescale < 10_000:
        timescale *= 2
    return timescale


class PngSequenceWriter:
    """Writes frames as ``000000.png``, ``000001.png`` ... into a folder, atomically.

    The frames go into a hidden temporary folder beside ``path``, which is
    renamed onto ``path`` by :meth:`close` (``path`` must not exist or be empty; with
    ``overwrite``, a folder with files in it is replaced whole).
    ``first_index`` numbers the files from there (a segment's part).
    Audio, subtitles and pixel aspect cannot be kept, nor rotations other than
    by multiples of 90°, which are applied to the pixels; ``notes`` says so.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        passthrough: Sequence[av.stream.Stream] = (),
        presentation: Presentation | None = None,
        first_index: int = 0,
        overwrite: bool = False,
    ) -> None:
        self.path = Path(path)
        self.frames_written = 0
        self.first_index = first_index  # the first file's number (a segment's part starts there)
        self.notes = (
            [f"{len(passthrough)} other stream(s) (audio, subtitles …) dropped: a PNG sequence has none"]
            if passthrough
            else []
        )
        self.presentation = presentation or Presentation()
        # A PNG has no display matrix: rotations by multiples of 90° (and mirrors) are applied to the pixels.
        self._oriented = (
            self.presentation.display_matrix is not None
            and self.presentation.orient(np.zeros((2, 3, 1), np.uint8)) is not None
        )
        if self._oriented:
            self.notes.append(
                f"{self.presentation.turn} applied to the PNG frames (a PNG has no display matrix)"
            )
        lost = replace(self.presentation, display_matrix=None) if self._oriented else self.presentation
        if lost.describe():
            self.notes.append(
                f"{lost.describe()} not kept: "
                "PNG frames are stored as decoded (write a video file to keep it)"
            )
        if self.path.exists() and not self.path.is_dir():
            raise VideoError(f"{self.path}: is a file, not a folder for PNG frames")
        if not overwrite and any(self.path.iterdir() if self.path.is_dir() else ()):
            raise VideoError(f"{self.path}: output folder exists and is not empty")
        try:
            self._output = AtomicOutput(self.path, folder=True, replace=overwrite)
        except OSError as error:
            raise VideoError(
                f"{self.path}: cannot write to folder {self.path.parent} ({ffmpeg_reason(error)})"
            ) from error

    def write(self, frame: np.ndarray) -> None:
        """Write the next frame, RGB H×W×3: uint8 as an 8-bit PNG, uint16 as a 16-bit one."""
        if self._oriented:
            frame = self.presentation.orient(frame)
        target = self._output.temporary / f"{self.first_index + self.frames_written:06d}.png"
        try:
            if frame.dtype == np.uint16:
                _save_png16(frame, target)
            else:
                Image.fromarray(frame).save(target, format="PNG", compress_level=1)
        except (OSError, av.FFmpegError) as error:
            self.abort()
            raise VideoError(f"{self.path}: cannot write frame ({ffmpeg_reason(error)})") from error
        self.frames_written += 1

    def copy_packet(self, packet: av.Packet) -> None:
        """Audio and subtitle packets have nowhere to go in a PNG sequence."""

    def close(self) -> None:
        try:
            self._output.commit()  # replaces an empty folder, and a non-empty one with overwrite
        except OSError as error:
            self.abort()
            reason = ffmpeg_reason(error)
            raise VideoError(f"{self.path}: cannot finish the output folder ({reason})") from error

    def abort(self) -> None:
        self._output.discard()

    def __enter__(self) -> PngSequenceWriter:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def open_writer(
    path: str | os.PathLike[str],
    *,
    fps: Fraction,
    width: int,
    height: int,
    codec: str = "auto",
    crf: int | None = None,
    preset: str | None = None,
    start_time: Fraction = Fraction(0),
    passthrough: Sequence[av.stream.Stream] = (),
    colour: Colour | None = None,
    presentation: Presentation | None = None,
    slow_motion: int = 1,
    container_info: ContainerInfo | None = None,
    overwrite: bool = False,
) -> VideoWriter | PngSequenceWriter:
    """A :class:`VideoWriter` or a :class:`PngSequenceWriter`, as :func:`output_codec` decides.

    ``slow_motion``: see :class:`VideoWriter` (a PNG sequence has no other streams to slow down).
    ``overwrite``: a PNG sequence may replace a folder with files in it (a video file is always
    replaced; whether an output may be replaced is the caller's check, :func:`sepgan.atomic.check_overwrite`).
    """
    chosen = output_codec(path, codec)
    if chosen == "png":
        writer = PngSequenceWriter(path, passthrough, presentation, overwrite=overwrite)
        if container_info:
            writer.notes.append(f"{container_info.describe()} dropped: a PNG sequence has none")
        return writer
    return VideoWriter(
        path,
        fps=fps,
        width=width,
        height=height,
        codec=chosen,
        crf=crf,
        preset=preset,
        start_time=start_time,
        passthrough=passthrough,
        colour=colour,
        presentation=presentation,
        slow_motion=slow_motion,
        container_info=container_info,
    )


def _encoder(codec: str) -> str:
    """FFmpeg's encoder for ``codec``: the first of :data:`~sepgan.media.formats.ENCODERS` it has."""
    available = av.codecs_available
    for name in ENCODERS[codec]:
        if name in available:
            return name
    raise VideoError(
        f"this FFmpeg has no {codec} encoder ({' or '.join(ENCODERS[codec])}); choose another --codec"
    )


@contextlib.contextmanager
def _scheduling_kept():
    """Restore this thread's scheduling policy after opening encoders: SVT-AV1 (v4.1) switches the
    thread that opens it to real-time SCHED_FIFO, priority 99, when the process runs as root. Kept,
    every later thread and child process would inherit it, and two such children that wait on each
    other can starve everything else on the machine (it hung a two-process training test here).
    SVT-AV1's own encoder threads keep the policy it gives them while they run."""
    if not hasattr(os, "sched_getscheduler"):  # not Linux
        yield
        return
    policy, parameters = os.sched_getscheduler(0), os.sched_getparam(0)
    try:
        yield
    finally:
        if os.sched_getscheduler(0) != policy:
            with contextlib.suppress(OSError):
                os.sched_setscheduler(0, policy, parameters)


def _pix_fmt(codec: str, width: int, height: int, bits: int) -> str | None:
    """The samples ``codec`` is written in: 4:2:0 at even sizes, else 4:4:4 (None: AV1 has no 4:4:4
    here); 10 bits for input of ``bits`` > 8 where the codec takes them; FFV1 stores RGB, of the input's
    depth (``gbrp10le`` ...; 16 bits where FFV1 has no format of that depth)."""
    if codec == "ffv1":
        if bits <= 8:
            return "bgr0"
        return f"gbrp{bits}le" if f"gbrp{bits}le" in _formats("ffv1") else "gbrp16le"
    even = width % 2 == 0 and height % 2 == 0
    if codec == "prores":
        return "yuv422p10le" if width % 2 == 0 else "yuv444p10le"
    if codec == "av1" and not even:
        return None
    depth = "10le" if bits > 8 and codec in TEN_BIT_CODECS else ""
    return ("yuv420p" if even else "yuv444p") + depth


@functools.cache
def _formats(encoder: str) -> frozenset[str]:
    """The pixel formats FFmpeg's ``encoder`` takes."""
    return frozenset(video_format.name for video_format in av.Codec(encoder, "w").video_formats or ())


def _bits(pix_fmt: str) -> int:
    """Bits per sample of a pixel format (8 for ``yuv420p`` and ``bgr0``, 10 for ``yuv420p10le``)."""
    return max(component.bits for component in av.VideoFormat(pix_fmt).components)


def _keeps_depth(codec: str) -> bool:
    """Whether ``codec`` is written here with more than 8 bits per sample for deeper input: PNG always,
    the others where FFmpeg has their encoder with such a format (this libvpx has none)."""
    if codec == "png":
        return True
    if codec not in DEEP_CODECS:
        return False
    try:
        encoder = _encoder(codec)
    except VideoError:
        return False
    return _pix_fmt(codec, 2, 2, 10) in _formats(encoder)


def frame_bits(codec: str, colour: Colour | None) -> int:
    """Bits per channel of the RGB frames a job reads, makes and writes for output ``codec``
    (:data:`sepgan.media.formats.CODECS`): 16 (uint16 arrays, ``rgb48le``) when the input has more
    than 8 bits per sample (``colour.bits``, a reader's :attr:`VideoReader.colour`) and ``codec`` keeps
    more here (HEVC, AV1, VP9 and ProRes in 10, FFV1 in the input's depth, PNG in 16; module docstring),
    else 8 (uint8, ``rgb24``): 8-bit input, H.264, a libvpx without high bit depth."""
    if colour is None or colour.bits <= 8:
        return 8
    return 16 if _keeps_depth(codec) else 8


def _save_png16(frame: np.ndarray, target: Path) -> None:
    """Write an RGB uint16 H×W×3 frame as a 16-bit PNG (``rgb48be``) with FFmpeg's PNG encoder
    (Pillow writes no 16-bit RGB), at compression level 1 as the 8-bit frames."""
    encoder = av.CodecContext.create("png", "w")
    encoder.width, encoder.height, encoder.pix_fmt = frame.shape[1], frame.shape[0], "rgb48be"
    encoder.options = {"compression_level": "1"}
    picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb48le")
    packets = [*encoder.encode(picture), *encoder.encode(None)]
    target.write_bytes(b"".join(bytes(packet) for packet in packets))


def _encoder_options(
    encoder: str, crf: int | None, preset: str | None, keyframe_interval: int | None, pix_fmt: str
) -> dict:
    """The encoder's own options for a CRF, a speed preset and a keyframe interval."""
    options: dict[str, str] = {}
    if encoder in ("libx264", "libx265"):
        options = {"crf": str(crf), "preset": str(preset)}
        if encoder == "libx265":
            options["x265-params"] = "log-level=error"  # x265 prints its settings to stderr otherwise
    elif encoder == "libsvtav1":
        options = {"crf": str(crf), "preset": str(preset)}
    elif encoder == "libaom-av1":
        options = {"crf": str(crf), "cpu-used": str(min(int(str(preset)), 8))}
    elif encoder == "librav1e":
        options = {"qp": str(round(int(str(crf)) * 255 / 63)), "speed": str(min(int(str(preset)), 10))}
    elif encoder == "libvpx-vp9":  # constant quality: crf with no bitrate target
        options = {"crf": str(crf), "b": "0", "cpu-used": str(preset), "deadline": "good", "row-mt": "1"}
    elif encoder == "prores_ks":
        options = {"profile": "4444" if pix_fmt.startswith("yuv444") else "hq"}
    if keyframe_interval is not None:
        options["g"] = str(keyframe_interval)
    return options
