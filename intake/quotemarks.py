"""Where quoted history begins in a reply's plain text: every marker real clients write. Pure.

A marker is a line (or an attribution wrapped over up to three lines) after which everything is
history: `>` quotes, attributions with a verb ("On … wrote:", "Den … skrev", "… написал:") or
without one ("2019-03-02 09:15 GMT+02:00 Ann <ann@…>:"), Outlook's header block in many
languages, "Original Message" and forward separators. When unsure, the cut comes early: a member
loses some of their own words (the transcript shows them what was read), never the reporter's.

Every pattern is anchored and bounded, and lines longer than MAX_MARKER are never markers, so
the search stays linear in the text whatever it holds.
"""

from __future__ import annotations

import re

from archive.address_grammar import ends_with_address, find_addresses

MAX_MARKER = 500  # no client writes a longer attribution; a longer line is prose
VERB_REACH = 170  # "wrote" ends at most 160 characters before the colon ("… schrieb Ann <a@b>:")
WRAP = 3  # an attribution wrapped over at most this many lines (Gmail, Outlook, K-9)

SEPARATOR_RE = re.compile(
    r"(?i)^[*\s]*(_{20,}|-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|"
    r"mensaje original|oorspronkelijk bericht|messaggio originale|oprindelig (besked|meddelelse)|"
    r"opprinnelig melding|ursprungligt meddelande|alkuperäinen viesti|исходное сообщение|"
    r"вихідне повідомлення|oryginalna wiadomość|wiadomość oryginalna|mensagem original|"
    r"původní zpráva|eredeti üzenet|forwarded message|weitergeleitete nachricht|"
    r"message transféré|videresendt (besked|meddelelse|melding)|пересланное сообщение)"
    r"\s*-{2,})[*\s]*$"
)
FORWARD_RE = re.compile(
    r"(?i)^(begin forwarded message|anfang der weitergeleiteten nachricht|"
    r"début du message réexpédié|inicio del mensaje reenviado|videresendt besked)\s?:$"
)
WROTE = (
    r"wrote|writes|schrieb|schreibt|a écrit|escribió|schreef|heeft .{0,80} geschreven|"
    r"escreveu|skrev|ha scritto|napisał|napisała|написал|написала|написав|пише|kirjoitti|"
    r"đã viết|scrisse|napsal|napísal|írta|yazdı|pisze|schrijft|scrive|skriver|kirjoittaa"
)
WROTE_RE = re.compile(rf"(?i)(?<!\w)({WROTE})(?!\w)")
# A word every verb of WROTE holds, for a cheap test before the search.
VERB_WORDS = tuple(sorted({v.split(" ")[-1].casefold() for v in WROTE.split("|")}))
# The words an attribution opens with: "On", "Am", "Le", "El", "Op", "Em", "Den", "Il", …
OPENING_RE = re.compile(r"(?i)^(on|am|le|el|op|em|den|il|w dniu|vào|dne|в|у)\b")
# Chinese, Japanese and Korean attributions ("… 于2026年3月2日周一 10:00写道："): no word boundary.
CJK_RE = re.compile(r"^.{0,300}(写道|寫道|のメッセージ|님이 작성)\s*[:：]?\s*$")
# An address just before the closing colon: "Ann <ann@example.org>:", "ann@example.org:";
# this is what may follow the address (archive/address_grammar.py reads the address).
ADDRESS_TAIL_RE = re.compile(r"(?i)\s?(>|&gt;)?\)?\]?\s*[:：]$")
CLOCK_RE = re.compile(r"(?<!\d)\d{1,2}[:.]\d\d(?!\d)")
YEAR_RE = re.compile(r"(?<!\d)(19|20)\d\d(?!\d)")
WEEKDAYS = (
    r"(mon|tue|wed|thu|fri|sat|sun)\w*|(lun|mar|mer|jeu|ven|sam|dim|mié|jue|vie|sáb|dom)\w*|"
    r"(mo|di|mi|do|fr|sa|so|ma|ti|on|to|lø|sø)\w*|пн|вт|ср|чт|пт|сб|вс|нд"
)
# A date first, as an attribution without a verb opens: "2019-03-02", "12.05.2018", "9:30 AM",
# "Tuesday,", "вт,", "3 March 2020", "March 3, 2020".
DATE_FIRST_RE = re.compile(
    r"(?i)^[*\s]*(\d{1,4}[-./]\d{1,2}[-./]\d{1,4}|\d{1,2}[:.]\d\d|\d{1,2}\.? ?\w{3,}\.? \d{4}|"
    r"\d{4}年|(" + WEEKDAYS + r")\.?, |(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\w*\.? \d)"
)
# Gmail's older attribution, with no colon: "2016-03-03 17:21 GMT+01:00 Ann", "2013/7/20 Ann <a@b>".
GMAIL_STAMP_RE = re.compile(
    r"(?i)^\d{4}[-/]\d{1,2}[-/]\d{1,2}( \d{1,2}:\d\d)? ?(GMT[+-]\d\d:\d\d .+|.*(>|&gt;)\s*:?)$"
)
FROM_LABELS = (
    r"from|von|de|van|da|från|fra|od|от|від|lähettäjä|kimden|feladó|từ|差出人|发件人|寄件者|"
    r"από|מאת|dari|보낸 사람|من|de la|จาก"
)
OTHER_LABELS = (
    r"sent|date|gesendet|datum|envoyé|enviado|enviado el|fecha|verzonden|inviato|data|to|an|à|a|"
    r"para|aan|till|subject|betreff|objet|asunto|onderwerp|oggetto|ämne|cc|wysłane|wysłano|do|"
    r"temat|dw|sendt|til|emne|dato|kopi|skickat|отправлено|кому|тема|дата|копия|надіслано|"
    r"lähetetty|vastaanottaja|aihe|päivämäärä|odesláno|komu|předmět|gönderildi|kime|konu|"
    r"elküldve|címzett|tárgy|đã gửi|đến|chủ đề|assunto|"
    r"στάλθηκε|προς|θέμα|κοιν|נשלח|אל|נושא|עותק|dikirim|kepada|perihal|tembusan|"
    r"보낸 날짜|받는 사람|제목|참조|تاريخ الإرسال|إلى|الموضوع|نسخة|trimis|către|subiect|"
    r"ส่ง|ถึง|เรื่อง|สำเนา|"
    r"送信日時|宛先|件名|发送时间|收件人|主题|抄送|寄件日期|收件者"
)
FROM_LINE_RE = re.compile(rf"(?i)^\*?({FROM_LABELS})\s?[:：]\*?\s*\S")
HEADER_LINE_RE = re.compile(rf"(?i)^\*?({FROM_LABELS}|{OTHER_LABELS})\s?[:：]\*?(\s|$)")
ONE_LINE_HEADER_RE = re.compile(
    rf"(?i)^\*?({FROM_LABELS})\s?:\*? .+ \*?(sent|sendt|gesendet|envoyé|enviado|wysłano|"
    rf"отправлено|skickat|verzonden|inviato)\s?:\*? .+$"
)


