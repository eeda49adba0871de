"""A bank's webhook endpoint cannot point at the platform's own network.

Refused when it is saved (the form and the service), and again before every delivery,
since its DNS can change after it was saved; the connection then goes to the address
that was checked. DNS is the ``dns`` table of ``conftest.py``.
"""

from __future__ import annotations

import datetime as dt
import http.server
import ssl
import threading
from unittest import mock

import pytest
import requests
import responses
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from core import netguard
from lenders import services, webhooks
from lenders.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from tests.factories import activate_totp
from tests.factories.lenders import lender_with_staff

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_retries")]

PORTAL = "/en/portal/bank/webhook/"
URL = "https://bank.example/hooks/xyd"

REFUSED_LITERALS = [
    "https://127.0.0.1/h",  # loopback
    "https://[::1]/h",
    "https://10.0.0.5/h",  # private
    "https://169.254.169.254/latest",  # link-local: the cloud metadata service
    "https://[fd00::1]/h",  # unique local
    "https://[::ffff:127.0.0.1]/h",  # IPv4-mapped loopback
    "https://0.0.0.0/h",  # unspecified
    "https://100.64.0.1/h",  # shared (carrier-grade NAT)
]


@pytest.fixture
def bank_admin(client):
    lender, admin, _reviewer = lender_with_staff()
    activate_totp(admin)
    client.force_login(admin)
    return lender, admin


def _form_errors(client, url):
    response = client.post(PORTAL, {"url": url})
    assert response.status_code == 200  # the form again, not a redirect
    return response.context["form"].errors.get("url")


def _emit(lender, capture):
    with capture(execute=True):
        return webhooks.event_emit(
            lender=lender, event_type="product.approved", data={"product": "P-1"}
        )


# --- The guard ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.10",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 (an address refused, not one bound to)
        "0.1.2.3",
        "224.0.0.1",  # multicast: Python 3.11 calls it global
        "240.0.0.1",
        "255.255.255.255",
        "198.18.0.1",
        "::1",
        "::",
        "fe80::1",
        "fe80::1%1",
        "fec0::1",  # site-local: Python 3.11 calls it global
        "fd00::1",
        "fc00::1",
        "ff0e::1",  # multicast
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "::7f00:1",  # IPv4-compatible
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b:1::1",
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2001:db8::1",
    ],
)
def test_the_guard_refuses_every_non_public_address(address, dns):
    dns["inside.example"] = [address.partition("%")[0]]
    assert not netguard.is_public_address(netguard.ipaddress.ip_address(address))
    with pytest.raises(netguard.UnsafeDestination) as refused:
        netguard.resolve_public("inside.example", 443)
    assert "inside.example" in refused.value.message
    assert address.partition("%")[0] not in refused.value.message


@pytest.mark.parametrize(
    "address",
    [
        "93.184.216.34",
        "2606:2800:220:1:248:1893:25c8:1946",
        "::ffff:93.184.216.34",
        "64:ff9b::5db8:d822",  # NAT64 of 93.184.216.34
    ],
)
def test_the_guard_passes_public_addresses(address, dns):
    dns["outside.example"] = [address]
    assert netguard.resolve_public("outside.example", 443) == [address]


def test_legacy_spellings_of_an_address_are_judged_without_dns():
    for host in ("127.1", "2130706433", "0x7f000001", "017700000001"):
        with pytest.raises(netguard.UnsafeDestination):
            netguard.resolve_public(host, 443)


def test_a_host_that_does_not_resolve_is_refused(dns):
    with pytest.raises(netguard.UnresolvableHost) as refused:
        netguard.resolve_public("nowhere.example", 443)
    assert "nowhere.example" in refused.value.message


def test_the_allow_list_setting_lets_a_named_host_be_private(settings, dns):
    dns["dev-receiver.example"] = ["127.0.0.1"]
    with pytest.raises(netguard.UnsafeDestination):
        netguard.resolve_public("dev-receiver.example", 443)
    settings.OUTBOUND_ALLOW_PRIVATE_HOSTS = ["dev-receiver.example"]
    assert netguard.resolve_public("dev-receiver.example", 443) == ["127.0.0.1"]


# --- At save ------------------------------------------------------------------------


@pytest.mark.parametrize("url", REFUSED_LITERALS)
def test_the_form_refuses_an_address_literal_that_is_not_public(
    client, bank_admin, url
):
    errors = _form_errors(client, url)
    assert errors and "is not on the public internet" in errors[0]
    assert WebhookEndpoint.objects.count() == 0


@pytest.mark.parametrize(
    "addresses", [["192.168.1.10"], ["93.184.216.34", "10.0.0.7"], ["::1"]]
)
def test_the_form_refuses_a_name_resolving_to_any_non_public_address(
    client, bank_admin, dns, addresses
):
    dns["hooks.bank.example"] = addresses
    errors = _form_errors(client, "https://hooks.bank.example/h")
    assert errors and "hooks.bank.example" in errors[0]
    assert not any(address in errors[0] for address in addresses)
    assert WebhookEndpoint.objects.count() == 0


