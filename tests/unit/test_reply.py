"""The reply splitter: new text, quoted history and signature, for every client's quote style."""

from __future__ import annotations

import pytest

from intake.reply import decode_flowed, split_html, split_text

NEW = "#to-reporter\nThank you, we are on it."
QUOTED = "Reporter: CANARY-REPORTER rita@example.net\nCANARY-REPORT-TEXT"


def test_flowed_lines_join_and_space_stuffing_is_undone():
    text = "#responsible Dave Jones \n<dave@example.com>\n From the list\n> a quoted \n> line\n"
    assert decode_flowed(text) == (
        "#responsible Dave Jones <dave@example.com>\nFrom the list\n> a quoted line\n"
    )


def test_flowed_delsp_removes_the_soft_break_space():
    assert decode_flowed("one long wo \nrd and more", delsp=True) == "one long word and more"
    assert decode_flowed("-- \nAlice") == "-- \nAlice"  # the signature line is never flowed


def test_a_flow_ends_where_the_quote_depth_changes():
    assert decode_flowed("mine \n> theirs") == "mine \n> theirs"


@pytest.mark.parametrize(
    "header",
    [
        "From: casebook <conduct@example.org>\nSent: Monday, March 2, 2026 10:00\n"
        "To: Alice <alice@example.org>\nSubject: [CoC-2026-001] New report",
        "Von: casebook <conduct@example.org>\nGesendet: Montag, 2. März 2026 10:00\n"
        "An: Alice <alice@example.org>\nBetreff: [CoC-2026-001] New report",
        "De : casebook <conduct@example.org>\nEnvoyé : lundi 2 mars 2026 10:00\n"
        "À : Alice <alice@example.org>\nObjet : [CoC-2026-001] New report",
        "De: casebook <conduct@example.org>\nEnviado: lunes, 2 de marzo de 2026 10:00\n"
        "Para: Alice <alice@example.org>\nAsunto: [CoC-2026-001] New report",
        "Van: casebook <conduct@example.org>\nVerzonden: maandag 2 maart 2026 10:00\n"
        "Aan: Alice <alice@example.org>\nOnderwerp: [CoC-2026-001] New report",
        "________________________________\nFrom: casebook <conduct@example.org>\n"
        "Sent: Monday, March 2, 2026 10:00",
        "-----Original Message-----\nFrom: casebook <conduct@example.org>",
        "-----Ursprüngliche Nachricht-----\nVon: casebook",
        "On Mon, 2 Mar 2026 at 10:00, Alice Chair via casebook <conduct@example.org>\nwrote:",
        "On 2 Mar 2026, at 10:00, casebook <conduct@example.org> wrote:",
        "Am 02.03.2026 um 10:00 schrieb casebook:",
        "Le lun. 2 mars 2026 à 10:00, casebook <conduct@example.org> a écrit :",
        "El lun, 2 mar 2026 a las 10:00, casebook (<conduct@example.org>) escribió:",
        "Op ma 2 mrt 2026 om 10:00 schreef casebook <conduct@example.org>:",
        "casebook <conduct@example.org> wrote:",
        "On Mon, 2 Mar 2026 at 10:00, casebook <conduct@example.org> wrote:   A new report",
        "Od: casebook <conduct@example.org>\nWysłane: poniedziałek, 2 marca 2026 10:00\n"
        "Do: Alice <alice@example.org>\nTemat: [CoC-2026-001] New report",
        "差出人: casebook <conduct@example.org>\n送信日時: 2026年3月2日 10:00\n"
        "宛先: Alice <alice@example.org>\n件名: [CoC-2026-001] New report",
        "发件人: casebook <conduct@example.org>\n发送时间: 2026年3月2日 10:00\n"
        "收件人: Alice <alice@example.org>\n主题: [CoC-2026-001] New report",
        "casebook <conduct@example.org> 于2026年3月2日周一 10:00写道：",
        "> earlier text",
    ],
)
def test_the_quote_starts_at_each_clients_marker(header):
    reply = split_text(f"{NEW}\n\n{header}\n\n{QUOTED}\n")
    assert reply.new == NEW
    assert "CANARY" not in reply.new and "CANARY-REPORT-TEXT" in reply.quoted


