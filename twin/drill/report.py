"""``twin drill report DIR``: the after-action report of a drill, one self-contained HTML page.

The sections follow the HSEEP After-Action Report (Homeland Security Exercise and Evaluation Program, 2020,
ch. 6 and its AAR template): the exercise overview; the objectives with the injects that test each; a timeline of
injects against the first action of the desk they were sent to and how long it took (in simulated time); the
outcome, as the metrics of the drill against the same scenario and injects with no player action (the journal
replayed without the players' commands); and the strengths and areas for improvement, left blank for the
evaluators to fill. The first answering action is a pointer for the evaluators, not a judgement: whether it
answered the inject is theirs to say. The page's words come from :mod:`twin.report.strings` (``--lang en`` or
``zh``); what the drill brings (messages, expected actions, objectives, names) is shown as written.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from twin.atomic import write_text_atomic
from twin.city.build import City, load_city
from twin.drill.journal import JOURNAL_NAME, read_journal
from twin.drill.msel import Inject
from twin.drill.session import DrillSetup, msel_of, replay_entries
from twin.metrics import service_metrics
from twin.report.page import Section, esc, facts, render, table
from twin.report.strings import tr
from twin.scenario import load_scenario
from twin.sim.model import CityModel
from twin.units import format_duration

REPORT_NAME = "after-action.html"


def write_after_action(folder: Path, out: Path | None = None, city: City | None = None, lang: str = "en") -> Path:
    """Write the after-action report of the drill in ``folder`` (default ``folder/after-action.html``), in
    ``lang`` (``en`` or ``zh``)."""
    setup, _hash = DrillSetup.read(folder)
    spec = load_scenario(setup.scenario)
    city = city or load_city(spec.map)
    entries = read_journal(folder / JOURNAL_NAME).entries
    drill = _run(city, setup, entries)
    baseline = _run(city, setup, [e for e in entries if e["type"] != "command"])
    injects = msel_of(setup, drill)
    parts = [
        ("exercise", _overview(folder, drill, entries, lang)),
        ("objectives", _objectives(injects, lang)),
        ("timeline", _timeline(injects, entries, lang)),
        ("outcome", _outcome(drill, baseline, lang)),
        ("evaluation", _evaluation(injects, lang)),
    ]
    sections = [Section(f"sec-{key}", tr(lang, f"aar_sec_{key}"), html) for key, html in parts]
    title, subtitle = tr(lang, "aar_title", name=spec.name), tr(lang, "aar_subtitle", folder=folder.name)
    page = render(lang, title, subtitle, sections, tr(lang, "aar_footer"))
    path = out or folder / REPORT_NAME
    write_text_atomic(path, page)
    return path


def _run(city: City, setup: DrillSetup, entries: list[dict[str, Any]]) -> CityModel:
    """The engine after ``entries``, run to the drill's end (or the scenario's)."""
    model = CityModel(city, load_scenario(setup.scenario), seed=setup.seed)
    replay_entries(model, entries)
    if not any(e["type"] == "end" for e in entries):
        model.run()
    return model


def _metrics(model: CityModel) -> dict[str, Any]:
    spec = model.spec
    return service_metrics(
        model.recorder.timeseries(),
        population=model.city.population,
        recovery_threshold=spec.metrics.recovery_threshold,
        control_time_s=spec.metrics.control_time_s,
    )


def _overview(folder: Path, model: CityModel, entries: list[dict[str, Any]], lang: str) -> str:
    by_role = Counter(e["role"] for e in entries if e["type"] == "command")
    sent = ", ".join(f"{role} {count}" for role, count in sorted(by_role.items())) or tr(lang, "aar_none")
    journal = tr(lang, "aar_journal_entries", count=len(entries), path=f"{folder.name}/{JOURNAL_NAME}")
    return facts(
        [
            (tr(lang, "aar_scenario"), esc(model.spec.name)),
            (tr(lang, "aar_played"), esc(format_duration(model.clock_s))),
            (tr(lang, "aar_injects_sent"), esc(sum(e["type"] == "inject" for e in entries))),
            (tr(lang, "aar_by_role"), esc(sent)),
            (tr(lang, "aar_journal"), esc(journal)),
        ]
    )


def _objectives(injects: list[Inject], lang: str) -> str:
    tested: dict[str, list[str]] = {}
    for inject in injects:
        tested.setdefault(inject.objective or tr(lang, "aar_no_objective"), []).append(inject.number)
    rows = [[esc(objective), esc(", ".join(numbers))] for objective, numbers in tested.items()]
    return table([tr(lang, "aar_objective"), tr(lang, "aar_injects")], rows)


def answer_of(inject_entry: dict[str, Any], to: str, entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first player command after an inject from the desk it was sent to (any desk when sent to all)."""
    for entry in entries[inject_entry["seq"] + 1 :]:
        if entry["type"] == "command" and entry["role"] != "controller" and to in ("all", entry["role"]):
            return entry
    return None


