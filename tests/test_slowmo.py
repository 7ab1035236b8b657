"""`sepgan interpolate --slowmo N`: N× the frames at the input's frame rate, audio time-stretched, subtitles
retimed, bad values refused.

Inputs are written here with PyAV: a 64×48 clip at 24 fps with a 440 Hz AAC tone and a SubRip track
remuxed from an .srt file; the expected values are the input's, N× longer.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from sepgan.media.reader import probe_video
from sepgan.media.stretch import AudioStretcher, atempo_chain
from sepgan.options import OptionError, check_slowmo
from synthetic import (
    decode_all,
    make_clip,
    make_vfr_clip,
    moving_frames,
    run_interpolate_cli,
    stream_seconds,
    write_frame_folder,
)

FRAMES = 12
SUBTITLES = "1\n00:00:00,100 --> 00:00:00,250\nHello\n\n2\n00:00:00,300 --> 00:00:00,450\nWorld\n"


def clip_with_audio_and_subtitles(folder: Path) -> Path:
    """12 frames at 24 fps with a 0.5 s AAC tone (language jpn) and two SubRip cues (eng, forced)."""
    plain = make_clip(
        folder / "plain.mkv", moving_frames(FRAMES, 48, 64), Fraction(24), tone_seconds=FRAMES / 24
    )
    (folder / "cues.srt").write_text(SUBTITLES)
    source = folder / "in.mkv"
    with (
        av.open(str(plain)) as clip,
        av.open(str(folder / "cues.srt")) as cues,
        av.open(str(source), "w") as container,
    ):
        copies = {
            stream: container.add_stream_from_template(stream) for stream in [*clip.streams, *cues.streams]
        }
        copies[clip.streams.audio[0]].metadata["language"] = "jpn"
        copies[cues.streams[0]].metadata["language"] = "eng"
        copies[cues.streams[0]].disposition = av.stream.Disposition.forced
        for opened in (clip, cues):
            for packet in opened.demux():
                if packet.dts is not None:
                    packet.stream = copies[packet.stream]
                    container.mux(packet)
    (folder / "plain.mkv").unlink()
    return source


def subtitle_times(path: Path) -> list[float]:
    """Start and duration in seconds of each subtitle packet, one after the other."""
    with av.open(str(path)) as container:
        stream = container.streams.subtitles[0]
        packets = [packet for packet in container.demux(stream) if packet.pts is not None]
        return [
            float(value * stream.time_base) for packet in packets for value in (packet.pts, packet.duration)
        ]


def audio_samples(path: Path) -> tuple[np.ndarray, int]:
    """The first audio stream decoded: mono float samples and the sample rate."""
    with av.open(str(path)) as container:
        frames = list(container.decode(audio=0))
    return np.concatenate([frame.to_ndarray()[0] for frame in frames]), frames[0].sample_rate


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return clip_with_audio_and_subtitles(tmp_path_factory.mktemp("slowmo"))


@pytest.mark.parametrize("slowmo", [2, 3, 4])
def test_slow_motion_is_n_times_longer_at_the_input_rate_with_audio_and_subtitles(
    tmp_path, weights, source, slowmo
):
    output = tmp_path / "slow.mkv"
    # ×3 needs the default model, which warps to any time; the tiny SepConv makes middles only.
    model = None if slowmo == 3 else weights
    result = run_interpolate_cli(source, "-o", output, "--slowmo", slowmo, weights_folder=model)
    assert result.exit_code == 0, result.output
    assert f"{slowmo * FRAMES} frames from {FRAMES}, {slowmo}× slow motion at 24 fps" in result.output
    assert f"audio stream 1 (aac) time-stretched {slowmo}× with atempo (pitch kept)" in result.output
    # Video: N× the frames at the input's rate, so N× the input's duration (Matroska counts milliseconds).
    assert probe_video(output).fps == 24
    assert len(decode_all(output)) == slowmo * FRAMES
    assert stream_seconds(output, "video") == pytest.approx(slowmo * FRAMES / 24, abs=2e-3)
    # Audio: N× the samples within one AAC frame, the tone's pitch kept, its tags too.
    before, rate = audio_samples(source)
    after, _ = audio_samples(output)
    assert abs(len(after) - slowmo * len(before)) <= 1024
    spectrum = np.abs(np.fft.rfft(after[rate // 10 : -rate // 10]))
    assert np.fft.rfftfreq(len(after) - rate // 5, 1 / rate)[spectrum.argmax()] == pytest.approx(440, abs=5)
    # Subtitles: each cue starts N× later and lasts N× longer.
    assert subtitle_times(output) == pytest.approx([slowmo * value for value in subtitle_times(source)])
    with av.open(str(output)) as container:
        audio, subtitles = container.streams.audio[0], container.streams.subtitles[0]
        assert audio.metadata.get("language") == "jpn" and subtitles.metadata.get("language") == "eng"
        assert subtitles.disposition & av.stream.Disposition.forced


def test_slow_motion_into_mp4_with_a_montage_in_step(tmp_path, weights, source):
    output, montage = tmp_path / "slow.mp4", tmp_path / "montage.mp4"
    result = run_interpolate_cli(
        source, "-o", output, "--slowmo", 2, "--montage", montage, weights_folder=weights
    )
    assert result.exit_code == 0, result.output
    assert "note: subtitle stream 2 (srt) dropped: .mp4 cannot hold it" in result.output
    for path in (output, montage):
        info = probe_video(path)
        assert (info.fps, info.frame_count) == (24, 2 * FRAMES)
        assert stream_seconds(path, "video") == pytest.approx(2 * FRAMES / 24)
    assert stream_seconds(output, "audio") == pytest.approx(
        2 * stream_seconds(source, "audio"), abs=1024 / 48000
    )


@pytest.mark.parametrize("slowmo", [1, 2])
def test_audio_into_webm_is_opus_stretched_or_not(tmp_path, weights, source, slowmo):
    # WebM holds Opus and Vorbis, not AAC: re-encoded audio, stretched or not, takes the codec it holds.
    output = tmp_path / "slow.webm"
    arguments = ["--slowmo", slowmo] if slowmo > 1 else ["--factor", 2]
    result = run_interpolate_cli(source, "-o", output, *arguments, weights_folder=weights)
    assert result.exit_code == 0, result.output
    note = (
        "audio stream 1 (aac) time-stretched 2× with atempo (pitch kept), re-encoded to Opus"
        if slowmo > 1
        else "audio stream 1 (aac) re-encoded to Opus for .webm"
    )
    assert note in result.output
    with av.open(str(output)) as container:
        assert [stream.codec_context.name for stream in container.streams.audio] == ["opus"]
        assert container.streams.audio[0].metadata.get("language") == "jpn"
    assert len(decode_all(output)) == 2 * FRAMES
    # N× the input's decoded sound, to within one Opus frame (960 samples at 48 kHz); the packets
    # span the same, plus Opus's pre-skip (312 samples) and WebM's milliseconds.
    before, rate = audio_samples(source)
    after, after_rate = audio_samples(output)
    assert (rate, after_rate) == (48000, 48000)
    assert abs(len(after) - slowmo * len(before)) <= 960
    assert stream_seconds(output, "audio") == pytest.approx(
        slowmo * len(before) / rate, abs=(960 + 312) / 48000
    )
    spectrum = np.abs(np.fft.rfft(after[rate // 10 : -rate // 10]))
    assert np.fft.rfftfreq(len(after) - rate // 5, 1 / rate)[spectrum.argmax()] == pytest.approx(440, abs=5)


def test_variable_frame_rate_input_is_slowed_down_along_its_timestamps(tmp_path, weights):
    # 30 fps with a stall: frames at slots 0–5, then 10–13. The content of slot s is canvas[s].
    slots = [*range(6), *range(10, 14)]
    canvas = moving_frames(14, 48, 64)
    source = make_vfr_clip(tmp_path / "in.mkv", canvas, slots)
    output = tmp_path / "slow.mkv"
    result = run_interpolate_cli(
        source, "-o", output, "--slowmo", 2, "--codec", "ffv1", weights_folder=weights
    )
    assert result.exit_code == 0, result.output
    assert "2× slow motion at 30 fps" in result.output
    assert "note: variable frame rate: 1 gap(s)" in result.output
    with av.open(str(output)) as container:
        frames = [(frame.time, frame.to_ndarray(format="rgb24")) for frame in container.decode(video=0)]
    assert len(frames) == 2 * 14  # the stall filled, at 30 fps, twice as long
    for slot in slots:  # input frame s is shown at 2s/30 s
        time, picture = frames[2 * slot]
        assert time == pytest.approx(2 * slot / 30, abs=1e-3)
        np.testing.assert_array_equal(picture, canvas[slot])


def test_a_frame_folder_gets_the_frames_of_the_same_factor(tmp_path, weights):
    write_frame_folder(tmp_path / "in", moving_frames(3, 32, 40))
    for flag, name in (("--slowmo", "slow"), ("--factor", "times")):
        result = run_interpolate_cli(tmp_path / "in", "-o", tmp_path / name, flag, 4, weights_folder=weights)
        assert result.exit_code == 0, result.output
    slow, times = sorted((tmp_path / "slow").iterdir()), sorted((tmp_path / "times").iterdir())
    assert [path.name for path in slow] == [path.name for path in times] and len(slow) == 4 * 2 + 1
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(slow, times, strict=True))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--slowmo", "0"], "error: --slowmo 0: "),
        (["--slowmo", "1"], "error: --slowmo 1: "),
        (["--slowmo", "2", "--fps", "60"], "error: --slowmo keeps the input's frame rate; use either"),
        (["--slowmo", "2", "--factor", "2"], "error: use either --slowmo or --factor, not both"),
        (["--slowmo", "32"], "error: --slowmo 32 is 32× the input's frame rate; more than 16× needs"),
        (["--slowmo", "2"], "error: an image pair gives one middle frame; --slowmo needs a video"),
    ],
)
def test_bad_slow_motion_is_one_error_line_and_exit_2(tmp_path, weights, arguments, message):
    write_frame_folder(tmp_path / "in", moving_frames(2, 16, 16))
    result = run_interpolate_cli(
        tmp_path / "in" / "00000.png", tmp_path / "in" / "00001.png", "-o", tmp_path / "mid.png", *arguments,
        weights_folder=weights,
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.output.startswith(message)
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not (tmp_path / "mid.png").exists()


def test_a_middle_only_model_needs_a_power_of_two_for_slow_motion_too(tmp_path, weights, source):
    result = run_interpolate_cli(source, "-o", tmp_path / "slow.mkv", "--slowmo", 3, weights_folder=weights)
    assert result.exit_code == 2
    assert result.output.startswith(
        "error: --slowmo 3: this model (sepconv with a network) makes only the middle frame"
    )
    assert not (tmp_path / "slow.mkv").exists()


def test_the_slowmo_check_names_its_own_parameter():
    assert check_slowmo(2) == 2
    with pytest.raises(OptionError) as caught:
        check_slowmo(1)
    assert caught.value.parameters == ("slowmo",) and str(caught.value).startswith("slowmo 1: ")


@pytest.mark.parametrize("slowmo", [2, 3, 4, 5, 8, 1000])
def test_chained_atempo_tempos_multiply_to_exactly_one_nth(slowmo):
    tempos = atempo_chain(slowmo)
    assert all(Fraction(1, 2) <= tempo < 1 for tempo in tempos)
    assert np.prod(tempos) == Fraction(1, slowmo)
    assert atempo_chain(2) == [Fraction(1, 2)] and atempo_chain(3) == [Fraction(1, 2), Fraction(2, 3)]


def write_flac(path: Path, count: int, rate: int = 44100, hole: tuple[int, int] | None = None) -> Path:
    """``count`` samples of a stereo 16-bit 440 Hz tone as FLAC; ``hole`` = (at, length) leaves out
    ``length`` samples' time after sample ``at`` (a gap in the timestamps)."""
    tone = (8000 * np.sin(2 * np.pi * 440 * np.arange(count) / rate)).astype(np.int16)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("flac", rate=rate, layout="stereo")
        for start in range(0, count, 1000):
            chunk = np.repeat(tone[start : start + 1000], 2)[None]  # packed: L R L R ...
            frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="stereo")
            skipped = hole[1] if hole is not None and start >= hole[0] else 0
            frame.sample_rate, frame.pts = rate, start + skipped
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def stretch(source: Path, output: Path, slowmo: int) -> AudioStretcher:
    """``source``'s audio slowed down ``slowmo``× into ``output`` (FLAC), as the writer does it."""
    with av.open(str(source)) as opened, av.open(str(output), "w") as container:
        stretcher = AudioStretcher(opened.streams.audio[0], container, slowmo, codec="flac")
        for packet in opened.demux(opened.streams.audio[0]):
            if packet.dts is not None:
                container.mux(stretcher.encode(packet))
        container.mux(stretcher.flush())
    return stretcher


