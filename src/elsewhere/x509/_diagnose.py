"""Why a path does not validate, in words a person can act on.

After a validator refuses, :func:`diagnose` walks the issuer links from the leaf towards the trust
anchor and names the first concrete problem it meets (an unknown issuer, a signature that does
not verify, an expired CA, a CA that breaks a Roles Anywhere rule, a path too deep). It judges
with the same rule functions as the validators (``_rules``) and never accepts anything: it only
explains a refusal that has already been made. Malformed certificates are described, never
raised.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa

from elsewhere.x509._algorithms import describe_name
from elsewhere.x509._pkix import NameKeys
from elsewhere.x509._rules import (
    PathPolicy,
    ca_problem,
    describe,
    validity_problem,
)

__all__ = ["SIGNATURE_BUDGET", "Links", "der", "diagnose", "self_signed", "signed_by"]


def der(cert: x509.Certificate) -> bytes:
    """The certificate's DER encoding."""
    return cert.public_bytes(serialization.Encoding.DER)


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer``'s key verifies ``cert``'s signature; False for anything unusable.

    Names are not compared here (callers compare them under RFC 5280 §7.1 first, which
    ``verify_directly_issued_by`` would not). Unknown key or signature algorithms, keys that
    cannot sign and malformed encodings are "does not verify", never an exception. The dispatch
    on the signature's parameters is the one cryptography documents for verifying a certificate.
    """
    try:
        key = issuer.public_key()
        parameters = cert.signature_algorithm_parameters
        algorithm = cert.signature_hash_algorithm
        if isinstance(key, rsa.RSAPublicKey) and isinstance(
            parameters, padding.PKCS1v15 | padding.PSS
        ):
            assert algorithm is not None
            key.verify(cert.signature, cert.tbs_certificate_bytes, parameters, algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey) and isinstance(parameters, ec.ECDSA):
            key.verify(cert.signature, cert.tbs_certificate_bytes, parameters)
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes)
        else:
            return False
    except Exception:  # every failure to verify is a "no"
        return False
    return True


def self_signed(cert: x509.Certificate) -> bool:
    """Whether ``cert`` is self-issued and verifies with its own key (a root, RFC 5280 §3.2).

    Self-issued certificates signed by another key (a CA key rollover's link certificates,
    RFC 5280 §6.1) are not self-signed. A certificate whose names do not decode is neither.
    """
    try:
        return cert.subject == cert.issuer and signed_by(cert, cert)
    except ValueError:
        return False


# Signature checks one validation may spend on linking certificates. A real path needs one per
# link (at most 6 with 5 intermediates) plus a few for same-named candidates; past the budget a
# candidate counts as "does not verify", so junk in a chain header costs bounded work.
SIGNATURE_BUDGET = 32


class Links:
    """Issuer links among a validation's certificates: §7.1 names and verified signatures.

    Each name is prepared once (by its DER) and each pair's signature checked once, within
    SIGNATURE_BUDGET. The path router (``_path``) and the diagnosis share one instance, so they
    agree on which certificate issued which.
    """

    def __init__(
        self,
        leaf: x509.Certificate,
        pool: Sequence[x509.Certificate],
        anchors: Sequence[x509.Certificate],
    ) -> None:
        self.leaf = leaf
        self.pool = list(pool)
        self.anchors = list(anchors)
        self.anchor_ders = {der(a) for a in anchors}
        self._names = NameKeys()
        self._signed: dict[tuple[int, int], bool] = {}
        self._budget = SIGNATURE_BUDGET

    def named(self, child: x509.Certificate, issuer: x509.Certificate) -> bool:
        """Whether ``issuer``'s subject is ``child``'s issuer name under RFC 5280 §7.1."""
        try:
            return self._names.equal(child.issuer, issuer.subject)
        except ValueError:  # a name that does not decode names nothing
            return False

    def loose(self, child: x509.Certificate, issuer: x509.Certificate) -> bool:
        """The names chain under §7.1 but not as cryptography's verifier compares them."""
        try:
            different = child.issuer != issuer.subject
        except ValueError:
            return False
        return different and self.named(child, issuer)

    def self_issued(self, cert: x509.Certificate) -> bool:
        """Self-issued (RFC 5280 §3.2) but not self-signed: a key rollover's link certificate."""
        return self.named(cert, cert) and not self_signed(cert)

    def signed(self, child: x509.Certificate, issuer: x509.Certificate) -> bool:
        """Whether ``issuer``'s key verifies ``child`` (False once the budget is spent)."""
        pair = (id(child), id(issuer))
        if pair not in self._signed:
            if self._budget <= 0:
                return False
            self._budget -= 1
            self._signed[pair] = signed_by(child, issuer)
        return self._signed[pair]

    def named_issuers(
        self, child: x509.Certificate, exclude: frozenset[bytes] = frozenset()
    ) -> list[x509.Certificate]:
        """Anchors and pool certificates whose subject is ``child``'s issuer name."""
        return [
            c
            for c in (*self.anchors, *self.pool)
            if c is not child and der(c) not in exclude and self.named(child, c)
        ]

    def issuers(self, child: x509.Certificate) -> list[x509.Certificate]:
        """The certificates whose name and key issued ``child``."""
        return [c for c in self.named_issuers(child) if self.signed(child, c)]

    def grounded(self) -> list[x509.Certificate] | None:
        """The pool certificates with a linked route to an anchor; None if the leaf has none.

        Routes of any length count here (self-issued certificates do not count towards a depth
        limit); the validator judges depth.
        """
        good = {id(a) for a in self.anchors}
        for _ in range(len(self.pool) + 1):
            grown = {
                id(c)
                for c in (self.leaf, *self.pool)
                if any(id(i) in good for i in self.issuers(c))
            }
            if grown <= good:
                break
            good |= grown
        if id(self.leaf) not in good:
            return None
        return [c for c in self.pool if id(c) in good]


