#!/usr/bin/python3
"""Nonces cross replicas (RFC 8555 §6.5): a nonce one replica hands out is accepted once by
another, and a replay is refused by every replica with badNonce.

Talks to each replica directly (not through the proxy), so it knows which replica served
what. Usage: nonce-crossing.py ROOT_PEM URL_A URL_B, where each URL is a replica's
directory URL. Uses only Debian's python3-cryptography (a dependency of certbot).
"""

import base64
import json
import ssl
import sys
import urllib.error
import urllib.request

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Replica:
    def __init__(self, directory_url: str, context: ssl.SSLContext):
        self.context = context
        self.directory = self.call("GET", directory_url)[1]

    def call(self, method, url, body=None):
        request = urllib.request.Request(url, method=method, data=body)
        if body is not None:
            request.add_header("Content-Type", "application/jose+json")
        try:
            with urllib.request.urlopen(request, context=self.context) as response:
                data = response.read()
                return response.status, json.loads(data) if data else None, response.headers
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null"), error.headers

    def nonce(self) -> str:
        return self.call("HEAD", self.directory["newNonce"])[2]["Replay-Nonce"]


class Key:
    def __init__(self):
        self.private = ec.generate_private_key(ec.SECP256R1())
        numbers = self.private.public_key().public_numbers()
        self.jwk = {
            "crv": "P-256",
            "kty": "EC",
            "x": b64(numbers.x.to_bytes(32, "big")),
            "y": b64(numbers.y.to_bytes(32, "big")),
        }

    def sign(self, url, nonce, payload, kid=None):
        protected = {"alg": "ES256", "nonce": nonce, "url": url}
        if kid:
            protected["kid"] = kid
        else:
            protected["jwk"] = self.jwk
        protected64 = b64(json.dumps(protected).encode())
        payload64 = "" if payload is None else b64(json.dumps(payload).encode())
        der = self.private.sign(f"{protected64}.{payload64}".encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        signature = b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
        return json.dumps(
            {"protected": protected64, "payload": payload64, "signature": signature}
        ).encode()


def expect(what, got, want):
    if got != want:
        sys.exit(f"nonce-crossing: {what}: got {got}, expected {want}")
    print(f"ok: {what}")


def main():
    root, url_a, url_b = sys.argv[1:4]
    context = ssl.create_default_context(cafile=root)
    a, b = Replica(url_a, context), Replica(url_b, context)
    key = Key()
    new_account = {"termsOfServiceAgreed": True}

    nonce = a.nonce()
    status, _, headers = b.call(
        "POST", b.directory["newAccount"], key.sign(b.directory["newAccount"], nonce, new_account)
    )
    expect("a nonce from replica A creates an account on replica B", status, 201)
    kid = headers["Location"]

    for name, replica in (("B", b), ("A", a)):
        url = replica.directory["newAccount"]
        status, problem, headers = replica.call("POST", url, key.sign(url, nonce, new_account))
        expect(f"the same nonce replayed on replica {name} is refused", status, 400)
        expect(
            f"replica {name} calls the replay badNonce",
            problem["type"],
            "urn:ietf:params:acme:error:badNonce",
        )
        if not headers.get("Replay-Nonce"):
            sys.exit(f"nonce-crossing: replica {name}'s badNonce answer has no fresh nonce")

    # The other way round, with the account URL (kid): B's nonce, used on A.
    nonce = b.nonce()
    account_url = kid.replace(url_b.split("/acme/")[0], url_a.split("/acme/")[0])
    status, account, _ = a.call("POST", account_url, key.sign(account_url, nonce, None, kid=account_url))
    expect("a nonce from replica B authenticates a POST-as-GET on replica A", status, 200)
    expect("replica A sees the account replica B created", account["status"], "valid")


if __name__ == "__main__":
    main()
