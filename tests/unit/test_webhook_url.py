"""The set-time webhook URL check (``push.webhook_url``): every refused form with its rule
and reason, the URLs that pass, and what ``allow_private`` lifts and what it does not. Its
address table is the sender's (``push.sender.NON_PUBLIC_NETWORKS``);
``test_push_sender_ssrf.py`` checks that both judge every row of it alike."""

from __future__ import annotations

import pytest

from a2a_gateway.core.limits import MAX_URI_LENGTH
from a2a_gateway.push.webhook_url import WebhookRefused, check_webhook_url

# (url, rule, words of the reason) refused whatever allow_private says.
ALWAYS_REFUSED: list[tuple[str, str, str]] = [
    # length, characters
    ("https://example.com/" + "p" * MAX_URI_LENGTH, "length", "longer than 2048"),
    ("https://example.com/a b", "characters", "whitespace"),
    (" https://example.com/", "characters", "whitespace"),
    ("https://example.com/\r\nX-Injected: 1", "characters", "control"),
    ("https://example.com/\t", "characters", "control"),
    ("https://example.com/\x00", "characters", "control"),
    ("https://exämple.com/", "characters", "non-ASCII"),
    ("https://example.com/\u2028", "characters", "non-ASCII"),
    ("https://\uff11\uff12\uff17.0.0.1/", "characters", "non-ASCII"),  # fullwidth 127
    ("https://127.0.0.1\\@example.com/", "characters", "backslash"),
    # scheme, authority
    ("https//example.com/", "scheme", "https"),
    ("ftp://example.com/", "scheme", "https"),
    ("javascript://example.com/", "scheme", "https"),
    ("https://user:secret@example.com/", "credentials", "credentials"),
    ("https://user@example.com/", "credentials", "credentials"),
    ("https://:@example.com/", "credentials", "credentials"),
    ("https://example.com/#frag", "fragment", "fragment"),
    ("https://example.com/#", "fragment", "fragment"),
    ("https:///example.com/", "host", "no host"),
    ("https:example.com", "host", "no host"),
    ("https:/example.com", "host", "no host"),
    ("https://?x=1", "host", "no host"),
    ("https://:443/", "host", "no host"),
    ("https://example.com:0/", "port", "1 to 65535"),
    ("https://example.com:65536/", "port", "1 to 65535"),
    ("https://example.com:+443/", "port", "1 to 65535"),
    ("https://example.com:44a/", "port", "1 to 65535"),
    ("https://example.com:443:1/", "port", "1 to 65535"),
    ("https://%31%32%37.0.0.1/", "host", "not a valid"),
    ("https://exa_mple..com/", "host", "not a valid"),
    ("https://.example.com/", "host", "not a valid"),
    ("https://-example.com/", "host", "not a valid"),
    ("https://[::1]x/", "host", "not a valid"),
    ("https://[::1/", "host", "not a valid"),
    ("https://a[::1]/", "port", "1 to 65535"),
    ("https://[v1.fe]/", "host", "not a valid IPv6"),
    ("https://[127.0.0.1]/", "host", "not a valid IPv6"),
    # numeric hosts that are no valid IPv4 address
    ("https://256.0.0.1/", "host", "not a valid IPv4"),
    ("https://1.2.3.4.5/", "host", "not a valid IPv4"),
    ("https://08.0.0.1/", "host", "not a valid IPv4"),
    ("https://4294967296/", "host", "not a valid IPv4"),
    ("https://1.16777216/", "host", "not a valid IPv4"),
    ("https://example.0x10/", "host", "not a valid IPv4"),
    ("https://example.123/", "host", "not a valid IPv4"),
    # IPv4 in every spelling, and every non-public range
    ("https://169.254.169.254/latest/meta-data/", "address", "link-local"),
    ("https://2852039166/", "address", "link-local"),
    ("https://0xa9fea9fe/", "address", "link-local"),
    ("https://0251.0376.0251.0376/", "address", "link-local"),
    ("https://169.254.43518/", "address", "link-local"),
    ("https://0.0.0.0/", "address", "this-network"),
    ("https://0/", "address", "this-network"),
    ("https://0x/", "address", "this-network"),
    ("https://100.64.0.1/", "address", "CGNAT"),
    ("https://100.127.255.254/", "address", "CGNAT"),
    ("https://192.0.0.8/", "address", "IETF protocol"),
    ("https://192.0.2.1/", "address", "documentation"),
    ("https://198.51.100.7/", "address", "documentation"),
    ("https://203.0.113.9/", "address", "documentation"),
    ("https://198.18.0.1/", "address", "benchmarking"),
    ("https://198.19.255.255/", "address", "benchmarking"),
    ("https://192.88.99.1/", "address", "6to4 relay"),
    ("https://224.0.0.1/", "address", "multicast"),
    ("https://239.255.255.250/", "address", "multicast"),
    ("https://240.0.0.1/", "address", "reserved"),
    ("https://255.255.255.255/", "address", "reserved"),
    # IPv6: embedding or reaching IPv4, whatever is embedded
    ("https://[::ffff:127.0.0.1]/", "address", "IPv4-mapped"),
    ("https://[::ffff:7f00:1]/", "address", "IPv4-mapped"),
    ("https://[::ffff:169.254.169.254]/", "address", "IPv4-mapped"),
    ("https://[::ffff:8.8.8.8]/", "address", "IPv4-mapped"),
    ("https://[::127.0.0.1]/", "address", "IPv4-compatible"),
    ("https://[::8.8.8.8]/", "address", "IPv4-compatible"),
    ("https://[64:ff9b::a9fe:a9fe]/", "address", "NAT64"),
    ("https://[64:ff9b::8.8.8.8]/", "address", "NAT64"),
    ("https://[64:ff9b:1::a9fe:a9fe]/", "address", "NAT64"),
    ("https://[2002:7f00:1::]/", "address", "6to4"),
    ("https://[2002:808:808::1]/", "address", "6to4"),
    ("https://[2001::1]/", "address", "Teredo"),
    ("https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "address", "Teredo"),
    # IPv6: other non-public ranges
    ("https://[::]/", "address", "unspecified"),
    ("https://[fe80::1]/", "address", "link-local"),
    ("https://[fe80::1%25eth0]/", "address", "zone id"),
    ("https://[fe80::1%eth0]/", "address", "zone id"),
    ("https://[fd00:ec2::254]/", "address", "instance metadata"),
    ("https://[fec0::1]/", "address", "site-local"),
    ("https://[ff02::1]/", "address", "multicast"),
    ("https://[2001:db8::1]/", "address", "documentation"),
    ("https://[3fff::1]/", "address", "documentation"),
    ("https://[2001:2::1]/", "address", "IETF protocol"),
    ("https://[100::1]/", "address", "discard"),
    ("https://[4000::1]/", "address", "reserved"),
    ("https://[::1:2:3:4]/", "address", "reserved"),
    # names that only exist inside a network
    ("https://metadata.google.internal/computeMetadata/v1/", "name", ".internal"),
    ("https://metadata.google.internal./", "name", ".internal"),
    ("https://METADATA.GOOGLE.INTERNAL/", "name", ".internal"),
    ("https://instance-data.ec2.internal/", "name", ".internal"),
    ("https://internal/", "name", ".internal"),
    ("https://printer.local/", "name", ".local"),
    ("https://db.localdomain/", "name", ".localdomain"),
    ("https://nas.home.arpa/", "name", ".home.arpa"),
    ("https://router.lan/", "name", ".lan"),
    ("https://wiki.corp/", "name", ".corp"),
    ("https://instance-data/", "name", "single-label"),
    ("https://metadata/", "name", "single-label"),
    ("https://redis:6379/", "name", "single-label"),
]

# Refused by default; allowed (over https) with allow_private.
PRIVATE: list[tuple[str, str, str]] = [
    ("https://127.0.0.1/", "address", "loopback"),
    ("https://127.0.0.1.:8443/", "address", "loopback"),
    ("https://2130706433/", "address", "loopback"),
    ("https://0x7f000001/", "address", "loopback"),
    ("https://0x7f.0.0.1/", "address", "loopback"),
    ("https://0177.0.0.1/", "address", "loopback"),
    ("https://0X7F.1/", "address", "loopback"),
    ("https://127.1/", "address", "loopback"),
    ("https://127.0.1/", "address", "loopback"),
    ("https://[::1]/", "address", "loopback"),
    ("https://[0:0:0:0:0:0:0:1]/", "address", "loopback"),
    ("https://10.0.0.1/", "address", "private"),
    ("https://10.1/", "address", "private"),
    ("https://012.0.0.1/", "address", "private"),
    ("https://172.16.0.1/", "address", "private"),
    ("https://172.31.255.255/", "address", "private"),
    ("https://192.168.1.1/", "address", "private"),
    ("https://3232235777/", "address", "private"),
    ("https://[fc00::1]/", "address", "unique-local"),
    ("https://[fd12:3456::1]/", "address", "unique-local"),
    ("https://localhost/", "name", "localhost"),
    ("https://LOCALHOST./", "name", "localhost"),
    ("https://app.localhost/", "name", "localhost"),
]

ACCEPTED = [
    "https://example.com/hook",
    "https://hooks.example.com:8443/a2a/push?tenant=7&x=%20y",
    "https://Example.COM./",
    "https://example.com:/path",
    "https://xn--bcher-kva.example/",
    "https://my_host.example.org/",
    "https://1.2.3.4.nip.io/",  # a name: what it resolves to is checked at send time
    "https://1.1.1.1/",
    "https://8.8.8.8:443/",
    "https://16843009/",  # 1.1.1.1
    "https://100.63.255.255/",
    "https://100.128.0.1/",
    "https://172.32.0.1/",
    "https://[2606:4700:4700::1111]/",
    "https://[2a00:1450:4001::200e]:8443/x",
    "HTTPS://example.com/",
]

HTTP_LOOPBACK = [
    "http://127.0.0.1:9/a2a-interop-push",
    "http://127.1:8080/",
    "http://0x7f000001/",
    "http://localhost:3000/hook",
    "http://[::1]:8080/",
]

HTTP_NEVER = [
    ("http://example.com/", "scheme", "https"),
    ("http://10.0.0.1/", "scheme", "https"),
    ("http://192.168.1.1/", "scheme", "https"),
    ("http://[fd00::1]/", "scheme", "https"),
    ("http://app.localhost/", "scheme", "https"),
    ("http://8.8.8.8/", "scheme", "https"),
]


def refused(url: str, *, allow_private: bool) -> WebhookRefused:
    with pytest.raises(WebhookRefused) as caught:
        check_webhook_url(url, allow_private=allow_private)
    return caught.value


@pytest.mark.parametrize("allow_private", [False, True])
@pytest.mark.parametrize(("url", "rule", "reason"), ALWAYS_REFUSED)
def test_refused_whatever_allow_private_says(
    url: str, rule: str, reason: str, allow_private: bool
) -> None:
    err = refused(url, allow_private=allow_private)
    assert (err.rule, reason in str(err)) == (rule, True), str(err)


@pytest.mark.parametrize(("url", "rule", "reason"), PRIVATE)
def test_loopback_and_private_refused_by_default(url: str, rule: str, reason: str) -> None:
    err = refused(url, allow_private=False)
    assert (err.rule, reason in str(err)) == (rule, True), str(err)


@pytest.mark.parametrize(("url", "rule", "reason"), PRIVATE)
def test_loopback_and_private_allowed_with_allow_private(url: str, rule: str, reason: str) -> None:
    check_webhook_url(url, allow_private=True)


@pytest.mark.parametrize("allow_private", [False, True])
@pytest.mark.parametrize("url", ACCEPTED)
def test_public_https_urls_pass(url: str, allow_private: bool) -> None:
    check_webhook_url(url, allow_private=allow_private)


@pytest.mark.parametrize("url", HTTP_LOOPBACK)
def test_http_to_loopback_only_with_allow_private(url: str) -> None:
    check_webhook_url(url, allow_private=True)
    err = refused(url, allow_private=False)
    assert err.rule == "scheme" and str(err) == "webhook URLs must use https"


@pytest.mark.parametrize(("url", "rule", "reason"), HTTP_NEVER)
def test_http_elsewhere_never(url: str, rule: str, reason: str) -> None:
    for allow_private in (False, True):
        err = refused(url, allow_private=allow_private)
        assert (err.rule, reason in str(err)) == (rule, True), str(err)


def test_messages_never_repeat_the_url() -> None:
    secret = "s3cr3t-path-token"
    for url in (
        f"https://169.254.169.254/{secret}",
        f"https://user:{secret}@example.com/",
        f"https://example.com/{secret}#x",
        f"https://example.com/{secret}\n",
        f"https://metadata.google.internal/{secret}",
    ):
        err = refused(url, allow_private=False)
        assert secret not in str(err) and "169.254.169.254" not in str(err)


def test_refusal_is_a_value_error() -> None:
    assert issubclass(WebhookRefused, ValueError)