def diagnose(
    cert: x509.Certificate,
    links: Links,
    now: dt.datetime,
    policy: PathPolicy,
    depth: int = 0,
    visited: frozenset[bytes] | None = None,
) -> str | None:
    """The first concrete reason no path runs from ``cert`` to an anchor; None if none is found."""
    leaf = links.leaf
    visited = visited if visited is not None else frozenset({der(cert)})
    try:
        issuer_name = describe_name(cert.issuer)
    except ValueError:
        return f"{describe(cert, leaf)} has an issuer name that does not decode"
    named = links.named_issuers(cert, visited)
    if not named:
        return (
            f"no path to a trust anchor: {describe(cert, leaf)} was issued by "
            f"{issuer_name}, which is neither a certificate of the trust anchor "
            "nor among the supplied intermediates"
        )
    signing = [c for c in named if links.signed(cert, c)]
    if not signing:
        return (
            f"no path to a trust anchor: the signature of {describe(cert, leaf)} does not "
            f"verify with the key of {issuer_name}"
        )
    problems: list[str] = []
    for issuer in signing:
        who = describe(issuer, leaf)
        if der(issuer) in links.anchor_ders:
            problem = ca_problem(issuer, policy, anchor=True)
            if problem is None:
                return None
            problems.append(f"{who} {problem}")
            continue
        if depth >= policy.max_chain_depth:
            problems.append(
                f"no path to a trust anchor within {policy.max_chain_depth} intermediates"
            )
            continue
        problem = validity_problem(issuer, now) or ca_problem(issuer, policy)
        if problem is None:
            found = diagnose(issuer, links, now, policy, depth + 1, visited | {der(issuer)})
            if found is None:
                return None
            problems.append(found)
            continue
        if problem.startswith("is not a CA certificate"):
            problem += f" but issued {describe(cert)[len('certificate ') :]}"
        problems.append(f"{who} {problem}")
    return problems[0]
