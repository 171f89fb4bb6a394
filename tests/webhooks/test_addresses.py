"""The server calls only http(s) URLs on public addresses: every resolved address is checked before the
call, and the address actually connected to is checked again (DNS rebinding)."""

import ipaddress

import pytest

from webhooks import addresses
from webhooks.addresses import callback_url_errors, is_public_address
from webhooks.http import post_signed


@pytest.fixture
def private_urls_refused(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False


def fake_dns(monkeypatch, answers: dict[str, list[str]]) -> None:
    def resolve(host, port):
        if host not in answers:
            raise OSError("Name or service not known")
        return [ipaddress.ip_address(address) for address in answers[host]]

    monkeypatch.setattr(addresses, "resolve", resolve)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "0.0.0.0", "255.255.255.255", "224.0.0.251", "192.0.2.1", "198.18.0.1", "::1", "::", "fe80::1",
        "fc00::1", "fd12:3456::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:7f00:1::1",
        "ff02::1",
    ],
)  # fmt: skip
def test_internal_addresses_are_not_public(address):
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
def test_public_addresses_are(address):
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url,problem",
    [
        ("ftp://hooks.example.com/", "must be an http or https URL"),
        ("javascript:alert(1)", "must be an http or https URL"),
        ("hooks.example.com/path", "must be an http or https URL"),
        ("https://", "must have a host"),
        ("https://hooks.example.com:99999/", "is not a valid URL"),
        ("https://hooks.example.com/a b", "is not a valid URL"),
        ("https://" + "a" * 2050 + ".com/", "is too long (maximum is 2048 characters)"),
    ],
)
def test_malformed_urls_are_refused_even_when_private_addresses_are_allowed(url, problem):
    assert callback_url_errors(url) == [problem]


def test_every_resolved_address_must_be_public(monkeypatch, private_urls_refused):
    fake_dns(monkeypatch, {
        "public.example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
        "mixed.example.com": ["93.184.215.14", "10.0.0.7"],
        "rebind.example.com": ["127.0.0.1"],
    })  # fmt: skip
    assert callback_url_errors("https://public.example.com/hook") == []
    assert callback_url_errors("https://mixed.example.com/hook") == [
        "resolves to an address the server may not call (10.0.0.7)"
    ]
    assert callback_url_errors("http://rebind.example.com:8080/") == [
        "resolves to an address the server may not call (127.0.0.1)"
    ]
    assert callback_url_errors("https://nowhere.example.com/") == ["host nowhere.example.com can't be resolved"]


def test_the_setting_allows_loopback_receivers(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    assert callback_url_errors("http://127.0.0.1:9000/hook") == []
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    assert callback_url_errors("http://127.0.0.1:9000/hook") == [
        "resolves to an address the server may not call (127.0.0.1)"
    ]


def test_a_private_url_is_refused_at_call_time_without_connecting(receiver, private_urls_refused):
    result = post_signed(receiver.url, b"{}", shared_secret="s", timeout=1)
    assert not result.succeeded
    assert result.response_code is None
    assert result.response_message.startswith("Refused: callback_url resolves to an address")
    assert receiver.calls == []


def test_a_connection_that_lands_on_a_private_address_is_closed_before_sending(
    receiver, monkeypatch, private_urls_refused
):
    """DNS said public when we checked, but the connection reached loopback (rebinding): nothing is sent."""
    monkeypatch.setattr(addresses, "resolve", lambda host, port: [ipaddress.ip_address("93.184.215.14")])
    result = post_signed(receiver.url, b'{"secret": "data"}', shared_secret="s", timeout=1)
    assert not result.succeeded
    assert result.response_code is None
    assert "connected to 127.0.0.1, an address the server may not call" in result.response_message
    assert receiver.calls == []


@pytest.mark.django_db
def test_a_webhook_whose_address_turned_private_fails_its_delivery(
    receiver, django_capture_on_commit_callbacks, settings
):
    from tests.factories import active_subscription
    from tests.webhooks.helpers import make_webhook
    from webhooks.models import EventCallback

    webhook = make_webhook("order_subscriptions.create", receiver.url)  # allowed when created (tests' setting)
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    with django_capture_on_commit_callbacks(execute=True):
        active_subscription()
    callback = EventCallback.objects.get(webhook=webhook)
    assert callback.response_code is None
    assert callback.response_message.startswith("Refused:")
    assert receiver.calls == []
