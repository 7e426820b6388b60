"""A strategy's document written out: Markdown and OpenDocument text in a reader's
language, JSON and CSV as data (not translated). The HTML page (`web.py`) uses the same
helpers (labels, dates, the ranking), so every format says the same thing.

Pure: no database, no I/O, no clock; the caller loads the `StrategyDocument`.

- Dates are shown in the timezone they carry (a naive one is taken as UTC): the loader
  decides whose time a deadline is told in. JSON writes them in ISO 8601 with their offset.
- User text (title, sections, proposals, reasons) is first cleaned of what no format can
  carry: control characters other than tab and newline, lone surrogates, U+FFFE/U+FFFF;
  line ends become "\\n". Then each format escapes it its own way:
  - Markdown: every character that could start markup (``\\ ` * _ { } [ ] < > & | ~ #``)
    is backslash-escaped, and at the start of a line also ``- + =`` and the ``.``/``)`` of
    "1." / "1)", and leading blanks are dropped (no code blocks): a proposal can neither
    link, nor embed HTML, nor turn into a heading or a list.
  - CSV: a cell starting with ``= + - @`` (or a tab / carriage return) gets a leading
    ``'``, so a spreadsheet shows it as text instead of running it as a formula.
  - OpenDocument: odfpy escapes XML; newlines become line breaks.
- Results (`ranking`): per section, the proposals that can be voted on (not declined, not
  merged — unless they got votes all the same) by total votes, most first, ties by
  number. Votes are shown once voting has begun (`shows_votes`).

The CSV has one row per proposal and location (every location of the network, 0 when it
gave no votes, plus any location that voted but is no longer configured) and after them
one total row of the proposal whose `location` cell is empty. Its columns: `id` (the
strategy), `section`, `number`, `origin` (the proposal's location key), `status` (the
stored key: open, accepted, declined, merged), `endorsements`, `location`, `votes`,
`text` (the proposal, so the sheet reads on its own; which proposal a merged one went
into is in the JSON).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from typing import Any

from babel.dates import format_datetime, format_skeleton
from odf import dc, teletype
from odf.opendocument import OpenDocumentText
from odf.style import (
    ParagraphProperties,
    Style,
    TableCellProperties,
    TableColumnProperties,
    TableProperties,
    TextProperties,
)
from odf.table import Table, TableCell, TableColumn, TableHeaderRows, TableRow
from odf.text import H, P, Span

from bot.dates import date_locale
from bot.features.strategies.document import PHASES, ProposalEntry, StrategyDocument
from bot.features.strategies.messages import PHASE_NAMES, STATUS_NAMES
from bot.i18n import N_, BoundTranslator

JSON_VERSION = 1
ODT_MIMETYPE = "application/vnd.oasis.opendocument.text"
CSV_COLUMNS = ("id", "section", "number", "origin", "status", "endorsements", "location",
               "votes", "text")
VOTING_PHASES = ("vote", "result")
NOT_VOTED_ON = ("declined", "merged")
EXCERPT = 90  # characters of a proposal in a results table

# the same words as the bot's announcements in the rooms
PHASE_LABELS = PHASE_NAMES
PHASE_UNTIL = {
    "proposals": N_("Proposals until:"),
    "discussion": N_("Discussion until:"),
    "vote": N_("Voting until:"),
    "result": N_("Final text until:"),
}
STATUS_LABELS = STATUS_NAMES
MERGED_INTO = N_("merged into #%(number)d")

PHASE = N_("Phase:")
STARTED = N_("Started:")
VOTERS = N_("Members who voted:")
PROPOSAL = N_("Proposal #%(number)d")
ORIGIN = N_("Proposed in:")
STATUS = N_("Status:")
REASON = N_("Reason:")
ENDORSEMENTS = N_("Endorsements:")
AMENDMENTS = N_("Amendments:")
VOTES = N_("Votes:")
VOTES_BY_LOCATION = N_("Votes by location")
LOCATION = N_("Location")
VOTES_COLUMN = N_("Votes")
PROPOSAL_COLUMN = N_("Proposal")
TOTAL = N_("Total")
RESULTS = N_("Results")
VOTES_SO_FAR = N_("Votes so far")
NO_PROPOSALS = N_("No proposals in this section.")

# what no output format can carry (XML 1.0 forbids them even escaped)
_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>&|~#])")
_MD_LINE_START = re.compile(r"^([-+=])")
_MD_ORDERED = re.compile(r"^(\d+)([.)])")
_CSV_FORMULA = ("=", "+", "-", "@", "\t", "\r")


# -- shared helpers (also used by web.py) ----------------------------------------------


def clean(text: str) -> str:
    """User text without what no format can carry; line ends as "\\n"."""
    return _UNWRITABLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def one_line(text: str) -> str:
    """Cleaned, on one line (for headings and table cells)."""
    return " ".join(clean(text).split())


def section_title(section: str) -> str:
    """A section key as shown: capitalised, otherwise as given ("culture" → "Culture")."""
    text = one_line(section)
    return text[:1].upper() + text[1:]


def phase_label(tr: BoundTranslator, phase: str) -> str:
    label = PHASE_LABELS.get(phase)
    return tr(label) if label else one_line(phase)


def status_label(tr: BoundTranslator, entry: ProposalEntry) -> str:
    """"accepted", "merged into #3"… in the reader's language (an unknown one as stored)."""
    if entry.status == "merged" and entry.merged_into is not None:
        return tr(MERGED_INTO, number=entry.merged_into)
    label = STATUS_LABELS.get(entry.status)
    return tr(label) if label else one_line(entry.status)


