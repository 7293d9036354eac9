"""One client cannot close the anonymous form (issue 18 §6), over HTTP against `casebook
serve`: each client has its own bucket (a keyed hash of its address, in memory), the bucket for
everyone stays as the last line and the committee hears once when it runs out, and a cut-off
upload is a 400 with the form, one INFO line and no traceback."""

from __future__ import annotations

import contextlib
import re
import socket
import sqlite3
from datetime import UTC, datetime

import pytest

from archive.record.settings import WebForm
from tests.service.test_webform import Site
from tests.support.waiting import wait_until
from webform.clients import ClientBuckets, Exhaustion, ReportLimits, client_address

T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ALL = 12  # reports_per_hour in these tests; reports_per_client stays at its default, 5
PER_CLIENT = 5


@pytest.fixture
def site(tmp_path, relay):
    s = Site(tmp_path, relay, reports_per_hour=ALL)
    s.start()
    yield s
    s.service.stop()


def report_from(site: Site, address: str, **fields) -> int:
    site.source = address
    return site.report(**({"account": "junk junk junk"} | fields))[0]


def flood_alerts(site: Site, member: str = "alice@example.org") -> list:
    return [m for m in site.relay.to(member) if "(a flood)" in m["Subject"]]


def test_one_clients_junk_does_not_close_the_form_to_others(site):
    junk = [report_from(site, "127.0.0.2") for _ in range(28)]
    assert junk == [200] * PER_CLIENT + [429] * (28 - PER_CLIENT)
    assert report_from(site, "127.0.0.3", account="Dave shouted at me.") == 200
    site.source = "127.0.0.2"
    status, _, html = site.post("/report", {"csrf_token": site.token(), "account": "again"})
    assert status == 429 and "from your network" in html and "Nothing was stored" in html
    assert ">again</textarea>" in html  # the form again, with what they wrote
    assert len(site.cases()) == PER_CLIENT + 1


def test_the_bucket_for_everyone_still_caps_and_the_committee_is_told_once(site):
    answers = [report_from(site, f"127.0.1.{n}") for n in range(1, ALL + 6)]
    assert answers == [200] * ALL + [429] * 5
    assert len(site.cases()) == ALL
    _, _, html = site.post("/report", {"csrf_token": site.token(), "account": "Rita's account"})
    assert "taking no more reports for now" in html
    assert "Rita&#39;s account</textarea>" in html  # the form again, with what they wrote
    alert = wait_until(lambda: flood_alerts(site), "the committee's flood alert")[0]
    assert alert["Subject"].endswith("The web form is taking no reports for now (a flood)")
    body = alert.get_body(("plain",)).get_content()
    assert "takes\n12 at once" in body.replace("\r\n", "\n") and "127.0." not in body
    # A sweep later, still exactly one alert, and one row in `floods` for the operator.
    wait_until(lambda: flood_alerts(site, "bob@example.org"), "another member's copy")
    assert len(flood_alerts(site)) == 1
    with site.db() as db:
        assert db.execute("SELECT address_class, reason, sender FROM floods").fetchall() == [
            ("form", "global", "")
        ]


def test_a_forwarded_address_counts_only_from_a_trusted_proxy(tmp_path, relay):
    site = Site(tmp_path, relay, trusted_proxies='["127.0.0.9"]')
    site.start()
    try:
        # Anyone else's X-Forwarded-For is ignored: a new header per post changes nothing.
        answers = []
        for n in range(PER_CLIENT + 1):
            site.headers = {"X-Forwarded-For": f"198.51.100.{n}"}
            answers.append(report_from(site, "127.0.0.2"))
        assert answers == [200] * PER_CLIENT + [429]
        # The trusted proxy's header names each client behind it.
        for n in range(PER_CLIENT + 1):
            site.headers = {"X-Forwarded-For": f"203.0.113.7, 198.51.100.{n}"}
            assert report_from(site, "127.0.0.9") == 200
    finally:
        site.service.stop()


CUT_OFF = (  # a multipart body that ends before its closing boundary, as a broken link leaves it
    b'\r\n--b\r\nContent-Disposition: form-data; name="account"\r\n\r\nIt happened.\r\n'
    b'--b\r\nContent-Disposition: form-data; name="screenshots"; filename="a.png"\r\n'
    b"Content-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\nhalf a screensh"
)
UNKNOWN_CHARSET = (  # a field in a character set nobody knows
    b'\r\n--b\r\nContent-Disposition: form-data; name="account"\r\n'
    b"Content-Type: text/plain; charset=nonesuch\r\n\r\nIt happened.\r\n--b--\r\n"
)