def test_the_form_refuses_a_name_that_does_not_resolve(client, bank_admin):
    errors = _form_errors(client, "https://nowhere.example/h")
    assert errors and "does not resolve" in errors[0]
    assert WebhookEndpoint.objects.count() == 0


def test_the_form_shows_the_refusal_in_chinese(client, bank_admin):
    response = client.post("/portal/bank/webhook/", {"url": "https://10.0.0.5/h"})
    assert "不在公共互联网上" in response.context["form"].errors["url"][0]
    assert WebhookEndpoint.objects.count() == 0


def test_a_name_resolving_to_a_public_address_is_saved(client, bank_admin, dns):
    lender, _admin = bank_admin
    dns["hooks.bank.example"] = ["93.184.216.34", "2606:2800:220:1::1"]
    response = client.post(PORTAL, {"url": "https://hooks.bank.example/h"})
    assert response.status_code == 200  # the new secret, shown this once
    endpoint = WebhookEndpoint.objects.get(lender=lender)
    assert endpoint.url == "https://hooks.bank.example/h"
    assert response.context["new_secret"] == endpoint.secret


@pytest.mark.parametrize("url", [*REFUSED_LITERALS, "https://inside.example/h"])
def test_the_service_refuses_it_too_and_saves_nothing(dns, url):
    dns["inside.example"] = ["93.184.216.34", "192.168.1.10"]
    lender, admin, _ = lender_with_staff()
    with pytest.raises(netguard.UnsafeDestination) as refused:
        services.webhook_endpoint_save(
            lender=lender, url=url, rotate_secret=False, actor=admin
        )
    assert refused.value.field == "url"
    assert WebhookEndpoint.objects.count() == 0


def test_the_service_refuses_to_change_a_saved_url_to_an_internal_one(dns):
    lender, admin, _ = lender_with_staff()
    services.webhook_endpoint_save(
        lender=lender, url=URL, rotate_secret=False, actor=admin
    )
    with pytest.raises(netguard.UnsafeDestination):
        services.webhook_endpoint_save(
            lender=lender, url="https://127.0.0.1/h", rotate_secret=True, actor=admin
        )
    assert WebhookEndpoint.objects.get().url == URL


# --- At send time -------------------------------------------------------------------


@pytest.mark.parametrize("rebound", [["127.0.0.1"], ["93.184.216.34", "10.0.0.1"]])
def test_a_name_rebound_to_an_internal_address_gets_no_request_and_no_retry(
    settings, dns, retry_spy, django_capture_on_commit_callbacks, rebound
):
    settings.WEBHOOK_MAX_ATTEMPTS = 4
    lender, admin, _ = lender_with_staff()
    services.webhook_endpoint_save(
        lender=lender, url=URL, rotate_secret=False, actor=admin
    )
    dns["bank.example"] = rebound
    with responses.RequestsMock() as http:  # any request would fail the test
        _emit(lender, django_capture_on_commit_callbacks)
        assert len(http.calls) == 0
    delivery = WebhookDelivery.objects.get()
    (attempt,) = WebhookAttempt.objects.all()
    assert attempt.status_code is None
    assert attempt.error == "destination refused: resolves to a non-public address"
    assert not any(address in attempt.error for address in rebound)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
    assert delivery.next_attempt_at is None
    retry_spy.assert_not_called()


def test_a_manual_redelivery_is_refused_the_same_way(
    dns, django_capture_on_commit_callbacks
):
    lender, admin, _ = lender_with_staff()
    services.webhook_endpoint_save(
        lender=lender, url=URL, rotate_secret=False, actor=admin
    )
    with responses.RequestsMock() as http:
        http.add(responses.POST, URL, status=200)
        _emit(lender, django_capture_on_commit_callbacks)
    dns["bank.example"] = ["169.254.169.254"]
    delivery = WebhookDelivery.objects.get()
    with responses.RequestsMock() as http:
        with django_capture_on_commit_callbacks(execute=True):
            webhooks.delivery_redeliver(delivery=delivery)
        assert len(http.calls) == 0
    last = WebhookAttempt.objects.order_by("-number").first()
    assert (last.number, last.status_code) == (2, None)
    assert last.error.startswith("destination refused")


