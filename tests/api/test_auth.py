"""OAuth2 tokens: /oauth/token, JWT claims, revocation, and what /api/ answers without a valid token."""

import time
from io import StringIO

import jwt
import orjson
import pytest
from django.core.management import call_command
from django.test import Client

from api.auth.tokens import issue_access_token
from api.models import ApiCredential
from tests.api.conftest import ApiClient, fetch_token

pytestmark = pytest.mark.django_db


def token_request(body, content_type="application/json"):
    data = orjson.dumps(body) if content_type == "application/json" else body
    response = Client().post("/oauth/token", data, content_type=content_type)
    return response, orjson.loads(response.content)


def test_client_credentials_with_a_json_body_answer_a_bearer_token(test_credential):
    before = int(time.time())
    response, body = token_request(
        {
            "grant_type": "client_credentials",
            "client_id": test_credential.client_id,
            "client_secret": test_credential.client_secret,
        }
    )
    assert response.status_code == 200
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "created_at"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 7200
    assert body["scope"] == "market:all"
    assert before <= body["created_at"] <= int(time.time())


def test_a_form_body_works_too(test_credential):
    form = (
        f"grant_type=client_credentials&client_id={test_credential.client_id}"
        f"&client_secret={test_credential.client_secret}"
    )
    response, body = token_request(form, "application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert body["token_type"] == "bearer"


def test_the_access_token_is_a_jwt_with_commerce_layer_claims(test_credential, settings):
    token = fetch_token(test_credential.client_id, test_credential.client_secret)
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "RS512" and header["kid"]
    assert set(claims["organization"]) >= {"id", "slug"}
    assert claims["organization"]["slug"] == settings.API_ORGANIZATION_SLUG
    assert claims["application"] == {
        "id": test_credential.credential.id,
        "client_id": test_credential.client_id,
        "kind": "integration",
        "public": False,
        "confidential": True,
    }
    assert claims["test"] is True
    assert claims["exp"] - claims["iat"] == 7200
    assert claims["iss"] == settings.API_TOKEN_ISSUER


def test_a_live_credential_gets_a_live_token(live_credential):
    claims = jwt.decode(
        fetch_token(live_credential.client_id, live_credential.client_secret), options={"verify_signature": False}
    )
    assert claims["test"] is False


@pytest.mark.parametrize(
    "change,status,title",
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "unknown"}, 401, "invalid_client"),
        ({"grant_type": "magic_link"}, 400, "unsupported_grant_type"),
        ({"scope": "market:id:xYZkjABcde"}, 400, "invalid_scope"),
    ],
)
def test_token_errors_answer_commerce_layer_auth_errors(test_credential, change, status, title):
    body = {
        "grant_type": "client_credentials",
        "client_id": test_credential.client_id,
        "client_secret": test_credential.client_secret,
        **change,
    }
    response, answer = token_request(body)
    assert response.status_code == status
    (error,) = answer["errors"]
    assert error["title"] == title
    assert error["status"] == status
    assert error["code"] == ("UNAUTHORIZED" if status == 401 else "BAD_REQUEST")
    assert error["detail"]


def test_a_malformed_json_token_request_is_a_400(test_credential):
    response = Client().post("/oauth/token", b"{not json", content_type="application/json")
    assert response.status_code in (400, 401)
    assert "errors" in orjson.loads(response.content)


def test_revoke_makes_the_token_invalid_at_once(test_credential):
    token = fetch_token(test_credential.client_id, test_credential.client_secret)
    client = ApiClient(token)
    assert client.get("/api/order_subscriptions").status_code == 200
    response = Client().post(
        "/oauth/revoke",
        orjson.dumps(
            {"client_id": test_credential.client_id, "client_secret": test_credential.client_secret, "token": token}
        ),
        content_type="application/json",
    )
    assert response.status_code == 200
    answer = client.get("/api/order_subscriptions")
    assert answer.status_code == 401
    assert answer.json_body["errors"][0]["code"] == "INVALID_TOKEN"