def cut_off_upload(site: Site, rest: bytes = CUT_OFF, path: str = "/report") -> tuple[int, str]:
    """A POST of the page's token and then `rest`, on a raw connection."""
    token = site.token(path)
    body = b'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n' + token.encode()
    body += rest
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    answer = b""
    with socket.create_connection(("127.0.0.1", site.port), source_address=(site.source, 0)) as c:
        c.sendall(head.encode() + body)
        c.settimeout(10)
        with contextlib.suppress(TimeoutError):
            while chunk := c.recv(65536):
                answer += chunk
    status = int(answer.split(b" ", 2)[1])
    return status, answer.decode("utf-8", "replace")


@pytest.mark.parametrize("rest", [CUT_OFF, UNKNOWN_CHARSET], ids=["cut-off", "charset"])
def test_a_cut_off_upload_is_a_400_with_the_form_and_one_info_line(site, rest):
    status, html = cut_off_upload(site, rest)
    assert status == 400
    assert 'name="csrf_token"' in html and 'id="account"' in html  # the form again
    assert "arrived cut off" in html and "nothing was stored" in html
    site.service.stop()
    log = site.service.log.read_text()
    lines = [line for line in log.splitlines() if "cut-off or malformed upload" in line]
    assert len(lines) == 1 and " INFO webform.app: " in lines[0], log
    assert "Traceback" not in log and " ERROR " not in log
    assert "127.0.0.2" not in log
    with sqlite3.connect(site.tmp / "casebook.db") as db:
        assert db.execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 0


# -- the pure parts ------------------------------------------------------------------------


def test_the_client_is_the_peer_unless_a_trusted_proxy_names_it():
    from ipaddress import ip_network

    proxies = [ip_network("127.0.0.1/32"), ip_network("10.0.0.0/8")]
    assert client_address("192.0.2.1", "198.51.100.1", proxies) == "192.0.2.1"
    assert client_address("127.0.0.1", "198.51.100.1", proxies) == "198.51.100.1"
    # the nearest untrusted hop: a client's own header before the proxies' is not believed
    assert client_address("127.0.0.1", "6.6.6.6, 198.51.100.1, 10.1.2.3", proxies) == (
        "198.51.100.1"
    )
    assert client_address("127.0.0.1", None, proxies) is None  # unknown: only the global limit
    assert client_address("127.0.0.1", "unknown", proxies) is None
    # an IPv6 client is its /64 (one machine has billions of addresses); v4-mapped is v4
    assert client_address("2001:db8:1:2:3:4:5:6", None, []) == "2001:db8:1:2::/64"
    assert client_address("::ffff:192.0.2.1", None, []) == "192.0.2.1"


def test_client_buckets_keep_no_address_and_forget_with_their_key():
    buckets = ClientBuckets(2, 2)
    for _ in range(2):
        assert buckets.has("192.0.2.1", 0.0)
        buckets.take("192.0.2.1", 0.0)
    assert not buckets.has("192.0.2.1", 10.0) and buckets.has("192.0.2.2", 10.0)
    assert not any(re.search(r"192\.0\.2", key) for key in buckets.buckets.levels)
    old_key = buckets._key
    assert buckets.has("192.0.2.1", 3600.0)  # a new key an hour on: the old buckets are gone
    assert buckets._key != old_key
    assert buckets.has(None, 0.0)


def test_an_exhaustion_episode_is_told_once():
    episodes = Exhaustion(quiet=3600)
    assert [episodes.refused(t) for t in (0, 10, 3000, 6000, 9700)] == [
        True,
        False,
        False,
        False,
        True,
    ]


def test_a_proxy_on_this_host_not_listed_is_told_of_once(caplog):
    limits = ReportLimits(WebForm(port=1, reports_per_client=1), 3600, None)
    answers = [limits.admit("127.0.0.1", None, float(n), T, take=True) for n in range(3)]
    assert answers == [None, "client", "client"]
    told = [r for r in caplog.records if "trusted_proxies" in r.getMessage()]
    assert len(told) == 1 and "127.0.0.1" not in told[0].getMessage()
    listed = ReportLimits(WebForm(port=1, reports_per_client=1, trusted_proxies=("127.0.0.1",)),
                          3600, None)  # fmt: skip
    assert [listed.admit("127.0.0.1", None, float(n), T, take=True) for n in range(3)] == [None] * 3


def test_a_cut_off_reply_on_a_follow_up_page_is_a_400_with_the_page(site):
    from tests.service.test_webform import open_report

    _, page = open_report(site)
    status, html = cut_off_upload(site, CUT_OFF.replace(b'name="account"', b'name="text"'), page)
    assert status == 400 and "arrived cut off" in html and 'id="text"' in html
    site.service.stop()
    log = site.service.log.read_text()
    assert "cut-off or malformed upload at /follow " in log and page[8:] not in log
    assert "Traceback" not in log