def aware(when: datetime) -> datetime:
    """`when` with a timezone (a naive one is taken as UTC)."""
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def iso(when: datetime) -> str:
    return aware(when).isoformat()


def format_when(when: datetime, locale: str) -> str:
    """"1 Mar 2027, 00:00 CET" in the reader's language, in `when`'s own timezone."""
    when, loc = aware(when), date_locale(locale)
    day = format_skeleton("yMMMd", when, locale=loc)
    return f"{day}, {format_datetime(when, 'HH:mm z', locale=loc)}"


def format_day(when: datetime, locale: str) -> str:
    return format_skeleton("yMMMd", aware(when), locale=date_locale(locale))


def deadlines(doc: StrategyDocument) -> list[tuple[str, datetime]]:
    """(phase, end) of the phases that have a date, in the order of the process."""
    order = {phase: i for i, phase in enumerate(PHASES)}
    return sorted(doc.phase_ends.items(), key=lambda item: (order.get(item[0], len(order)),
                                                              item[0]))


def deadline_label(tr: BoundTranslator, phase: str) -> str:
    label = PHASE_UNTIL.get(phase)
    return tr(label) if label else f"{one_line(phase)}:"


def vote_columns(doc: StrategyDocument) -> list[tuple[str, str]]:
    """(key, place) of every location votes are counted for: the configured ones in
    their order, then any other that voted (shown by its key)."""
    columns = list(doc.locations)
    known = {key for key, _place in columns}
    extra = {key for p in doc.proposals for key in p.votes} | set(doc.voters)
    columns.extend((key, key) for key in sorted(extra - known))
    return columns


def total(entry: ProposalEntry) -> int:
    return entry.votes_total or sum(entry.votes.values())


def voted_on(entry: ProposalEntry) -> bool:
    """Whether the proposal went to the vote (declined and merged ones did not, unless
    they got votes all the same)."""
    return entry.status not in NOT_VOTED_ON or total(entry) > 0


def excerpt(text: str, n: int = EXCERPT) -> str:
    """The start of a proposal, on one line."""
    line = one_line(text)
    return line if len(line) <= n else line[:n - 1].rstrip() + "…"


def shows_votes(doc: StrategyDocument) -> bool:
    """Votes are shown once voting has begun (or when any were given)."""
    return doc.phase in VOTING_PHASES or any(total(p) for p in doc.proposals)


