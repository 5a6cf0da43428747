"""A directory-backed development CA.

Layout of ``<dir>``: ``ca.pem`` and ``ca.key`` (the root), optionally ``intermediate.pem`` and
``intermediate.key``, and ``index.json`` with every issued and revoked serial. Private keys are
unencrypted PKCS#8 PEM written with mode 0600; this is a development CA, not an HSM.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from elsewhere.pki._build import (
    CertifiedKey,
    PrivateKey,
    Revocation,
    build_crl,
    build_intermediate_ca,
    build_root_ca,
    issue_certificate,
)

__all__ = ["CaStore", "CaStoreError", "IssuedRecord", "write_private_key"]


class CaStoreError(Exception):
    """The CA directory is missing, incomplete, or asked to do something impossible."""


@dataclass(frozen=True)
class IssuedRecord:
    """One line of ``index.json``: a certificate the CA issued."""

    serial: int
    subject: str
    issuer: str
    not_after: str
    revoked_at: str | None = None


def write_private_key(path: Path, key: PrivateKey) -> None:
    """Write ``key`` as PKCS#8 PEM to ``path``, created with mode 0600 (never wider)."""
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _load_pair(directory: Path, stem: str) -> CertifiedKey:
    cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except ValueError as exc:
        raise CaStoreError(f"{cert_path} is not a PEM certificate: {exc}") from None
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), None)
    except (ValueError, TypeError) as exc:  # TypeError: an encrypted key
        raise CaStoreError(f"{key_path} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, PrivateKey):
        raise CaStoreError(f"{key_path} holds an unsupported key type")
    return CertifiedKey(cert, key)


class CaStore:
    """A development CA kept in a directory: a root, an optional intermediate, an index."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    # --- creation and loading ----------------------------------------------------------------

    @classmethod
    def init(
        cls,
        directory: Path | str,
        *,
        now: dt.datetime,
        key_type: str = "p256",
        subject: str = "CN=elsewhere development root CA",
        with_intermediate: bool = False,
        intermediate_subject: str = "CN=elsewhere development intermediate CA",
        days: float = 3650,
    ) -> CaStore:
        """Create a new CA in ``directory``; refuses to overwrite an existing one."""
        store = cls(directory)
        store.directory.mkdir(parents=True, exist_ok=True)
        if (store.directory / "ca.pem").exists():
            raise CaStoreError(f"{store.directory} already holds a CA (ca.pem exists)")
        root = build_root_ca(now=now, subject=subject, key_type=key_type, days=days)
        _write_cert(store.directory / "ca.pem", root.certificate)
        write_private_key(store.directory / "ca.key", root.key)
        if with_intermediate:
            inter = build_intermediate_ca(
                root, now=now, subject=intermediate_subject, key_type=key_type, days=days / 2
            )
            _write_cert(store.directory / "intermediate.pem", inter.certificate)
            write_private_key(store.directory / "intermediate.key", inter.key)
            store._record(inter.certificate, "root")
        store._save_index(store._index())
        return store

    def _require(self) -> None:
        if not (self.directory / "ca.pem").exists() or not (self.directory / "ca.key").exists():
            raise CaStoreError(
                f"no CA in {self.directory} (expected ca.pem and ca.key; run 'elsewhere ca init')"
            )

    @property
    def root(self) -> CertifiedKey:
        """The root CA certificate and key."""
        self._require()
        return _load_pair(self.directory, "ca")

    @property
    def intermediate(self) -> CertifiedKey | None:
        """The intermediate CA, if the store has one."""
        self._require()
        if not (self.directory / "intermediate.pem").exists():
            return None
        return _load_pair(self.directory, "intermediate")

    @property
    def issuing_ca(self) -> CertifiedKey:
        """The CA that signs workload certificates (intermediate if present, else root)."""
        return self.intermediate or self.root

    # --- index -------------------------------------------------------------------------------

    def _index(self) -> dict[str, Any]:
        path = self.directory / "index.json"
        if not path.exists():
            return {"issued": [], "crl_number": {}}
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise CaStoreError(f"{path} is not a CA index (JSON): {exc}") from None
        return data

    def _save_index(self, index: dict[str, Any]) -> None:
        tmp = self.directory / "index.json.tmp"
        tmp.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(self.directory / "index.json")

    def _record(self, cert: x509.Certificate, issuer: str) -> None:
        index = self._index()
        index["issued"].append(
            {
                "serial": format(cert.serial_number, "x"),
                "subject": cert.subject.rfc4514_string(),
                "issuer": issuer,
                "not_after": cert.not_valid_after_utc.isoformat(),
                "revoked_at": None,
            }
        )
        self._save_index(index)

    def records(self) -> tuple[IssuedRecord, ...]:
        """Every certificate issued by this CA, in issuing order."""
        return tuple(
            IssuedRecord(
                serial=int(r["serial"], 16),
                subject=r["subject"],
                issuer=r["issuer"],
                not_after=r["not_after"],
                revoked_at=r.get("revoked_at"),
            )
            for r in self._index()["issued"]
        )

    # --- operations --------------------------------------------------------------------------

    def issue(
        self,
        *,
        now: dt.datetime,
        subject: str,
        sans: Iterable[str] = (),
        days: float = 365,
        key_type: str = "p256",
    ) -> CertifiedKey:
        """Issue and record a workload certificate from the issuing CA."""
        issuer_name = "intermediate" if self.intermediate is not None else "root"
        issued = issue_certificate(
            self.issuing_ca, now=now, subject=subject, sans=sans, days=days, key_type=key_type
        )
        self._record(issued.certificate, issuer_name)
        return issued

    def revoke(self, serial: int, *, now: dt.datetime) -> IssuedRecord:
        """Mark ``serial`` revoked at ``now``; it appears in the next CRL of its issuer."""
        index = self._index()
        for entry in index["issued"]:
            if int(entry["serial"], 16) == serial:
                if entry.get("revoked_at") is None:
                    entry["revoked_at"] = now.isoformat()
                    self._save_index(index)
                return IssuedRecord(
                    serial=serial,
                    subject=entry["subject"],
                    issuer=entry["issuer"],
                    not_after=entry["not_after"],
                    revoked_at=entry["revoked_at"],
                )
        raise CaStoreError(f"serial {serial:x} was not issued by this CA")

    def crl(self, *, now: dt.datetime, issuer: str | None = None) -> x509.CertificateRevocationList:
        """A fresh signed CRL of ``issuer`` ('root' or 'intermediate'; default: the issuing CA)."""
        if issuer is None:
            issuer = "intermediate" if self.intermediate is not None else "root"
        ca = self.root if issuer == "root" else self.intermediate
        if ca is None:
            raise CaStoreError("this CA has no intermediate")
        index = self._index()
        number = int(index.setdefault("crl_number", {}).get(issuer, 0)) + 1
        index["crl_number"][issuer] = number
        self._save_index(index)
        revoked = [
            Revocation(int(e["serial"], 16), dt.datetime.fromisoformat(e["revoked_at"]))
            for e in index["issued"]
            if e["issuer"] == issuer and e.get("revoked_at")
        ]
        return build_crl(ca, revoked, now=now, crl_number=number)