def _timeline(injects: list[Inject], entries: list[dict[str, Any]], lang: str) -> str:
    sent = {str(e["msel"]): e for e in entries if e["type"] == "inject"}
    rows = []
    for inject in injects:
        entry = sent.get(inject.number)
        if entry is None:
            rows.append([esc(inject.number), esc(tr(lang, "aar_not_sent")), esc(inject.to), esc(inject.message)])
            rows[-1] += ["", "", ""]
            continue
        answer = answer_of(entry, inject.to, entries)
        action = tr(lang, "aar_no_action") if answer is None else _action(answer, lang)
        took = "" if answer is None else format_duration(answer["t_s"] - entry["t_s"])
        row = [inject.number, format_duration(entry["t_s"]), inject.to, inject.message, inject.expected_action]
        rows.append([esc(v) for v in row] + [esc(action), esc(took)])
    keys = ("number", "sent_at", "to", "message", "expected", "first_action", "after")
    return table([tr(lang, f"aar_{key}") for key in keys], rows, nowrap=(0, 1, 6))


def _action(entry: dict[str, Any], lang: str) -> str:
    payload = entry["payload"]
    fields = {k: v for k, v in payload.items() if k != "command"}
    detail = payload.get("text") or payload.get("target") or fields or ""
    return tr(
        lang,
        "aar_action_at",
        role=entry["role"],
        command=payload["command"],
        detail=detail,
        time=format_duration(entry["t_s"]),
    )


def _outcome(drill: CityModel, baseline: CityModel, lang: str) -> str:
    ours, theirs = _metrics(drill), _metrics(baseline)
    rows = []
    for service in sorted(k for k, v in ours.items() if isinstance(v, dict)):
        a, b = ours[service], theirs.get(service, {})
        rows.append(
            [
                esc(service),
                f"{a['min_q']:.3f}",
                f"{b.get('min_q', float('nan')):.3f}",
                f"{a['resilience_loss_h']:.3f}",
                f"{b.get('resilience_loss_h', float('nan')):.3f}",
                f"{a['resilience_loss_h'] - b.get('resilience_loss_h', float('nan')):+.3f}",
            ]
        )
    note = f"<p class=note>{esc(tr(lang, 'aar_outcome_note'))}</p>"
    keys = ("service", "min_q_drill", "min_q_none", "loss_drill", "loss_none", "difference")
    return note + table([tr(lang, f"aar_{key}") for key in keys], rows, numeric=(1, 2, 3, 4, 5))


def _evaluation(injects: list[Inject], lang: str) -> str:
    objectives = list(dict.fromkeys(i.objective for i in injects)) or [tr(lang, "aar_the_objectives")]
    rows = [[esc(o), "", ""] for o in objectives]
    header = [tr(lang, "aar_objective"), tr(lang, "aar_strengths"), tr(lang, "aar_improvement")]
    return f"<p class=note>{esc(tr(lang, 'aar_to_fill'))}</p>" + table(header, rows)