# What every marker below holds somewhere: a colon, an address, a separator's run, a CJK verb.
MARKS_RE = re.compile(r"[:：@<]|--|__|&lt;|写道|寫道|のメッセージ|님이 작성")


def starts_history(lines: list[str], index: int) -> bool:
    """Whether quoted history begins at `lines[index]`."""
    stripped = lines[index].strip()
    if stripped.startswith(">"):
        return True
    if not _may_start(stripped):
        return False
    if _run_on_attribution(stripped):
        return True
    if not stripped or len(stripped) > MAX_MARKER:
        return False
    if SEPARATOR_RE.match(stripped) or FORWARD_RE.match(stripped):
        return True
    if ONE_LINE_HEADER_RE.match(stripped) or CJK_RE.match(stripped):
        return True
    if _header_block_at(lines, index):
        return True
    if _short_attribution(stripped):
        return True
    if any(is_attribution(joined) for joined in _wrapped(lines, index)):
        return True
    return _opening_with_late_verb(lines, index) or _colon_line_above_quote(lines, index)


def _may_start(stripped: str) -> bool:
    """Whether the line holds what any marker needs: a mark of `MARKS_RE`, or what opens an
    attribution wrapped onto the next lines (`_wrapped`), or a verb, or a leading digit (Gmail's
    stamp). Most lines of prose have none, and are passed over at this cost alone."""
    return bool(
        MARKS_RE.search(stripped)
        or OPENING_RE.match(stripped)
        or stripped.lstrip("*-– ")[:1].isdigit()
        or DATE_FIRST_RE.match(stripped)
        or (_may_hold_verb(stripped) and WROTE_RE.search(stripped))
    )


def _may_hold_verb(text: str) -> bool:
    """Whether a verb of `WROTE` may be in the text: a plain substring test, five times faster
    than the search it spares (case folded, as the search ignores case)."""
    folded = text.casefold()
    return any(word in folded for word in VERB_WORDS)


def is_attribution(line: str) -> bool:
    """An attribution line, with or without a verb, whole (already joined if it was wrapped)."""
    body = line.strip().strip("*-– ").strip()
    if not body:
        return False
    colon = body.endswith((":", "："))
    verb = _last_verb_end(body)
    if verb is not None:
        near_end = len(body) - verb <= VERB_REACH - 10
        anchored = OPENING_RE.match(body) is not None or re.search(r"[@\d]", body) is not None
        if anchored and ((colon and near_end) or (verb == len(body) and _has_digit(body))):
            return True
    if colon and _address_then_colon(body):
        return "<" in body or "&lt;" in body or _has_digit(body)
    dated = DATE_FIRST_RE.match(body)
    if colon and dated and CLOCK_RE.search(body):
        return YEAR_RE.search(body) is not None or dated.group(1)[0].isdigit()
    return GMAIL_STAMP_RE.match(body) is not None


