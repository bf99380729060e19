"""The eval's outputs: the table printed at the end, ``report.json`` and ``report.html`` (one
self-contained page: inline CSS and SVG, nothing fetched)."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from voicelane_local.evals.plots import distribution_svg, timeline_svg, waterfall_svg
from voicelane_local.evals.record import CallRecord
from voicelane_local.evals.scoring import CallScore, SuiteScore, percentile


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def table(suite: SuiteScore) -> str:
    """One row per scenario and a total row, as printed by `voicelane eval`."""
    head = (f"{'scenario':<28} {'ok':<4} {'v2v p50':>7} {'p95':>6} {'barge':>6} "
            f"{'false':>5} {'miss':>4} {'early':>5} {'WER':>5} {'secs':>5}")
    rows = [head, "-" * len(head)]
    for c in suite.calls:
        rows.append(f"{c.scenario:<28} {'yes' if c.success else 'NO':<4} "
                    f"{_ms(percentile(c.heard_v2v_ms, 50)):>7} "
                    f"{_ms(percentile(c.heard_v2v_ms, 95)):>6} "
                    f"{_ms(max(c.barge_in_stop_ms, default=None)):>6} "
                    f"{c.false_interruptions:>5} {c.missed_interruptions:>4} "
                    f"{c.early_replies:>5} {'-' if c.wer is None else f'{c.wer:.2f}':>5} "
                    f"{c.seconds:>5.0f}")
    s = suite.summary
    wer = "-" if s["wer"] is None else f"{s['wer']:.2f}"
    rows.append("-" * len(head))
    rows.append(f"{'all (' + str(s['passed']) + '/' + str(s['scenarios']) + ' passed)':<28} "
                f"{s['success_rate'] * 100:>3.0f}% {_ms(s['heard_v2v_p50_ms']):>7} "
                f"{_ms(s['heard_v2v_p95_ms']):>6} {_ms(s['barge_in_stop_p95_ms']):>6} "
                f"{s['false_interruptions']:>5} {s['missed_interruptions']:>4} "
                f"{s['early_replies']:>5} {wer:>5}")
    rows.append(f"voice-to-voice as heard over {s['heard_v2v_samples']} replies: p50 "
                f"{_ms(s['heard_v2v_p50_ms'])} ms, p95 {_ms(s['heard_v2v_p95_ms'])} ms "
                f"(platform: p50 {_ms(s['platform_v2v_p50_ms'])}, p95 "
                f"{_ms(s['platform_v2v_p95_ms'])}); barge-in stop p50 "
                f"{_ms(s['barge_in_stop_p50_ms'])}, p95 {_ms(s['barge_in_stop_p95_ms'])} ms "
                f"over {s['barge_in_samples']}; {s['onset_pauses']} pause(s) for a sound too short "
                "to be speech")
    for c in suite.calls:
        for check in c.checks:
            if not check.passed:
                rows.append(f"  {c.scenario}: {check.name} failed: {check.detail}")
    return "\n".join(rows)


_CSS = ("body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}.no{color:#b00;font-weight:bold}"
        ".yes{color:#070}section{margin:28px 0;border-top:1px solid #ddd}"
        "pre{background:#f6f6f6;padding:8px;font-size:12px;white-space:pre-wrap}")


def _call_section(score: CallScore, record: CallRecord) -> str:
    checks = "".join(f'<li class="{"yes" if c.passed else "no"}">{escape(c.name)}'
                     f'{": " + escape(c.detail) if c.detail and not c.passed else ""}</li>'
                     for c in score.checks)
    turns = "".join(f"<li><b>{escape(t.get('role', ''))}</b> "
                    f"{escape(str(t.get('heard_text') if t.get('interrupted') else t.get('text')))}"
                    f"{' [interrupted]' if t.get('interrupted') else ''}</li>"
                    for t in record.transcript.get("turns", []))
    plots = "" if record.error else (waterfall_svg(score.turns, f"{score.scenario}: per-turn "
                                                   "latency") + "<br>"
                                     + timeline_svg(record.phone, f"{score.scenario}: who "
                                                    "spoke when"))
    return (f'<section id="{escape(score.scenario)}"><h2>{escape(score.scenario)} '
            f'<span class="{"yes" if score.success else "no"}">'
            f'{"passed" if score.success else "FAILED"}</span></h2><ul>{checks}</ul>'
            f"{plots}<h3>transcript</h3><ol>{turns}</ol></section>")


def html(suite: SuiteScore, records: dict[str, CallRecord]) -> str:
    s = suite.summary
    heard = [v for c in suite.calls for v in c.heard_v2v_ms]
    verdict = ("passed" if suite.passed else "FAILED: " + "; ".join(suite.failures))
    rows = "".join(
        f'<tr><td><a href="#{escape(c.scenario)}">{escape(c.scenario)}</a></td>'
        f'<td class="{"yes" if c.success else "no"}">{"yes" if c.success else "no"}</td>'
        f"<td>{_ms(percentile(c.heard_v2v_ms, 50))}</td>"
        f"<td>{_ms(percentile(c.heard_v2v_ms, 95))}</td>"
        f"<td>{_ms(max(c.barge_in_stop_ms, default=None))}</td>"
        f"<td>{c.false_interruptions}</td><td>{c.missed_interruptions}</td>"
        f"<td>{c.early_replies}</td><td>{'-' if c.wer is None else f'{c.wer:.2f}'}</td></tr>"
        for c in suite.calls)
    sections = "".join(_call_section(c, records[c.scenario]) for c in suite.calls)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>voicelane eval: "
            f"{escape(suite.name)}</title><style>{_CSS}</style></head><body>"
            f"<h1>voicelane eval: {escape(suite.name)}</h1>"
            f'<p class="{"yes" if suite.passed else "no"}">{escape(verdict)}</p>'
            f"<p>{s['passed']}/{s['scenarios']} scenarios passed; voice-to-voice as heard "
            f"p50 {_ms(s['heard_v2v_p50_ms'])} ms, p95 {_ms(s['heard_v2v_p95_ms'])} ms; "
            f"barge-in stop p95 {_ms(s['barge_in_stop_p95_ms'])} ms; WER "
            f"{'-' if s['wer'] is None else s['wer']}</p>"
            "<table><tr><th>scenario</th><th>ok</th><th>v2v p50</th><th>p95</th>"
            "<th>barge-in stop</th><th>false int.</th><th>missed int.</th><th>early</th>"
            f"<th>WER</th></tr>{rows}</table><br>"
            + distribution_svg(heard, s["heard_v2v_p50_ms"], s["heard_v2v_p95_ms"])
            + f"{sections}<pre>{escape(json.dumps(s, indent=1))}</pre></body></html>")


def write(suite: SuiteScore, records: dict[str, CallRecord], out: Path) -> tuple[Path, Path]:
    """``report.json`` (scores and each call's raw record) and ``report.html`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = suite.as_dict()
    data["records"] = {name: r.as_dict() for name, r in records.items()}
    json_path, html_path = out / "report.json", out / "report.html"
    json_path.write_text(json.dumps(data, indent=1, default=str))
    html_path.write_text(html(suite, records))
    return json_path, html_path