def sections(doc: StrategyDocument) -> list[tuple[str, list[ProposalEntry]]]:
    """The sections in their order (then any a proposal names that is not listed), each
    with its proposals by number."""
    names = list(doc.sections)
    names.extend(s for s in dict.fromkeys(p.section for p in doc.proposals)
                 if s not in names)
    return [(name, sorted((p for p in doc.proposals if p.section == name),
                          key=lambda p: p.number)) for name in names]


def ranking(doc: StrategyDocument) -> list[tuple[str, list[ProposalEntry]]]:
    """Per section, the proposals voted on by total votes (most first, ties by number);
    sections without any are left out."""
    ranked = []
    for name, entries in sections(doc):
        candidates = [p for p in entries if voted_on(p)]
        if candidates:
            ranked.append((name, sorted(candidates, key=lambda p: (-total(p), p.number))))
    return ranked


def results_heading(tr: BoundTranslator, doc: StrategyDocument) -> str:
    return tr(RESULTS) if doc.phase == "result" else tr(VOTES_SO_FAR)


# -- Markdown ------------------------------------------------------------------------


def md_inline(text: str) -> str:
    """User text escaped for one line of Markdown (a heading, a list item, a cell)."""
    return _md_line(one_line(text))


def _md_line(line: str) -> str:
    line = _MD_SPECIAL.sub(r"\\\1", line.lstrip(" \t"))
    line = _MD_LINE_START.sub(r"\\\1", line)
    return _MD_ORDERED.sub(r"\1\\\2", line)


def md_block(text: str) -> str:
    """User text escaped as Markdown paragraphs: blank lines part paragraphs, a single
    line end stays a line end (a hard break)."""
    paragraphs = re.split(r"\n[ \t]*\n", clean(text).strip())
    out = []
    for paragraph in paragraphs:
        lines = [_md_line(line) for line in paragraph.split("\n")]
        lines = [line for line in lines if line.strip()]
        if lines:
            out.append("\\\n".join(lines))
    return "\n\n".join(out)


def _md_fact(label: str, value: str) -> str:
    return f"- **{md_inline(label)}** {value}"


def _md_votes(doc: StrategyDocument, entry: ProposalEntry, tr: BoundTranslator) -> str:
    parts = [f"{md_inline(place)} {entry.votes.get(key, 0)}"
             for key, place in vote_columns(doc)]
    return _md_fact(tr(VOTES), f"{', '.join(parts)}; {md_inline(tr(TOTAL))} {total(entry)}")


def to_markdown(doc: StrategyDocument, tr: BoundTranslator) -> str:
    """The document as Markdown (CommonMark) in the language of `tr`."""
    lines = [f"# {md_inline(doc.title)}", ""]
    lines.append(_md_fact(tr(PHASE), md_inline(phase_label(tr, doc.phase))))
    lines.append(_md_fact(tr(STARTED), md_inline(format_day(doc.created_at, tr.locale))))
    for phase, end in deadlines(doc):
        lines.append(_md_fact(deadline_label(tr, phase), md_inline(format_when(end, tr.locale))))
    if doc.voters:
        voters = ", ".join(f"{md_inline(place)} {doc.voters.get(key, 0)}"
                           for key, place in vote_columns(doc))
        lines.append(_md_fact(tr(VOTERS), voters))
    votes = shows_votes(doc)
    for name, entries in sections(doc):
        lines += ["", f"## {md_inline(section_title(name))}", ""]
        if not entries:
            lines.append(md_inline(tr(NO_PROPOSALS)))
        for entry in entries:
            lines += [f"### {md_inline(tr(PROPOSAL, number=entry.number))}", ""]
            text = md_block(entry.text)
            if text:
                lines += [text, ""]
            lines.append(_md_fact(tr(ORIGIN), md_inline(entry.place)))
            lines.append(_md_fact(tr(STATUS), md_inline(status_label(tr, entry))))
            if entry.reason:
                lines.append(_md_fact(tr(REASON), md_inline(entry.reason)))
            lines.append(_md_fact(tr(ENDORSEMENTS), str(entry.endorsements)))
            if entry.amended:
                lines.append(_md_fact(tr(AMENDMENTS), str(entry.amended)))
            if votes and voted_on(entry):
                lines.append(_md_votes(doc, entry, tr))
            lines.append("")
        if lines[-1] == "":
            lines.pop()
    if votes:
        lines += ["", f"## {md_inline(results_heading(tr, doc))}"]
        columns = vote_columns(doc)
        header = [md_inline(tr(PROPOSAL_COLUMN)), *(md_inline(place) for _key, place in columns),
                  md_inline(tr(TOTAL))]
        for name, ranked in ranking(doc):
            lines += ["", f"### {md_inline(section_title(name))}", ""]
            lines.append("| " + " | ".join(header) + " |")
            lines.append("|" + "|".join(["---", *("---:" for _ in header[1:])]) + "|")
            for entry in ranked:
                cells = [f"\\#{entry.number} {md_inline(excerpt(entry.text))}",
                         *(str(entry.votes.get(key, 0)) for key, _place in columns),
                         str(total(entry))]
                lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# -- JSON ----------------------------------------------------------------------------


