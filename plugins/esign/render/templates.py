"""Document templates: YAML files under ``templates/`` parsed and compiled once per process.

Why YAML with Jinja2 snippets: ops change wording without Python, and compiling the snippets up front
(with the file's line numbers) means a typo fails when the template is loaded, naming the line, not in
the middle of a batch. The format is described in ``templates/README.md``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml

from esign.errors import RenderError
from esign.render.context import SLOT_NAME
from esign.render.filters import ENV
from esign.render.yamlload import line_of, load_yaml

KINDS = ("contract", "pdf")
LOCALES = ("pt_BR", "en_US")
PAGE_SIZES = ("A4", "letter")
ROLES = ("company", "client")
DEAL_ATTACHMENT = "deal_attachment"
_ID_RE = re.compile(r"[a-z0-9][a-z0-9_\-]{0,63}")
_JINJA_MARKERS = ("{{", "{%", "{#")
# A "&" that does not start an entity; reportlab would mangle "P&D" into "P&D;".
_BARE_AMPERSAND = re.compile(r"&(?!#[0-9]+;|#x[0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)")

#: block type -> (templated keys, plain keys, required keys)
BLOCK_SCHEMA: dict[str, tuple[frozenset[str], frozenset[str], frozenset[str]]] = {
    "heading": (frozenset({"text"}), frozenset({"level"}), frozenset({"text"})),
    "paragraph": (frozenset({"text"}), frozenset({"align"}), frozenset({"text"})),
    "parties": (frozenset({"title"}), frozenset({"company_label", "counterparty_label"}), frozenset()),
    "fields": (frozenset({"title"}), frozenset({"rows"}), frozenset({"rows"})),
    "items_table": (frozenset({"title", "empty_text"}),
                    frozenset({"description_label", "quantity_label", "unit_price_label", "total_label",
                               "grand_total_label"}), frozenset()),
    "clauses": (frozenset({"title"}), frozenset({"label", "items"}), frozenset({"items"})),
    "signatures": (frozenset({"text"}), frozenset({"company_label", "client_label"}), frozenset()),
    "spacer": (frozenset(), frozenset({"height"}), frozenset()),
    "page_break": (frozenset(), frozenset(), frozenset()),
}


class Text:
    """A compiled Jinja2 snippet that knows where it came from (for error messages)."""

    __slots__ = ("_template", "line", "source", "static", "template_id", "where")

    def __init__(self, source: str, template_id: str, where: str, filename: str) -> None:
        line = line_of(source)
        self.line = line
        self.source = _BARE_AMPERSAND.sub("&amp;", source)
        self.template_id = template_id
        self.where = where
        # Snippets without Jinja syntax skip the Jinja call at render time (most clause text).
        self.static = not any(marker in source for marker in _JINJA_MARKERS)
        self._template: jinja2.Template | None = None
        if not self.static:
            try:
                self._template = ENV.from_string(self.source)
            except jinja2.TemplateSyntaxError as exc:
                at = line + (exc.lineno or 1) - 1 if line else exc.lineno
                raise RenderError(f"template {template_id!r} ({filename}) line {at}: {where}: "
                                  f"syntax error: {exc.message}") from exc

    def render(self, context: Mapping[str, Any]) -> str:
        """The snippet with field values filled in (values escaped for paragraph markup)."""
        if self._template is None:
            return self.source
        try:
            return self._template.render(context)
        except jinja2.TemplateError as exc:
            raise RenderError(f"template {self.template_id!r} line {self.line}: {self.where}: {exc}") from exc


@dataclass(frozen=True)
class Block:
    """One body block: its type, compiled texts, plain options and (for clauses/fields) item rows."""

    type: str
    where: str
    texts: dict[str, Text] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    rows: tuple[dict[str, Text], ...] = ()


@dataclass(frozen=True)
class SlotSpec:
    """A configured signature position on an existing PDF (page may be negative: -1 is the last)."""

    role: str
    page: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class DocumentTemplate:
    """A parsed, compiled template. Immutable and shared by every document of the process."""

    id: str
    path: Path
    kind: str
    locale: str
    title: Text
    page_size: str = "A4"
    body: tuple[Block, ...] = ()
    source: str = ""  # kind pdf: a file name relative to the templates folder, or "deal_attachment"
    source_pdf: bytes | None = None  # kind pdf with a file source: its bytes, read once
    slots: tuple[SlotSpec, ...] = ()
    signature_page: tuple[Block, ...] = ()


class _Parser:
    """Turns the loaded YAML of one file into a DocumentTemplate, raising RenderError with the line."""

    def __init__(self, path: Path, templates_dir: Path) -> None:
        self.path = path
        self.templates_dir = templates_dir
        self.filename = path.name
        self.template_id = path.stem

    def fail(self, line: int, reason: str) -> RenderError:
        return RenderError(f"template {self.template_id!r} ({self.filename}) line {line}: {reason}")

    def text(self, value: object, where: str, line: int) -> Text:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(line, f"{where}: must be text")
        source = value if isinstance(value, str) else str(value)
        return Text(source, self.template_id, where, self.filename)

    def parse(self, data: object) -> DocumentTemplate:
        if not isinstance(data, dict):
            raise self.fail(1, "the file must be a mapping with id, title, kind and body")
        template_id = data.get("id")
        if template_id != self.template_id:
            raise self.fail(line_of(template_id, 1), f"id must equal the file name {self.template_id!r}, "
                                                     f"got {template_id!r}")
        kind = data.get("kind", "contract")
        if kind not in KINDS:
            raise self.fail(line_of(kind, 1), f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        locale = data.get("locale", "pt_BR")
        if locale not in LOCALES:
            raise self.fail(line_of(locale, 1), f"locale must be one of {', '.join(LOCALES)}, got {locale!r}")
        page_size = data.get("page_size", "A4")
        if page_size not in PAGE_SIZES:
            raise self.fail(line_of(page_size, 1), f"page_size must be one of {', '.join(PAGE_SIZES)}")
        if "title" not in data:
            raise self.fail(1, "title: missing")
        title = self.text(data["title"], "title", line_of(data["title"], 1))
        common = {"id": self.template_id, "path": self.path, "kind": kind, "locale": locale, "title": title,
                  "page_size": page_size}
        if kind == "contract":
            body = self.blocks(data.get("body"), "body")
            if sum(block.type == "signatures" for block in body) != 1:
                raise self.fail(1, "body: a contract needs exactly one signatures block")
            return DocumentTemplate(body=body, **common)
        return self.parse_pdf(data, common)

    def parse_pdf(self, data: dict[str, Any], common: dict[str, Any]) -> DocumentTemplate:
        source = data.get("source")
        if not isinstance(source, str) or not source.strip():
            raise self.fail(1, f"source: missing (a PDF file in the templates folder or {DEAL_ATTACHMENT!r})")
        pdf: bytes | None = None
        if source != DEAL_ATTACHMENT:
            root = self.templates_dir.resolve()
            file = (root / source).resolve()
            if not file.is_relative_to(root):
                raise self.fail(line_of(source, 1), f"source: {source!r} is outside the templates folder")
            try:
                pdf = file.read_bytes()
            except OSError as exc:
                raise self.fail(line_of(source, 1), f"source: cannot read {source!r} ({exc.strerror})") from exc
        slots = self.slots(data.get("slots") or [])
        page_blocks = data.get("signature_page") or [{"type": "signatures"}]
        signature_page = self.blocks(page_blocks, "signature_page")
        if sum(block.type == "signatures" for block in signature_page) != 1:
            raise self.fail(1, "signature_page: needs exactly one signatures block")
        return DocumentTemplate(source=str(source), source_pdf=pdf, slots=slots,
                                signature_page=signature_page, **common)

    def slots(self, raw: object) -> tuple[SlotSpec, ...]:
        if not isinstance(raw, list):
            raise self.fail(1, "slots: must be a list")
        specs: list[SlotSpec] = []
        for index, item in enumerate(raw):
            where = f"slots[{index}]"
            if not isinstance(item, dict):
                raise self.fail(1, f"{where}: must be a mapping with role, page, x, y, width, height")
            role = item.get("role")
            line = line_of(role, 1)
            if role not in ROLES and not (isinstance(role, str) and SLOT_NAME.fullmatch(role)):
                raise self.fail(line, f"{where}.role: must be one of {', '.join(ROLES)}, client_2..., "
                                      "witness_1... or company_2...")
            try:
                spec = SlotSpec(role=str(role), page=int(item.get("page", -1)), x=float(item["x"]),
                                y=float(item["y"]), width=float(item["width"]), height=float(item["height"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise self.fail(line, f"{where}: page, x, y, width and height must be numbers ({exc})") from exc
            if spec.width <= 0 or spec.height <= 0 or spec.x < 0 or spec.y < 0:
                raise self.fail(line, f"{where}: x and y must be >= 0, width and height > 0")
            specs.append(spec)
        roles = [spec.role for spec in specs]
        if specs and sorted(r for r in roles if r in ROLES) != sorted(ROLES):
            raise self.fail(1, "slots: give exactly one company and one client slot (or none)")
        if twice := sorted({r for r in roles if roles.count(r) > 1}):
            raise self.fail(1, f"slots: {', '.join(twice)} placed more than once")
        return tuple(specs)

    def blocks(self, raw: object, where: str) -> tuple[Block, ...]:
        if not isinstance(raw, list) or not raw:
            raise self.fail(1, f"{where}: must be a non-empty list of blocks")
        return tuple(self.block(item, f"{where}[{index}]") for index, item in enumerate(raw))

    def block(self, item: object, where: str) -> Block:
        if not isinstance(item, dict) or "type" not in item:
            raise self.fail(1, f"{where}: each block is a mapping with a 'type'")
        kind = item["type"]
        line = line_of(kind, 1)
        if kind not in BLOCK_SCHEMA:
            raise self.fail(line, f"{where}: unknown block type {kind!r} (known: {', '.join(BLOCK_SCHEMA)})")
        templated, plain, required = BLOCK_SCHEMA[kind]
        keys = set(item) - {"type"}
        if unknown := keys - templated - plain:
            raise self.fail(line, f"{where}: unknown key(s) {', '.join(sorted(unknown))} for a {kind} block")
        if missing := required - keys:
            raise self.fail(line, f"{where}: missing {', '.join(sorted(missing))}")
        texts = {key: self.text(item[key], f"{where}.{key}", line_of(item[key], line))
                 for key in templated & keys}
        options = {key: item[key] for key in plain & keys if key not in ("rows", "items")}
        rows: tuple[dict[str, Text], ...] = ()
        if kind == "fields":
            rows = self.rows(item["rows"], f"{where}.rows", ("label", "value"), line)
        elif kind == "clauses":
            rows = self.rows(item["items"], f"{where}.items", ("title", "text"), line)
        for key, value in options.items():
            if key in ("level", "height") and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise self.fail(line, f"{where}.{key}: must be a number")
            if key not in ("level", "height") and not isinstance(value, str):
                raise self.fail(line, f"{where}.{key}: must be text")
        return Block(type=kind, where=where, texts=texts, options=options, rows=rows)

    def rows(self, raw: object, where: str, keys: tuple[str, str], line: int) -> tuple[dict[str, Text], ...]:
        if not isinstance(raw, list) or not raw:
            raise self.fail(line, f"{where}: must be a non-empty list")
        rows = []
        for index, item in enumerate(raw):
            here = f"{where}[{index}]"
            if not isinstance(item, dict) or keys[1] not in item:
                raise self.fail(line, f"{here}: must be a mapping with {keys[1]!r} (and optionally {keys[0]!r})")
            rows.append({key: self.text(item[key], f"{here}.{key}", line_of(item[key], line))
                         for key in keys if key in item})
        return tuple(rows)


def parse_template_file(path: Path, templates_dir: Path) -> DocumentTemplate:
    """Read, parse and compile one template file."""
    parser = _Parser(path, templates_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise RenderError(f"template {path.stem!r}: no such file {path.name}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise RenderError(f"template {path.stem!r} ({path.name}): cannot be read ({exc})") from exc
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise parser.fail(line, f"YAML syntax error: {problem}") from exc
    return parser.parse(data)


# Parsed templates of the whole process, shared by every TemplateLibrary (workers build several):
# resolved file path -> ((mtime_ns, size), template).
_PARSED: dict[Path, tuple[tuple[int, int], DocumentTemplate]] = {}
_PARSED_LOCK = threading.Lock()


class TemplateLibrary:
    """The templates of one folder, each parsed once per process and kept until its file changes.

    Keyed by the file's modification time and size, so ops can edit a template while a worker runs
    and the next document picks the change up, without re-parsing on every call.
    """

    def __init__(self, templates_dir: Path) -> None:
        self.templates_dir = Path(templates_dir)

    def ids(self) -> list[str]:
        """The ids of the templates in the folder (one ``<id>.yaml`` file each)."""
        if not self.templates_dir.is_dir():
            return []
        return sorted(path.stem for path in self.templates_dir.glob("*.yaml") if _ID_RE.fullmatch(path.stem))

    def get(self, template_id: str) -> DocumentTemplate:
        """The compiled template; RenderError for an unknown id or a broken file (naming the line)."""
        if not isinstance(template_id, str) or not _ID_RE.fullmatch(template_id):
            raise RenderError(f"template {template_id!r}: invalid id (lowercase letters, digits, _ and -)")
        path = (self.templates_dir / f"{template_id}.yaml").resolve()
        try:
            stat = path.stat()
        except FileNotFoundError:
            known = ", ".join(self.ids()) or "none"
            raise RenderError(f"template {template_id!r}: unknown template (known: {known})") from None
        key = (stat.st_mtime_ns, stat.st_size)
        cached = _PARSED.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        with _PARSED_LOCK:
            cached = _PARSED.get(path)
            if cached is not None and cached[0] == key:
                return cached[1]
            template = parse_template_file(path, path.parent)
            _PARSED[path] = (key, template)
        return template