def _short_attribution(stripped: str) -> bool:
    """ "Rita Example wrote:" on a line of its own: short, nothing after the verb but the colon."""
    if len(stripped) > 120 or not stripped.endswith((":", "：")):
        return False
    verb = _last_verb_end(stripped)
    return verb is not None and stripped[verb:].strip() in (":", "：")


def _run_on_attribution(stripped: str) -> bool:
    """Yahoo's plain text runs its attribution and the first quoted line together:
    "On Mon, 2 Mar 2026 at 10:00, Ann <ann@…> wrote:   The report…"."""
    end = stripped.find(":  ", 0, MAX_MARKER)
    return end > 0 and is_attribution(stripped[: end + 1])


def _last_verb_end(body: str) -> int | None:
    """Where the last "wrote" of the line ends, looked for only where it can count: in the
    line's last 160 characters (or at its very end)."""
    start = max(0, len(body) - VERB_REACH)
    if not _may_hold_verb(body[start:]):
        return None
    end = None
    for match in WROTE_RE.finditer(body, start):
        end = match.end()
    return end


def _has_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)


def _wrapped(lines: list[str], index: int) -> list[str]:
    """The line at `index` alone and joined with the next one and two (a wrapped attribution).
    Prose above an attribution is not one: a join whose tail is an attribution by itself counts
    only if its first line opens like one and runs on into the tail."""
    first = lines[index].strip()
    opens = bool(OPENING_RE.match(first) or DATE_FIRST_RE.match(first) or WROTE_RE.search(first))
    if not (opens or "@" in first or "<" in first):
        return [first]
    found, joined = [first], first
    for offset, following in enumerate(lines[index + 1 : index + WRAP], start=1):
        following = following.strip()
        if following.startswith(">") and len(following) <= 40 and following.endswith(":"):
            following = following[1:].strip()  # "<ann@example.org" / ">:", "<" / "> wrote:"
        if not following or following.startswith(">") or len(joined) > MAX_MARKER:
            break
        joined = f"{joined} {following}"
        tail = " ".join(line.strip() for line in lines[index + 1 : index + 1 + offset])
        if (opens and _runs_on(first)) or not (is_attribution(tail) or _short_attribution(tail)):
            found.append(joined)
    return found


def _runs_on(first: str) -> bool:
    """Whether a line that opens like an attribution goes on in the next one: it does not end a
    sentence ("… schrieb am Fr., 28." / "Apr. 2017 um 11:53 Uhr:")."""
    return not first.endswith((".", "!", "?", "…")) or first[-2:-1].isdigit()


def _address_then_colon(body: str) -> bool:
    """`… Rita <rita@example.net>:`: an address right before the line's closing colon."""
    tail = ADDRESS_TAIL_RE.search(body)
    return tail is not None and ends_with_address(body[: tail.start()])


def _colon_line_above_quote(lines: list[str], index: int) -> bool:
    """Any line with a date or an address that ends in `:` right above a `>` quote."""
    stripped = lines[index].strip()
    if not stripped.endswith((":", "：")):
        return False
    if not (DATE_FIRST_RE.match(stripped) or YEAR_RE.search(stripped) or find_addresses(stripped)):
        return False
    following = next((line.strip() for line in lines[index + 1 : index + 3] if line.strip()), "")
    return following.startswith(">")


def _opening_with_late_verb(lines: list[str], index: int) -> bool:
    """Gmail's attribution broken apart by blank lines and a lone `<`: "On Thu, 31 Mar 2016 at
    11:16 Ann", "", "<", "mailto:Ann <ann@…>", "> wrote:"."""
    stripped = lines[index].strip()
    if not (OPENING_RE.match(stripped) and CLOCK_RE.search(stripped) and YEAR_RE.search(stripped)):
        return False
    following = [line.strip() for line in lines[index + 1 : index + 7]]
    return any(s.endswith(":") and _last_verb_end(s) is not None for s in following)


def _header_block_at(lines: list[str], index: int) -> bool:
    """Outlook's quote: a header label line with a `From:` among it and the next four lines, and
    at least one other label beside it."""
    if not HEADER_LINE_RE.match(lines[index].strip()):
        return False
    window = [s.strip() for s in lines[index : index + 5]]
    labels = [s for s in window if HEADER_LINE_RE.match(s)]
    return len(labels) >= 2 and any(FROM_LINE_RE.match(s) for s in labels)