def test_signature_and_mobile_footers_are_not_new_text():
    assert split_text(f"{NEW}\n-- \nAlice Chair\n").new == NEW
    reply = split_text(f"{NEW}\n\nSent from my iPhone\n")
    assert reply.new == NEW and reply.signature == "Sent from my iPhone"


def test_prose_mentioning_from_or_wrote_is_kept():
    text = "From: what I heard, he was rude.\nDave wrote: nothing useful.\nThat is all."
    assert split_text(text).new == text


def test_a_bottom_posters_own_lines_are_authored_but_not_new():
    reply = split_text("> #enact\n> older text\n\nI agree with this.\n")
    assert reply.new == "" and reply.authored == "I agree with this."


@pytest.mark.parametrize(
    "history",
    [
        '<div class="gmail_quote"><div class="gmail_attr">On Mon, X wrote:</div>'
        "<blockquote>{q}</blockquote></div>",
        '<div id="appendonsend"></div><hr><div id="divRplyFwdMsg"><b>From:</b> casebook<br>'
        "<b>Sent:</b> Monday</div><div>{q}</div>",
        '<div class="moz-cite-prefix">On 02.03.26 10:00, casebook wrote:</div>'
        '<blockquote type="cite">{q}</blockquote>',
        '<div class="yahoo_quoted"><div>On Monday, casebook wrote:</div><div>{q}</div></div>',
        "<p>-----Original Message-----<br>From: casebook<br>Sent: Monday</p><p>{q}</p>",
        "<div><b>Von:</b> casebook<br><b>Gesendet:</b> Montag<br><b>An:</b> Alice</div>{q}",
    ],
)
def test_html_new_part_is_read_and_the_quoted_html_never(history):
    markup = "<div>#to-reporter</div>\n<div>Thank you, we are on it.</div>\n" + history.format(
        q="CANARY-REPORTER rita@example.net<br>CANARY-REPORT-TEXT"
    )
    reply = split_html(markup)
    assert reply.new == NEW
    assert "CANARY" not in reply.new


# Issue 18 §4: the shapes real clients write, measured on other projects' reply corpora.
ISSUE_18_MARKERS = [
    "2019-03-02 09:15 GMT+02:00 Ann Example <ann@example.org>:",
    '12.05.2018, 10.20, "Ann - Example" <ann@example.org>:',
    '9:30 AM, March 3, 2020, "Ann" <ann@example.org>:',
    "Tuesday, 3 March 2020, 9:30 AM +0200 from ann@example.org <ann@example.org>:",
    "вт, 12 мая 2020 г. в 10:05, Ann <ann@example.org>:",
    "2026年3月2日(月) 10:00 Ann <ann@example.org>:",
    "2016-03-03 17:21 GMT+01:00 Ann Example",
    "2013/7/20 Ann via casebook <conduct@example.org>",
    "2016-10-24 15:36 GMT+02:00 Ann Example <\nann@example.org>:",
    "On Mon, 2 Mar 2026 at 10:00, Ann <ann@example.org> wrote",
    "---- On Tue, 22 Dec 2015 14:17:36 +0530 Ann&lt;ann@example.org&gt; wrote ----",
    "------On Tue, 22 Dec 2015 14:17:36 +0530 Ann <ann@example.org> wrote-----",
    "*-------- Original Message --------*",
    "On Thu, 31 Mar 2016 at 11:16 Ann Example\n\n<\nmailto:Ann <ann@example.org>\n> wrote:",
    'Am 21.04.2016 17:48 schrieb "Ann" <ann@example.org\n>:',
    "Ann <ann@example.org> schrieb am Fr., 28.\nApr. 2017 um 11:53 Uhr:",
    'Op 16 aug. 2014 05:13 schreef "Ann" <ann@example.org> het\nvolgende geschreven:',
    "Den 15. jun. 2016 kl. 20.42 skrev Ann <ann@example.org<mailto:ann@example.org>>:",
    "Fra: Ann <ann@example.org>\nSendt: 2. marts 2026 10:00\nTil: Alice\nEmne: Sagen",
    "Fra: Ann <ann@example.org>\nDato: 2. marts 2026 10:00\nTil: Alice\nEmne: Sagen",
    "-------- Oprindelig besked --------\nFra: Ann <ann@example.org>",
    "понедельник, 6 октября 2014 г. пользователь Ann написал:",
    '20 окт. 2016 г. 19:37 пользователь "Ann" <\nann@example.org> написал:',
    '30 серп. 2016 р. 20:45 "Ann" <ann@example.org> пише:',
    "От: Ann <ann@example.org>\nОтправлено: 2 марта 2026 г. 10:00\nКому: Alice\nТема: Дело",
    "Від: Ann <ann@example.org>\nНадіслано: 2 березня 2026 р. 10:00\nКому: Alice\nТема: Справа",
    "ma 2. maalisk. 2026 klo 10.00 Ann (ann@example.org) kirjoitti:",
    "Vào Th 2, 2 thg 3, 2026 vào lúc 10:00 Ann <ann@example.org> đã viết:",
    "W dniu 2.03.2026 o 10:00, Ann pisze:",
    "Rita Example wrote:",
    "Od: Ann <ann@example.org>\nWysłano: poniedziałek, 2 marca 2026 10:00\nDo: Alice\n"
    "Temat: Sprawa",
    "Lähettäjä: Ann <ann@example.org>\nLähetetty: maanantai 2. maaliskuuta 2026 10.00\n"
    "Vastaanottaja: Alice\nAihe: Asia",
]


