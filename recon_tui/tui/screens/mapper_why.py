"""The mapper's "why it ranks" panel: the evidence of the highlighted candidate,
what Enter will do with it, and for a tie what tells the tied companies apart.

Rendering only (Rich ``Text``, every data string through ``printable``); the facts
and the rule come from :mod:`recon_tui.workflows.mapper_confirm`.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from recon_tui.money import format_money
from recon_tui.text import printable
from recon_tui.workflows.mapper import Candidate, QueueEntry, Verdict
from recon_tui.workflows.mapper_confirm import Evidence, tie_differences

#: What Enter does, by verdict; shown on the panel before any key is pressed.
ENTER_SAYS = {
    Verdict.CERTAIN: "certain match: Enter maps it",
    Verdict.DOUBTFUL: "not certain: Enter asks, Enter again maps",
    Verdict.PROBLEM: "Enter will not map it; Enter then ctrl+y maps anyway",
}
VERDICT_STYLE = {Verdict.CERTAIN: "bold green", Verdict.DOUBTFUL: "bold yellow",
                 Verdict.PROBLEM: "bold red"}


def why_panel(entry: QueueEntry, chosen: Evidence, tied: Sequence[Evidence],
              *, asked: bool) -> Text:
    """The panel for the highlighted candidate (``asked``: Enter was pressed on it
    and is waiting for its confirmation)."""
    candidate = chosen.candidate
    text = Text()
    text.append(printable(candidate.company.name), style="bold")
    text.append(" — ", style="dim")
    if candidate.verdict is Verdict.PROBLEM:
        text.append("⚠ " + printable("; ".join(candidate.problems)) + " — ", style="bold red")
    if asked:
        text.append("waiting for you: " + ("ctrl+y maps anyway" if candidate.verdict
                                           is Verdict.PROBLEM else "Enter again maps"),
                    style="reverse")
    else:
        text.append(ENTER_SAYS[candidate.verdict], style=VERDICT_STYLE[candidate.verdict])
    rows = dict(chosen.rows)
    text.append("\n" + printable(rows["match"]))
    if tied:
        text.append("\n")
        text.append(tie_text(chosen, tied))
    else:
        text.append("\n")
        _facts(text, (("identifier", rows["identifier"]),
                      ("contacts' e-mail", rows["contacts' e-mail"])))
        text.append("\n")
        _facts(text, (("invoice numbers shared", rows["invoice numbers shared"]),))
        if rows["status"] not in ("Active", "deleted"):
            text.append(" · ", style="dim")
            text.append("PSA status " + printable(rows["status"]), style="yellow")
        text.append("\n")
        text.append("open balance: ", style="dim")
        text.append(f"ledger {_balance(entry)} · PSA {rows['PSA owes']}")
    return text


def _balance(entry: QueueEntry) -> str:
    count = entry.invoice_count
    return f"{format_money(entry.balance)} on {count:,} invoice{'s' if count != 1 else ''}"


def _facts(text: Text, pairs: Sequence[tuple[str, str]]) -> None:
    for index, (label, value) in enumerate(pairs):
        if index:
            text.append(" · ", style="dim")
        text.append(f"{label}: ", style="dim")
        text.append(printable(value))


def tie_text(chosen: Evidence, tied: Sequence[Evidence]) -> Text:
    """"Tied at 100 with X; what differs: identifier Northwind | NorthwindLLC ...",
    the facts they share on one line, or that nothing in the cache tells them apart."""
    candidate = chosen.candidate
    text = Text(f"Tied at {candidate.score} with ", style="bold yellow")
    text.append(", ".join(printable(e.candidate.company.name) for e in tied),
                style="bold yellow")
    differing = tie_differences(chosen, tied)
    if not differing:
        text.append(": nothing in the cache tells them apart; check both in the PSA.",
                    style="yellow")
        return text
    text.append("; what differs (this one first):", style="yellow")
    for label, values in differing:
        text.append(f"\n  {label}: ", style="dim")
        text.append(" | ".join(printable(v) for v in values))
    labels = {label for label, _ in differing}
    same = [(label, value) for label, value in chosen.rows
            if label not in labels and label != "match"]
    if same:
        text.append("\n  the same for all: ", style="dim")
        text.append(printable(" · ".join(f"{label} {value}" for label, value in same)))
    return text


def hint_for(candidates: Sequence[Candidate]) -> str:
    """The bottom line before any decision."""
    if not candidates:
        return "Type part of the PSA company's name · ^k skip · ^z undo · Esc back"
    return "Enter map · ↑↓ choose · type to search · ^k skip · ^z undo · Esc back"


__all__ = ["ENTER_SAYS", "hint_for", "tie_text", "why_panel"]