def test_no_token_is_401_unauthorized(anonymous):
    response = anonymous.get("/api/order_subscriptions")
    assert response.status_code == 401
    (error,) = response.json_body["errors"]
    assert error["code"] == "UNAUTHORIZED"
    assert error["status"] == "401"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer not-a-jwt", "Basic abc", "Bearer "])
def test_a_bad_token_is_401_invalid_token(db, header):
    response = ApiClient(None).get("/api/order_subscriptions", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json_body["errors"][0]["code"] in ("INVALID_TOKEN", "UNAUTHORIZED")


def test_an_expired_token_is_401_invalid_token(test_credential):
    credential = ApiCredential.objects.get(pk=test_credential.credential.pk)
    token = issue_access_token(credential=credential, scope="market:all", lifetime=60, now=time.time() - 3600)
    response = ApiClient(token).get("/api/order_subscriptions")
    assert response.status_code == 401
    assert response.json_body["errors"][0]["code"] == "INVALID_TOKEN"


def test_a_validly_signed_token_that_was_never_issued_is_rejected(test_credential):
    """Signing alone is not enough: the token must be one /oauth/token stored (and not revoked)."""
    credential = ApiCredential.objects.get(pk=test_credential.credential.pk)
    token = issue_access_token(credential=credential, scope="market:all", lifetime=600)
    assert ApiClient(token).get("/api/order_subscriptions").status_code == 401


def test_sales_channels_authenticate_with_client_id_only_and_may_only_read_single_resources(issue_credential):
    from tests.api.data import subscription_in

    issued = issue_credential(kind="sales_channel", name="Storefront")
    assert issued.client_secret == ""
    response, body = token_request({"grant_type": "client_credentials", "client_id": issued.client_id})
    assert response.status_code == 200
    assert body["expires_in"] == 4 * 3600
    client = ApiClient(body["access_token"])
    subscription = subscription_in("test")
    assert client.get(f"/api/order_subscriptions/{subscription.id}").status_code == 200
    listing = client.get("/api/order_subscriptions")
    assert listing.status_code == 401
    assert listing.json_body["errors"][0]["code"] == "UNAUTHORIZED"


def test_create_api_credentials_command_prints_a_working_id_and_secret(db):
    out = StringIO()
    call_command("create_api_credentials", "ERP", "--mode", "live", stdout=out)
    lines = dict(line.split(":", 1) for line in out.getvalue().splitlines() if ":" in line and "Store" not in line)
    token = fetch_token(lines["client_id"].strip(), lines["client_secret"].strip())
    assert jwt.decode(token, options={"verify_signature": False})["test"] is False
    assert ApiCredential.objects.get(name="ERP").mode == "live"


def test_openapi_and_reference_need_no_token(anonymous):
    assert anonymous.client.get("/api/openapi.json").status_code == 200
    page = anonymous.client.get("/api/reference")
    assert page.status_code == 200
    assert b"order_subscriptions" in page.content


def test_sales_channels_cannot_list_through_related_endpoints(issue_credential):
    from tests.api.data import subscription_in

    issued = issue_credential(kind="sales_channel", name="Storefront")
    _, body = token_request({"grant_type": "client_credentials", "client_id": issued.client_id})
    client = ApiClient(body["access_token"])
    subscription = subscription_in("test")
    assert client.get(f"/api/order_subscriptions/{subscription.id}/market").status_code == 200
    assert client.get(f"/api/order_subscriptions/{subscription.id}/recurring_order_copies").status_code == 401


def test_credentials_are_created_in_the_admin_and_the_secret_is_shown_once(admin_client):
    response = admin_client.post(
        "/admin/api/apicredential/add/", {"name": "Warehouse", "kind": "integration", "mode": "live"}, follow=True
    )
    assert response.status_code == 200
    credential = ApiCredential.objects.get(name="Warehouse")
    assert credential.mode == "live"
    shown = [str(message) for message in response.context["messages"]]
    secret = next(message for message in shown if "Client secret" in message).split("Client secret: ")[1].split(" ")[0]
    token = fetch_token(credential.application.client_id, secret)
    assert jwt.decode(token, options={"verify_signature": False})["test"] is False