def decoded_samples(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(frame.samples for frame in container.decode(audio=0))


@pytest.mark.parametrize("slowmo", [2, 3, 4])
def test_stretched_audio_is_exactly_n_times_as_many_samples(tmp_path, slowmo):
    # Stereo 16-bit FLAC in and out: packed samples, and no encoder framing between the count and the file.
    source = write_flac(tmp_path / "in.mka", 30000)
    stretcher = stretch(source, tmp_path / "out.mka", slowmo)
    assert decoded_samples(tmp_path / "out.mka") == slowmo * 30000
    assert stretcher.notes("audio") == []


def test_a_gap_in_the_audio_is_filled_with_silence_to_keep_the_sync(tmp_path):
    # 0.2 s missing after 1 s: the stretched stream covers the whole span, gap included.
    source = write_flac(tmp_path / "in.mka", 60000, hole=(44000, 8820))
    stretcher = stretch(source, tmp_path / "out.mka", 2)
    # Matroska stores the timestamps in milliseconds: the gap is known to 1 ms, 44 samples.
    assert decoded_samples(tmp_path / "out.mka") == pytest.approx(2 * (60000 + 8820), abs=2 * 44)
    assert stretcher.notes("audio stream 0") == [
        "audio stream 0: 0.200 s of gaps between its timestamps filled with silence, to stay in step "
        "with the video"
    ]
