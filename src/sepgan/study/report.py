"""``sepgan study report``: preference rates, intervals, tests and sample sizes from the votes.

For each comparison (A vs B) and each question ("smoother", and "fewer
artifacts" when asked), two analyses:

- *votes*: every decisive vote counts once. Rate = A wins / (A wins + B wins),
  Wilson 95% interval, exact two-sided binomial p, Holm-adjusted across the
  comparisons of a question. Votes from one participant are not independent, so
  read this as descriptive.
- *participants*: each participant counts once, for the method they preferred in
  the majority of their decisive votes (participants with a tie are dropped).
  This is the test that supports a claim about people, and the unit of the
  sample-size estimate.

Plus a per-clip breakdown (each time segment × playback speed), the number of
required participants for a range of true preference rates (see
:func:`sepgan.study.stats.required_sample_size`), and exclusions:

- votes flagged ``low_refresh`` (display slower than the clip) are excluded by
  default; ``include_flagged=True`` keeps them;
- participants who failed an attention check (did not answer "no visible
  difference" for two identical clips) are excluded by default, all their votes;
  ``exclude_failed_attention=False`` keeps them.

The report counts participants at each stage (sessions started, voted, excluded,
counted): many sessions without a vote can mean a script at work. When the
exclusions leave no vote at all, it says so first, with the options that would
count the excluded votes, instead of a table of n = 0.

Outputs: ``report.csv`` (one row per comparison × question × scope), ``report.json``,
``preference.png`` (bar chart with Wilson error bars) and a text summary.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sepgan.atomic import atomic_write_bytes, check_overwrite
from sepgan.study.config import VOTES_NAME, StudyConfig, StudyError, load_study_config
from sepgan.study.stats import PreferenceResult, holm_adjust, required_sample_size, summarize
from sepgan.study.storage import VoteStore

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DEFAULT_EFFECTS = (0.55, 0.6, 0.65, 0.7, 0.75, 0.8)
QUESTIONS = {"smoother": "smoother_method", "artifacts": "artifacts_method"}


@dataclass
class Row:
    """One line of the report: a comparison, a question, and a scope ("all", "participants", a clip)."""

    comparison: str  # "A vs B" with method names
    method_a: str
    method_b: str
    question: str
    scope: str
    n: int
    wins_a: int
    wins_b: int
    ties: int
    rate_a: float
    ci_low: float
    ci_high: float
    p_value: float
    p_holm: float | None = None

    @classmethod
    def of(cls, base: dict[str, str], question: str, scope: str, summary: PreferenceResult) -> Row:
        return cls(**base, question=question, scope=scope, n=summary.n, **dataclasses.asdict(summary))


@dataclass
class Report:
    rows: list[Row]
    participants: int  # participants with at least one vote used
    votes_total: int
    votes_used: int
    excluded_low_refresh: int
    failed_attention: int
    attention_checked: int
    sample_sizes: dict[str, int | None]  # true preference rate -> participants for 80% power
    include_flagged: bool
    exclude_failed_attention: bool
    sessions: int | None = None  # participant ids handed out, voting or not (None: not known)
    participants_voted: int = 0  # participants with at least one vote, attention checks included
    participants_excluded: int = 0  # excluded for failing the attention check
    warning: str | None = None  # said first: e.g. that no vote remains after the exclusions
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """As plain JSON data; NaN (a rate of 0 votes) becomes null."""

        def clean(value: Any) -> Any:
            if isinstance(value, float) and math.isnan(value):
                return None
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            if isinstance(value, list):
                return [clean(v) for v in value]
            return value

        return clean(asdict(self))


def _count(votes: list[dict[str, Any]], a: str, b: str, column: str) -> tuple[int, int, int]:
    winners = Counter(vote[column] for vote in votes)
    return winners[a], winners[b], winners[None]


def build_report(
    config: StudyConfig,
    votes: list[dict[str, Any]],
    *,
    include_flagged: bool = False,
    exclude_failed_attention: bool = True,
    effects: tuple[float, ...] = DEFAULT_EFFECTS,
    sessions: int | None = None,
) -> Report:
    """Compute every statistic from the raw vote rows (as stored in SQLite).

    ``sessions``: how many participant ids the server handed out, for the participant count.
    """
    attention = [v for v in votes if v["kind"] == "attention"]
    failed = {v["participant_id"] for v in attention if v["smoother"] != "same"}
    checked = {v["participant_id"] for v in attention}
    comparison_votes = [v for v in votes if v["kind"] == "comparison"]
    usable = comparison_votes
    if exclude_failed_attention:
        usable = [v for v in usable if v["participant_id"] not in failed]
    excluded_attention_votes = len(comparison_votes) - len(usable)
    flagged = [v for v in usable if v["low_refresh"]]
    if not include_flagged:
        usable = [v for v in usable if not v["low_refresh"]]

    questions = ["smoother", "artifacts"] if config.ask_artifacts else ["smoother"]
    rows: list[Row] = []
    for question in questions:
        column = QUESTIONS[question]
        for comparison_id, comparison in config.comparisons.items():
            name_a, name_b = config.methods[comparison.a].name, config.methods[comparison.b].name
            base = {"comparison": f"{name_a} vs {name_b}", "method_a": name_a, "method_b": name_b}
            these = [v for v in usable if v["comparison_id"] == comparison_id]
            overall = Row.of(
                base, question, "all votes", summarize(*_count(these, comparison.a, comparison.b, column))
            )

            # One vote per participant: the method they preferred more often.
            by_participant: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for vote in these:
                by_participant[vote["participant_id"]].append(vote)
            majority: Counter[str] = Counter()
            for participant_votes in by_participant.values():
                wins_a, wins_b, _ = _count(participant_votes, comparison.a, comparison.b, column)
                majority["a" if wins_a > wins_b else "b" if wins_b > wins_a else "tie"] += 1
            rows_participants = Row.of(
                base, question, "participants", summarize(majority["a"], majority["b"], majority["tie"])
            )

            clip_rows = []
            for clip_id, clip in config.clips.items():
                clip_votes = [v for v in these if v["clip_id"] == clip_id]
                counts = _count(clip_votes, comparison.a, comparison.b, column)
                clip_rows.append(Row.of(base, question, f"clip {clip.label}", summarize(*counts)))
            rows.extend([overall, rows_participants, *clip_rows])
        # Holm across the comparisons of one question, for the pooled and the participant tests.
        for scope in ("all votes", "participants"):
            scoped = [r for r in rows if r.question == question and r.scope == scope]
            for row, adjusted in zip(scoped, holm_adjust([r.p_value for r in scoped]), strict=True):
                row.p_holm = adjusted

    notes = []
    if len(config.comparisons) > 1:
        notes.append("p_holm: Holm-adjusted over the comparisons of one question.")
    excluded_low_refresh = 0 if include_flagged else len(flagged)
    return Report(
        rows=rows,
        participants=len({v["participant_id"] for v in usable}),
        votes_total=len(comparison_votes),
        votes_used=len(usable),
        excluded_low_refresh=excluded_low_refresh,
        failed_attention=len(failed),
        attention_checked=len(checked),
        sample_sizes={f"{p1:g}": required_sample_size(p1) for p1 in effects},
        include_flagged=include_flagged,
        exclude_failed_attention=exclude_failed_attention,
        sessions=sessions,
        participants_voted=len({v["participant_id"] for v in votes}),
        participants_excluded=len(failed) if exclude_failed_attention else 0,
        warning=_no_votes_warning(
            len(comparison_votes), len(usable), excluded_attention_votes, excluded_low_refresh
        ),
        notes=notes,
    )


def _no_votes_warning(
    total: int, used: int, excluded_attention: int, excluded_low_refresh: int
) -> str | None:
    """A plain sentence when no comparison vote is left to count, and how to count the excluded ones."""
    if used:
        return None
    if not total:
        return "no comparison votes yet: every statistic below is empty."
    reasons, options = [], []
    if excluded_attention:
        reasons.append(f"{excluded_attention} from participants who failed the attention check")
        options.append("--no-exclude-failed-attention")
    if excluded_low_refresh:
        reasons.append(f"{excluded_low_refresh} from displays slower than the clip")
        options.append("--include-flagged")
    return (
        f"no votes remain after exclusion: all {total} comparison votes were excluded "
        f"({'; '.join(reasons)}). "
        f"To count them anyway: `sepgan study report STUDY {' '.join(options)}`."
    )


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _participant_line(report: Report) -> str:
    parts = [] if report.sessions is None else [f"{report.sessions} sessions started"]
    parts += [f"{report.participants_voted} voted"]
    if report.participants_excluded:
        parts.append(f"{report.participants_excluded} excluded (failed the attention check)")
    parts.append(f"{report.participants} counted")
    unused = report.participants_voted - report.participants_excluded - report.participants
    if unused:
        parts.append(f"{unused} with no vote used (slow display, or attention checks only)")
    return "participants: " + ", ".join(parts)


def format_text(report: Report) -> str:
    lines = [f"WARNING: {report.warning}", ""] if report.warning else []
    lines += [
        _participant_line(report),
        f"comparison votes used: {report.votes_used} of {report.votes_total}",
        (
            f"excluded: {report.excluded_low_refresh} votes from displays slower than the clip"
            f"{' (kept: --include-flagged)' if report.include_flagged else ''}; "
            f"{report.failed_attention} of {report.attention_checked} participants failed the attention check"
            f"{' (excluded)' if report.exclude_failed_attention and report.failed_attention else ''}"
        ),
        "",
        (
            f"{'comparison':<34} {'question':<10} {'scope':<22} {'n':>4} {'A':>4} {'B':>4} {'same':>4}"
            f" {'rate A':>7} {'95% CI (Wilson)':>16} {'p exact':>8} {'p Holm':>7}"
        ),
    ]
    for r in report.rows:
        ci = f"[{_fmt(r.ci_low, 2)}, {_fmt(r.ci_high, 2)}]"
        # No decisive vote, no test: "-" rather than the p = 1 of an empty sample.
        p_value, p_holm = (r.p_value, r.p_holm) if r.n else (None, None)
        lines.append(
            f"{r.comparison[:34]:<34} {r.question:<10} {r.scope[:22]:<22} "
            f"{r.n:>4} {r.wins_a:>4} {r.wins_b:>4}"
            f" {r.ties:>4} {_fmt(r.rate_a):>7} {ci:>16} {_fmt(p_value, 4):>8} {_fmt(p_holm, 4):>7}"
        )
    lines += ["", "participants needed (exact two-sided binomial test, alpha 0.05, power 80%):"]
    lines.append(
        "  "
        + ", ".join(
            f"true rate {p1}: {n if n is not None else '>20000'}" for p1, n in report.sample_sizes.items()
        )
    )
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join(lines)


def _csv_bytes(report: Report) -> bytes:
    buffer = io.StringIO()
    names = list(Row.__dataclass_fields__)
    writer = csv.DictWriter(buffer, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    for row in report.rows:
        writer.writerow({k: ("" if v is None else v) for k, v in asdict(row).items()})
    return buffer.getvalue().encode()


def _chart_figure(report: Report) -> Figure:
    """Bar chart of the pooled preference rate for A with Wilson 95% error bars.

    Each bar's label (its p-value, or "no votes") sits above its error bar in black,
    so it shows whatever the rate, 0 included.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # heavy import; no pyplot global state
    from matplotlib.figure import Figure

    rows = [r for r in report.rows if r.scope == "all votes"]
    labels = [f"{r.comparison}\n({r.question}, n={r.n})" for r in rows]
    rates = [0.0 if math.isnan(r.rate_a) else r.rate_a for r in rows]
    lower = [0.0 if math.isnan(r.ci_low) else r.rate_a - r.ci_low for r in rows]
    upper = [0.0 if math.isnan(r.ci_high) else r.ci_high - r.rate_a for r in rows]
    figure = Figure(figsize=(max(4.0, 1.8 * len(rows) + 1.5), 4.0), dpi=120)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = list(range(len(rows)))
    axes.bar(positions, rates, color="#4878cf", width=0.6)
    axes.errorbar(positions, rates, yerr=[lower, upper], fmt="none", ecolor="black", capsize=6)
    axes.axhline(0.5, color="grey", linestyle="--", linewidth=1, label="no preference")
    for x, row, rate, high in zip(positions, rows, rates, upper, strict=True):
        label = f"p={_fmt(row.p_value, 3)}" if row.n else "no votes"
        axes.text(x, rate + high + 0.02, label, ha="center", va="bottom", fontsize=8, color="black")
    if report.votes_used == 0:
        message = "no votes remain after exclusion" if report.votes_total else "no votes yet"
        axes.text(0.5, 0.75, message, transform=axes.transAxes,
                  ha="center", va="center", fontsize=10, color="#b22222")  # fmt: skip
    axes.set_xticks(positions, labels, fontsize=8)
    axes.set_ylim(0, 1.12)  # room for a label above a bar at 1
    axes.set_yticks([0, 0.25, 0.5, 0.75, 1])
    axes.set_ylabel("rate A preferred (95% Wilson CI)")
    axes.set_title("Blind A/B preference")
    axes.legend(loc="best", fontsize=8)
    figure.tight_layout()
    return figure