def to_json(doc: StrategyDocument) -> dict[str, Any]:
    """The document as JSON-ready data: stable keys, ISO 8601 dates, stored keys (phase,
    status, locations) rather than labels. `from_json` reads it back."""
    return {
        "version": JSON_VERSION,
        "id": doc.id,
        "title": clean(doc.title),
        "phase": doc.phase,
        "public": doc.public,
        "created_at": iso(doc.created_at),
        "phase_ends": {phase: iso(end) for phase, end in deadlines(doc)},
        "locations": [{"key": key, "place": clean(place)} for key, place in doc.locations],
        "sections": [clean(s) for s in doc.sections],
        "voters": dict(doc.voters),
        "proposals": [
            {"number": p.number, "section": clean(p.section), "location": p.location,
             "place": clean(p.place), "text": clean(p.text), "amended": p.amended,
             "endorsements": p.endorsements, "status": p.status,
             "reason": clean(p.reason) if p.reason is not None else None,
             "merged_into": p.merged_into, "votes": dict(p.votes), "votes_total": total(p)}
            for p in doc.proposals],
    }


def from_json(data: dict[str, Any]) -> StrategyDocument:
    """The document `to_json` wrote (KeyError, TypeError or ValueError when it is not)."""
    if data.get("version") != JSON_VERSION:
        raise ValueError(f"unknown strategy document version {data.get('version')!r}")
    return StrategyDocument(
        id=int(data["id"]), title=str(data["title"]), phase=str(data["phase"]),
        public=bool(data["public"]), created_at=datetime.fromisoformat(data["created_at"]),
        locations=[(str(loc["key"]), str(loc["place"])) for loc in data["locations"]],
        sections=[str(s) for s in data["sections"]],
        phase_ends={str(k): datetime.fromisoformat(v) for k, v in data["phase_ends"].items()},
        proposals=[
            ProposalEntry(
                number=int(p["number"]), section=str(p["section"]),
                location=str(p["location"]), place=str(p["place"]), text=str(p["text"]),
                amended=int(p["amended"]), endorsements=int(p["endorsements"]),
                status=str(p["status"]),
                reason=None if p["reason"] is None else str(p["reason"]),
                merged_into=None if p["merged_into"] is None else int(p["merged_into"]),
                votes={str(k): int(v) for k, v in p["votes"].items()},
                votes_total=int(p["votes_total"]))
            for p in data["proposals"]],
        voters={str(k): int(v) for k, v in data["voters"].items()})


# -- CSV -----------------------------------------------------------------------------


def csv_cell(value: str) -> str:
    """A text cell a spreadsheet will not run as a formula."""
    value = clean(value)
    return "'" + value if value.startswith(_CSV_FORMULA) else value


