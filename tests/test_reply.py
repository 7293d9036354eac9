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