def test_a_name_that_stops_resolving_is_retried_like_any_dns_failure(
    settings, dns, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    lender, admin, _ = lender_with_staff()
    services.webhook_endpoint_save(
        lender=lender, url=URL, rotate_secret=False, actor=admin
    )
    del dns["bank.example"]
    with responses.RequestsMock() as http:
        _emit(lender, django_capture_on_commit_callbacks)
        assert len(http.calls) == 0
    errors = list(WebhookAttempt.objects.values_list("error", flat=True))
    assert errors == ["destination unresolved: the host does not resolve"] * 2
    assert WebhookDelivery.objects.get().status == DeliveryStatus.FAILED


# --- The connection goes to the checked address -------------------------------------


def _prepared(url):
    return requests.Request("POST", url, data=b"{}").prepare()


def test_the_adapter_pins_the_pool_to_the_address_and_keeps_the_name_for_tls():
    adapter = webhooks.PinnedAddressAdapter("bank.example", "93.184.216.34")
    pool = adapter.get_connection_with_tls_context(
        _prepared("https://bank.example:8443/hooks"), verify=True
    )
    assert (pool.host, pool.port) == ("93.184.216.34", 8443)
    assert pool.conn_kw["server_hostname"] == "bank.example"
    request = _prepared("https://bank.example:8443/hooks")
    adapter.add_headers(request)
    assert request.headers["Host"] == "bank.example:8443"
    with pytest.raises(requests.exceptions.InvalidURL):
        adapter.get_connection_with_tls_context(
            _prepared("https://elsewhere.example/"), verify=True
        )


class _Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        self.server.seen.append((self.headers.get("Host"), self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def _certificate(tmp_path, name):
    """A CA file and a certificate for ``name`` that it signed."""
    now = dt.datetime.now(dt.UTC)

    def build(subject, issuer, public_key, signing_key, *, ca):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), True)
        )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                True,
            )
        else:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(subject)]), False
            )
        return builder.sign(signing_key, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    key = ec.generate_private_key(ec.SECP256R1())
    ca = build("Test CA", "Test CA", ca_key.public_key(), ca_key, ca=True)
    leaf = build(name, "Test CA", key.public_key(), ca_key, ca=False)
    pem = serialization.Encoding.PEM
    ca_file, cert_file, key_file = (
        tmp_path / "ca.pem",
        tmp_path / "cert.pem",
        tmp_path / "key.pem",
    )
    ca_file.write_bytes(ca.public_bytes(pem))
    cert_file.write_bytes(leaf.public_bytes(pem))
    key_file.write_bytes(
        key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ca_file, cert_file, key_file


@pytest.fixture
def tls_receiver(tmp_path, monkeypatch):
    """Start an HTTPS receiver on loopback with a certificate for the given name;
    yields a function returning (port, requests seen, SNI names seen)."""
    servers = []

    def start(name):
        ca_file, cert_file, key_file = _certificate(tmp_path, name)
        monkeypatch.setattr(requests.adapters, "DEFAULT_CA_BUNDLE_PATH", str(ca_file))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        sni = []
        context.sni_callback = lambda sock, server_name, ctx: sni.append(server_name)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
        server.seen = []
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_address[1], server.seen, sni

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _endpoint_on(port):
    lender, _admin, _ = lender_with_staff()
    WebhookEndpoint.objects.create(
        lender=lender,
        url=f"https://bank.example:{port}/hooks",
        secret=webhooks.new_secret(),
    )
    return lender


def test_a_delivery_connects_to_the_checked_address_with_the_name_for_tls(
    settings, dns, tls_receiver, django_capture_on_commit_callbacks
):
    # A loopback receiver stands in for the bank: allowed by name for this test only.
    settings.OUTBOUND_ALLOW_PRIVATE_HOSTS = ["bank.example"]
    dns["bank.example"] = ["127.0.0.1"]
    port, seen, sni = tls_receiver("bank.example")
    lender = _endpoint_on(port)
    real_resolve = netguard.resolve_public

    def resolve_then_rebind(host, port, **kwargs):
        addresses = real_resolve(host, port, **kwargs)
        del dns["bank.example"]  # connecting by name from now on would fail
        return addresses

    with mock.patch.object(netguard, "resolve_public", resolve_then_rebind):
        _emit(lender, django_capture_on_commit_callbacks)
    (attempt,) = WebhookAttempt.objects.all()
    assert (attempt.status_code, attempt.response_excerpt, attempt.error) == (
        200,
        "ok",
        "",
    )
    assert sni == ["bank.example"]
    assert seen[0][0] == f"bank.example:{port}"
    assert b'"product.approved"' in seen[0][1]


def test_the_certificate_is_still_checked_against_the_name(
    settings, dns, tls_receiver, django_capture_on_commit_callbacks
):
    settings.OUTBOUND_ALLOW_PRIVATE_HOSTS = ["bank.example"]
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    dns["bank.example"] = ["127.0.0.1"]
    port, seen, _sni = tls_receiver("someone-else.example")
    lender = _endpoint_on(port)
    _emit(lender, django_capture_on_commit_callbacks)
    (attempt,) = WebhookAttempt.objects.all()
    assert attempt.status_code is None and attempt.error.startswith("SSLError")
    assert "bank.example" in attempt.error
    assert seen == []