def to_csv(doc: StrategyDocument) -> str:
    """The votes as CSV (RFC 4180, CRLF line ends): see the module's docstring."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    columns = vote_columns(doc)
    for _name, entries in sections(doc):
        for p in entries:
            first = [doc.id, csv_cell(p.section), p.number, csv_cell(p.location),
                     csv_cell(p.status), p.endorsements]
            text = csv_cell(p.text)
            for key, _place in columns:
                writer.writerow([*first, csv_cell(key), p.votes.get(key, 0), text])
            writer.writerow([*first, "", total(p), text])
    return out.getvalue()


# -- OpenDocument text ---------------------------------------------------------------


class _OdtStyles:
    """The styles the document uses: named ones (headings, body, table contents) partners
    see in their editor's list, automatic ones for bold labels and the tables' borders."""

    def __init__(self, odt: Any) -> None:
        def named(name: str, display: str, level: str | None = None, **props: str) -> Any:
            extra = {"defaultoutlinelevel": level} if level else {}
            style = Style(name=name, displayname=display, family="paragraph", **extra)
            if props:
                style.addElement(TextProperties(**props))
            odt.styles.addElement(style)
            return style

        self.title = named("Title", "Title", fontsize="22pt", fontweight="bold")
        self.title.addElement(ParagraphProperties(marginbottom="0.3cm"))
        self.h2 = named("Heading_20_2", "Heading 2", "2", fontsize="16pt", fontweight="bold")
        self.h2.addElement(ParagraphProperties(margintop="0.5cm", marginbottom="0.2cm",
                                               keepwithnext="always"))
        self.h3 = named("Heading_20_3", "Heading 3", "3", fontsize="13pt", fontweight="bold")
        self.h3.addElement(ParagraphProperties(margintop="0.4cm", marginbottom="0.1cm",
                                               keepwithnext="always"))
        self.body = named("Text_20_body", "Text body")
        self.body.addElement(ParagraphProperties(marginbottom="0.2cm"))
        self.cell_text = named("Table_20_Contents", "Table Contents")
        self.cell_head = named("Table_20_Heading", "Table Heading", fontweight="bold")

        self.bold = Style(name="Label", family="text")
        self.bold.addElement(TextProperties(fontweight="bold"))
        self.table = Style(name="VotesTable", family="table")
        self.table.addElement(TableProperties(width="16cm", align="left"))
        self.column = Style(name="VotesColumn", family="table-column")
        self.column.addElement(TableColumnProperties(useoptimalcolumnwidth="true"))
        self.cell = Style(name="VotesCell", family="table-cell")
        self.cell.addElement(TableCellProperties(border="0.5pt solid #808080",
                                                 padding="0.08cm"))
        for style in (self.bold, self.table, self.column, self.cell):
            odt.automaticstyles.addElement(style)


def _odt_fact(styles: _OdtStyles, label: str, value: str) -> Any:
    paragraph = P(stylename=styles.body)
    paragraph.addElement(Span(stylename=styles.bold, text=label))
    paragraph.addText(" " + one_line(value))
    return paragraph


def _odt_cell(styles: _OdtStyles, value: str | int, head: bool = False) -> Any:
    if isinstance(value, int):
        cell = TableCell(stylename=styles.cell, valuetype="float", value=str(value))
        text = str(value)
    else:
        cell = TableCell(stylename=styles.cell, valuetype="string")
        text = value
    paragraph = P(stylename=styles.cell_head if head else styles.cell_text)
    teletype.addTextToElement(paragraph, text)
    cell.addElement(paragraph)
    return cell


def _odt_table(styles: _OdtStyles, name: str, header: list[str],
               rows: list[list[str | int]]) -> Any:
    table = Table(name=name, stylename=styles.table)
    table.addElement(TableColumn(stylename=styles.column, numbercolumnsrepeated=len(header)))
    head = TableHeaderRows()
    head_row = TableRow()
    for title in header:
        head_row.addElement(_odt_cell(styles, title, head=True))
    head.addElement(head_row)
    table.addElement(head)
    for values in rows:
        row = TableRow()
        for value in values:
            row.addElement(_odt_cell(styles, value))
        table.addElement(row)
    return table


def to_odt(doc: StrategyDocument, tr: BoundTranslator) -> bytes:
    """The document as an OpenDocument text file (.odt) in the language of `tr`, for
    partners to edit into the final strategy: the title, the process (phase, dates), a
    heading per section, each proposal's text with its origin, status (and reason),
    endorsements and — once voting has begun — a table of its votes by location, then
    the results per section."""
    odt = OpenDocumentText()
    styles = _OdtStyles(odt)
    odt.meta.addElement(dc.Title(text=one_line(doc.title)))
    odt.meta.addElement(dc.Language(text=tr.locale))
    body = odt.text

    body.addElement(H(outlinelevel=1, stylename=styles.title, text=one_line(doc.title)))
    body.addElement(_odt_fact(styles, tr(PHASE), phase_label(tr, doc.phase)))
    body.addElement(_odt_fact(styles, tr(STARTED), format_day(doc.created_at, tr.locale)))
    for phase, end in deadlines(doc):
        body.addElement(_odt_fact(styles, deadline_label(tr, phase),
                                  format_when(end, tr.locale)))
    columns = vote_columns(doc)
    if doc.voters:
        body.addElement(_odt_fact(styles, tr(VOTERS), ", ".join(
            f"{place} {doc.voters.get(key, 0)}" for key, place in columns)))

    votes = shows_votes(doc)
    tables = 0  # table names must be unique (proposal numbers are per section)
    for name, entries in sections(doc):
        body.addElement(H(outlinelevel=2, stylename=styles.h2, text=section_title(name)))
        if not entries:
            body.addElement(P(stylename=styles.body, text=tr(NO_PROPOSALS)))
        for entry in entries:
            body.addElement(H(outlinelevel=3, stylename=styles.h3,
                              text=tr(PROPOSAL, number=entry.number)))
            for paragraph_text in re.split(r"\n[ \t]*\n", clean(entry.text).strip()):
                if paragraph_text.strip():
                    paragraph = P(stylename=styles.body)
                    teletype.addTextToElement(paragraph, paragraph_text)
                    body.addElement(paragraph)
            body.addElement(_odt_fact(styles, tr(ORIGIN), entry.place))
            body.addElement(_odt_fact(styles, tr(STATUS), status_label(tr, entry)))
            if entry.reason:
                body.addElement(_odt_fact(styles, tr(REASON), entry.reason))
            body.addElement(_odt_fact(styles, tr(ENDORSEMENTS), str(entry.endorsements)))
            if entry.amended:
                body.addElement(_odt_fact(styles, tr(AMENDMENTS), str(entry.amended)))
            if votes and voted_on(entry):
                rows: list[list[str | int]] = [[one_line(place), entry.votes.get(key, 0)]
                                               for key, place in columns]
                rows.append([tr(TOTAL), total(entry)])
                tables += 1
                body.addElement(_odt_table(styles, f"Votes{tables}",
                                           [tr(LOCATION), tr(VOTES_COLUMN)], rows))

    if votes:
        body.addElement(H(outlinelevel=2, stylename=styles.h2,
                          text=results_heading(tr, doc)))
        header = [tr(PROPOSAL_COLUMN), *(one_line(place) for _key, place in columns),
                  tr(TOTAL)]
        for i, (name, ranked) in enumerate(ranking(doc), start=1):
            body.addElement(H(outlinelevel=3, stylename=styles.h3, text=section_title(name)))
            result_rows: list[list[str | int]] = [
                [f"#{p.number} {excerpt(p.text)}",
                 *(p.votes.get(key, 0) for key, _place in columns), total(p)]
                for p in ranked]
            body.addElement(_odt_table(styles, f"Results{i}", header, result_rows))

    out = io.BytesIO()
    odt.save(out)
    return out.getvalue()
