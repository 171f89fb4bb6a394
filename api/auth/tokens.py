"""Access tokens: RS512-signed JWTs carrying Commerce Layer's claims.

Clients decode these tokens (the SDKs read `organization.slug`, `test` and `exp`), so the claim
names and shapes follow Commerce Layer's. The token's `test` claim is what selects the mode of
every API request made with it.
"""

import hashlib
import random
import time
from dataclasses import dataclass
from functools import lru_cache

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import IntegrityError, transaction

ALGORITHM = "RS512"
DEFAULT_SCOPE = "market:all"


class TokenInvalid(Exception):
    """The bearer token is malformed, badly signed, expired or not ours."""


@dataclass(frozen=True)
class SigningMaterial:
    kid: str
    private_key: rsa.RSAPrivateKey


def _kid_for(private_key: rsa.RSAPrivateKey) -> str:
    public_der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(public_der).hexdigest()[:32]


@lru_cache(maxsize=8)
def _load_private_key(pem: str) -> rsa.RSAPrivateKey:
    return serialization.load_pem_private_key(pem.encode(), password=None)


def _generate_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def signing_material() -> SigningMaterial:
    """The key that signs new tokens: API_JWT_PRIVATE_KEY, else the newest stored key (made on first use)."""
    if settings.API_JWT_PRIVATE_KEY:
        key = _load_private_key(settings.API_JWT_PRIVATE_KEY)
        return SigningMaterial(_kid_for(key), key)
    from api.models import SigningKey

    stored = SigningKey.objects.first()
    if stored is None:
        pem = _generate_pem()
        key = _load_private_key(pem)
        try:
            with transaction.atomic():
                stored = SigningKey.objects.create(kid=_kid_for(key), private_key_pem=pem)
        except IntegrityError:  # another process made one at the same moment
            stored = SigningKey.objects.first()
    return SigningMaterial(stored.kid, _load_private_key(stored.private_key_pem))


_public_keys: dict[str, rsa.RSAPublicKey] = {}


def _public_key(kid: str) -> rsa.RSAPublicKey | None:
    """Verification keys by kid, cached for the process (keys never change once made)."""
    if kid in _public_keys:
        return _public_keys[kid]
    if settings.API_JWT_PRIVATE_KEY:
        key = _load_private_key(settings.API_JWT_PRIVATE_KEY)
        if _kid_for(key) == kid:
            _public_keys[kid] = key.public_key()
            return _public_keys[kid]
    from api.models import SigningKey

    stored = SigningKey.objects.filter(kid=kid).first()
    if stored is None:
        return None
    _public_keys[kid] = _load_private_key(stored.private_key_pem).public_key()
    return _public_keys[kid]


def organization_claim() -> dict:
    org_id = settings.API_ORGANIZATION_ID
    if not org_id:
        # A stable, letters-only 10-character id like every other id the API shows.
        digest = hashlib.sha256(f"organization:{settings.SECRET_KEY}".encode()).digest()
        org_id = "".join("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[byte % 52] for byte in digest[:10])
    return {"id": org_id, "slug": settings.API_ORGANIZATION_SLUG, "enterprise": False, "region": "self-hosted"}


def issue_access_token(*, credential, scope: str, lifetime: int, now: float | None = None) -> str:
    """A signed JWT for `credential` (an ApiCredential) valid for `lifetime` seconds."""
    now = int(now if now is not None else time.time())
    material = signing_material()
    claims = {
        "organization": organization_claim(),
        "application": {
            "id": credential.id,
            "client_id": credential.application.client_id,
            "kind": credential.kind,
            "public": credential.kind == "sales_channel",
            "confidential": credential.kind != "sales_channel",
        },
        "scope": scope,
        "test": credential.mode == "test",
        "exp": now + lifetime,
        "iat": now,
        "iss": settings.API_TOKEN_ISSUER,
        "rand": random.random(),  # two tokens issued in the same second still differ
    }
    return jwt.encode(claims, material.private_key, algorithm=ALGORITHM, headers={"kid": material.kid})


def verify_access_token(token: str) -> dict:
    """The claims of a token we signed and that has not expired; raises TokenInvalid otherwise."""
    try:
        header = jwt.get_unverified_header(token)
        key = _public_key(str(header.get("kid", "")))
        if key is None:
            raise TokenInvalid("unknown signing key")
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=settings.API_TOKEN_ISSUER,
            options={"require": ["exp", "iat", "iss", "test", "application"]},
        )
    except jwt.PyJWTError as exc:
        raise TokenInvalid(str(exc)) from exc
    if not isinstance(claims.get("application"), dict) or not isinstance(claims.get("test"), bool):
        raise TokenInvalid("missing claims")
    return claims


def token_checksum(token: str) -> str:
    """How django-oauth-toolkit finds a stored token (it keeps only this checksum)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