def _chart_bytes(report: Report) -> bytes:
    """The chart as PNG."""
    buffer = io.BytesIO()
    _chart_figure(report).savefig(buffer, format="png")
    return buffer.getvalue()


def write_report(
    study_dir: Path | str,
    out_dir: Path | str | None = None,
    *,
    include_flagged: bool = False,
    exclude_failed_attention: bool = True,
    effects: tuple[float, ...] = DEFAULT_EFFECTS,
    overwrite: bool = False,
) -> tuple[Report, dict[str, Path]]:
    """Read a study folder's votes and write report.csv, report.json and preference.png.

    ``out_dir`` (default ``study_dir/report``) with files in it is refused unless ``overwrite``
    (:func:`sepgan.atomic.check_overwrite`); then the three files are replaced.
    """
    for p1 in effects:  # an option is checked before the folder is read
        if not 0.0 <= p1 <= 1.0:
            raise StudyError("{effect} {value} is not a rate in [0, 1]", parameter="effect", value=p1)
    study_dir = Path(study_dir)
    config = load_study_config(study_dir)
    database = study_dir / VOTES_NAME
    if not database.is_file():
        raise StudyError(f"{study_dir}: no votes yet ({VOTES_NAME} missing); run `sepgan study serve` first")
    store = VoteStore(database)
    report = build_report(
        config, store.votes(), include_flagged=include_flagged,
        exclude_failed_attention=exclude_failed_attention, effects=effects,
        sessions=store.participant_count(),
    )  # fmt: skip
    out = Path(out_dir) if out_dir is not None else study_dir / "report"
    check_overwrite(out, overwrite)
    paths = {"csv": out / "report.csv", "json": out / "report.json", "png": out / "preference.png"}
    atomic_write_bytes(paths["csv"], _csv_bytes(report))
    atomic_write_bytes(
        paths["json"], (json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n").encode()
    )
    atomic_write_bytes(paths["png"], _chart_bytes(report))
    return report, paths