@pytest.mark.parametrize("quoted", [False, True], ids=["unquoted", "quoted"])
@pytest.mark.parametrize("marker", ISSUE_18_MARKERS)
def test_the_quote_starts_at_issue_18_markers(marker, quoted):
    history = "> " + QUOTED.replace("\n", "\n> ") if quoted else QUOTED
    reply = split_text(f"{NEW}\n\n{marker}\n\n{history}\n")
    assert reply.new == NEW
    assert "CANARY-REPORT-TEXT" in reply.quoted


@pytest.mark.parametrize(
    "footer",
    [
        "Sendt fra min iPad",
        "Envoyé depuis mon iPhone",
        "Gesendet von Outlook für Android",
        "Get Outlook for iOS",
        "Sent from Yahoo Mail on Android",
        "Von meinem Mobilgerät gesendet",
        "____\nAlice Chair\nCode of Conduct committee",
    ],
)
def test_more_signatures_are_cut(footer):
    reply = split_text(f"{NEW}\n\n{footer}\n")
    assert reply.new == NEW and reply.signature


def test_a_label_like_line_of_the_member_above_an_outlook_block_is_theirs():
    text = (
        "#to-reporter\nUpdate: we are looking into it.\nFrom: casebook <conduct@example.org>\n"
        "Sent: Monday, March 2, 2026 10:00\nTo: Alice <alice@example.org>\nSubject: New report"
        f"\n\n{QUOTED}\n"
    )
    assert split_text(text).new == "#to-reporter\nUpdate: we are looking into it."


def test_a_russian_outlook_block_in_html_is_history():
    markup = (
        "<div>#to-reporter</div><div>Update: we are on it.</div><div><b>От:</b> casebook "
        "&lt;conduct@example.org&gt;<br><b>Отправлено:</b> 2 марта 2026 г. 10:00<br>"
        "<b>Кому:</b> Alice<br><b>Тема:</b> Дело</div><div>CANARY-REPORT-TEXT</div>"
    )
    reply = split_html(markup)
    assert reply.new == "#to-reporter\nUpdate: we are on it."
    assert "CANARY-REPORT-TEXT" in reply.quoted


