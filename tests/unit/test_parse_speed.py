"""The faster parse (intake/mailreading.py) reads exactly what mail-parser's own does: the
same text, attachments, subject and defects, the address defects found per header value,
and the message keeps every header; all through mail-parser's public API (no patch)."""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path

import mailparser

from intake import mailreading
from intake.importer import iter_mbox
from tests.support.base import CORPUS

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
HEADERS = [
    b'From: Rita <rita@example.net>\nTo: a@example.org, "B, C" <b@example.org>\n\nx\n',
    b"From: rita@example.net (Rita)\nTo: undisclosed-recipients:;\nCc: <>\n\nx\n",
    b"From: =?utf-8?q?Jos=C3=A9?= <jose@example.net>\nTo: x@\nReply-To: a@b@c\n\nx\n",
    b'From: alice@example.org <mallory@example.net>\nTo: "unterminated <a@b.c>\n\nx\n',
    b"Received: from x by y; Mon, 32 Foo 2020\nFrom: a@example.org\n\nx\n",
]


def raws() -> list[bytes]:
    found = list(HEADERS)
    found += [path.read_bytes() for path in sorted(FIXTURES.rglob("*.eml"))]
    mbox = CORPUS / "linux-mips" / "linux-mips-1996-2002.mbox"
    if mbox.exists():
        found += [raw for raw, _ in itertools.islice(iter_mbox(mbox), 0, 6000, 5)]
    return found * 2  # the second time round, every address header comes from the cache


def reading(parsed) -> tuple:
    headers = [str(v) for v in parsed.message.values()]  # every one, as the bytes gave them
    return (sorted(parsed.defects_categories), parsed.text_plain, parsed.text_html,
            parsed.attachments, parsed.subject, headers)  # fmt: skip


def read(parse, raw: bytes) -> tuple:
    try:
        return reading(parse(raw))
    except Exception as exc:  # hostile fixtures: the same failure either way
        return (type(exc).__name__,)


def test_the_same_reading_as_mail_parser_with_addresses_kept_per_value():
    ours = [read(mailreading.read_mail, raw) for raw in raws()]
    theirs = [read(mailparser.MailParser.from_bytes, raw) for raw in raws()]
    assert ours == theirs
    assert any(mailreading.ADDRESS_DEFECT in r[0] for r in ours)  # some do have address defects
    assert mailreading._kept_address_defective.cache_info().hits > 0


def test_history_is_read_without_its_trace_headers_and_keeps_them():
    raw = HEADERS[-1]
    # The trace header's date is bad: mail-parser says so, unless it is not read at all.
    assert mailparser.MailParser.from_bytes(raw).defects_categories == {"DateHeaderDefect"}
    history = mailreading.read_mail(raw, trace=False)
    assert history.defects_categories == set()
    assert history.message["Received"] == "from x by y; Mon, 32 Foo 2020"
    assert history.message["From"] == "a@example.org"


def test_no_library_is_patched_from_outside():
    """The grep the project's review uses (issue 19): no assignment into a library's module,
    no private import, in any of casebook's packages."""
    patch = re.compile(
        r"^\s*(from|import)\s+(mailparser|aiosmtpd|quotequail)[.a-z_]*\._"
        r"|^\s*from\s+email\.[a-z.]+\s+import\s+_"
        r"|^\s*(?!self\.|cls\.)_?[a-z][a-z_]*(\._[A-Za-z_]+|\.core\.[a-z_]+)\s*=(?!=)",
        re.M,
    )
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0).strip()}"
        for package in ("intake", "archive", "mailer", "casebook", "webform")
        for path in sorted((ROOT / package).rglob("*.py"))
        for match in patch.finditer(path.read_text())
    ]
    assert found == []


OUR_PACKAGES = ("intake", "archive", "mailer", "casebook", "webform")


def assignments_into_imports(source: str) -> list[str]:
    """`name.attr = …`, `setattr(name, …)` or `del name.attr` where `name` is something
    imported from outside casebook (a module, or a class or function of one)."""
    tree = ast.parse(source)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {(a.asname or a.name).split(".")[0] for a in node.names
                         if not a.name.startswith(OUR_PACKAGES)}  # fmt: skip
        elif isinstance(node, ast.ImportFrom) and not node.level:
            ours = (node.module or "").startswith(OUR_PACKAGES)
            imported |= set() if ours else {a.asname or a.name for a in node.names}
    found = [
        f"line {method.lineno}: {node.name}.{method.name} overrides a private method"
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and any(_root(b) in imported for b in node.bases)
        for method in node.body
        if isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef)
        and method.name.startswith("_")
        and not method.name.endswith("__")
    ]
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setattr":
            targets = node.args[:1]
        for target in targets:
            base = target.value if isinstance(target, ast.Attribute) else target
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in imported and target is not base:
                found.append(f"line {node.lineno}: {ast.unparse(target)}")
            elif isinstance(node, ast.Call) and isinstance(base, ast.Name) and base.id in imported:
                found.append(f"line {node.lineno}: setattr({ast.unparse(target)}, …)")
    return found


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def test_nothing_is_assigned_into_an_imported_module_or_class():
    found = [
        f"{path.relative_to(ROOT)} {where}"
        for package in OUR_PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for where in assignments_into_imports(path.read_text())
    ]
    assert found == []


def test_the_check_finds_the_patches_casebook_once_made():
    old = "import mailparser.core as mailparser_core\nmailparser_core.get_addresses = f\n"
    assert assignments_into_imports(old) == ["line 2: mailparser_core.get_addresses"]
    assert assignments_into_imports("from a import B\nsetattr(B, 'x', 1)\n")
    assert assignments_into_imports("from intake import parse\nparse.x = 1\n") == []
    subclass = "import mailparser\nclass P(mailparser.MailParser):\n    def _make_mail(self): ...\n"
    assert assignments_into_imports(subclass) == ["line 3: P._make_mail overrides a private method"]