@pytest.mark.parametrize(
    "prose",
    [
        "Tuesday, we will decide the following:\n- a warning",
        "On Monday Bob wrote the minutes.",
        "On Monday we decided to act.",
        "Please write to ann@example.org",
        "Date: the 2nd of March suits me.\nTo: be decided.",
        "Please write to me at ann@example.org\nwhen you can.",
        "This is not a ---------- delimiter.",
        "The meeting is on 2026-03-02 at 10:00 in room 4.",
    ],
)
def test_prose_that_resembles_a_marker_is_kept(prose):
    assert split_text(f"{NEW}\n{prose}").new == f"{NEW}\n{prose}"
    above = split_text(f"{NEW}\n{prose}\nRita Example wrote:\n> CANARY-REPORT-TEXT\n")
    assert above.new == f"{NEW}\n{prose}"


def test_a_bottom_poster_under_an_attributed_quote_is_authored():
    text = "On Mon, 2 Mar 2026 at 10:00, Ann <ann@example.org> wrote:\n> old\n\nI agree.\n"
    reply = split_text(text)
    assert reply.new == "" and reply.authored == "I agree."


def test_unquoted_text_under_an_attribution_is_history_not_authored():
    reply = split_text("On Mon, 2 Mar 2026 at 10:00, Ann <ann@example.org> wrote:\n\nold text\n")
    assert reply.new == "" and reply.authored == ""


@pytest.mark.parametrize(
    "line", ["ann@example.org:", "Tuesday, 3 March 2020, Ann:", "12 мая 2020 г., Ann:"]
)
def test_a_line_with_an_address_or_a_date_ending_in_a_colon_above_a_quote_is_history(line):
    reply = split_text(f"{NEW}\n{line}\n> CANARY-REPORT-TEXT\n")
    assert reply.new == NEW


# Outlook's default reply ("include original message text", no `>`) in languages whose header
# labels the reader did not know: the whole quoted history was read as the member's own text,
# so a #to-party or #to-reporter carried it out (found by the issue 18 review).
OUTLOOK_MORE_LANGUAGES = [
    "Από: casebook <conduct@example.org>\nΣτάλθηκε: Δευτέρα, 2 Μαρτίου 2026 10:00 πμ\n"
    "Προς: Alice <alice@example.org>\nΘέμα: [CoC-2026-001] New report",
    "מאת: casebook <conduct@example.org>\nנשלח: יום שני 02 מרץ 2026 10:00\n"
    "אל: Alice <alice@example.org>\nנושא: [CoC-2026-001] New report",
    "Dari: casebook <conduct@example.org>\nDikirim: Senin, 02 Maret 2026 10.00\n"
    "Kepada: Alice <alice@example.org>\nPerihal: [CoC-2026-001] New report",
    "보낸 사람: casebook <conduct@example.org>\n보낸 날짜: 2026년 3월 2일 월요일 오전 10:00\n"
    "받는 사람: Alice <alice@example.org>\n제목: [CoC-2026-001] New report",
    "من: casebook <conduct@example.org>\nتاريخ الإرسال: الاثنين، 2 مارس، 2026 10:00 ص\n"
    "إلى: Alice <alice@example.org>\nالموضوع: [CoC-2026-001] New report",
    "De la: casebook <conduct@example.org>\nTrimis: luni, 2 martie 2026 10:00\n"
    "Către: Alice <alice@example.org>\nSubiect: [CoC-2026-001] New report",
    "จาก: casebook <conduct@example.org>\nส่ง: 2 มีนาคม 2569 10:00\n"
    "ถึง: Alice <alice@example.org>\nเรื่อง: [CoC-2026-001] New report",
]


@pytest.mark.parametrize("header", OUTLOOK_MORE_LANGUAGES)
def test_outlooks_header_block_in_more_languages_starts_the_quote(header):
    reply = split_text(f"{NEW}\n\n{header}\n\n{QUOTED}\n")
    assert reply.new == NEW
    assert "CANARY" not in reply.new and "CANARY-REPORT-TEXT" in reply.quoted


def test_a_line_opening_with_one_of_those_words_is_still_prose():
    text = "#to-reporter\nDari: kami semua, terima kasih.\nThat is all."
    assert split_text(text).new == text
