"""``elsewhere verify-certificate``: would CreateSession accept a certificate, and if not, why."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click
from cryptography import x509

from elsewhere.clock import SystemClock
from elsewhere.errors import ValidationError
from elsewhere.service._sessions import MAX_TAG_KEY, MAX_TAG_VALUE, is_legal_tag_text
from elsewhere.x509 import (
    UntrustedCertificate,
    certificate_attributes,
    default_session_name,
    format_subject_dn,
    parse_ca_bundle,
    parse_crl,
    parse_crl_signers,
    source_identity,
    validate_path,
)

__all__ = ["register"]

# The chain header limit (User Guide: the chain "MUST NOT exceed the maximum depth of 5").
_MAX_CHAIN = 5


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise click.UsageError(f"cannot read {path}: {exc.strerror}") from None


def _load_certs(path: Path, what: str) -> list[x509.Certificate]:
    data = _read(path)
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise click.UsageError(f"{what} {path} holds no readable certificate: {exc}") from None


def _parse_at(value: str | None) -> dt.datetime:
    if value is None:
        return SystemClock().now()
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.UsageError(f"--at {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _refusal(reason: str, message: str = UntrustedCertificate.default_message) -> dict[str, Any]:
    return {"accepted": False, "message": message, "reason": reason}


def _evaluate(
    leaf: x509.Certificate,
    intermediates: list[x509.Certificate],
    anchors: tuple[x509.Certificate, ...],
    crls: list[x509.CertificateRevocationList],
    now: dt.datetime,
    crl_signers: tuple[x509.Certificate, ...] = (),
) -> dict[str, Any]:
    if len(intermediates) > _MAX_CHAIN:
        return _refusal(
            f"the chain would hold {len(intermediates)} certificates; "
            f"X-Amz-X509-Chain takes at most {_MAX_CHAIN}",
            "1 validation error detected",
        )
    try:
        path = validate_path(leaf, intermediates, anchors, crls, now=now, crl_signers=crl_signers)
    except UntrustedCertificate as exc:
        return _refusal(exc.reason)
    identity = source_identity(leaf)
    if identity is None:
        return _refusal(
            "the subject CN is longer than 64 characters and cannot be a source identity",
            "Unable to assume role",
        )
    tags = certificate_attributes(leaf).tags()
    # The same STS tag rules CreateSession applies (reference §5.1).
    bad_tags = [
        k
        for k, v in tags
        if len(k) > MAX_TAG_KEY
        or len(v) > MAX_TAG_VALUE
        or not is_legal_tag_text(k)
        or not is_legal_tag_text(v)
    ]
    return {
        "accepted": True,
        "at": now.isoformat(),
        "subject": format_subject_dn(leaf.subject),
        "serial": f"{leaf.serial_number:x}",
        "path": [format_subject_dn(c.subject) for c in path.chain],
        "anchor": format_subject_dn(path.anchor.subject),
        "validator": path.validator,
        "valid_until": path.not_after.isoformat(),
        "source_identity": identity,
        "role_session_name": default_session_name(leaf),
        "principal_tags": dict(tags),
        "tags_failing_sts_rules": bad_tags,
    }


def _print_text(result: dict[str, Any]) -> None:
    if not result["accepted"]:
        click.echo(f"REFUSED: {result['message']}")
        click.echo(f"reason: {result['reason']}")
        return
    click.echo(f"ACCEPTED: {result['subject']} (serial {result['serial']})")
    click.echo("path: " + " -> ".join(result["path"]))
    click.echo(f"validated by: {result['validator']}")
    click.echo(f"path valid until: {result['valid_until']}")
    click.echo(f"source identity: {result['source_identity']}")
    click.echo(f"default role session name: {result['role_session_name']}")
    click.echo("principal tags (default attribute mapping):")
    for key, value in result["principal_tags"].items():
        click.echo(f"  {key} = {value}")
    if result["tags_failing_sts_rules"]:
        names = ", ".join(result["tags_failing_sts_rules"])
        click.echo(
            f"warning: tag values outside the STS character set ({names}); CreateSession fails "
            "unless the profile's attribute mapping leaves them out"
        )


def _from_server(
    arn: str, endpoint: str, profile: str | None, no_verify_ssl: bool
) -> tuple[
    tuple[x509.Certificate, ...],
    list[x509.CertificateRevocationList],
    tuple[x509.Certificate, ...],
    str | None,
]:
    """A trust anchor's certificates, enabled CRLs and their signers, read from a running server.

    The last value is a refusal reason when the anchor itself would refuse (disabled).
    """
    import boto3  # only this mode talks to a server
    from botocore.exceptions import BotoCoreError, ClientError

    parts = arn.split(":")
    if len(parts) != 6 or not parts[5].startswith("trust-anchor/"):
        raise click.UsageError(f"--trust-anchor-arn {arn!r} is not a trust anchor ARN")
    try:
        session = boto3.Session(profile_name=profile, region_name=parts[3])
        client = session.client("rolesanywhere", endpoint_url=endpoint, verify=not no_verify_ssl)
        anchor = client.get_trust_anchor(trustAnchorId=parts[5].split("/", 1)[1])["trustAnchor"]
        crls: list[dict[str, Any]] = []
        for page in client.get_paginator("list_crls").paginate():
            crls.extend(page["crls"])
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise click.UsageError(
            f"{endpoint}: {error.get('Code', 'error')}: {error.get('Message', '')}"
        ) from None
    except BotoCoreError as exc:
        raise click.UsageError(f"{endpoint}: {exc}") from None
    source = anchor["source"]
    if source.get("sourceType") != "CERTIFICATE_BUNDLE":
        raise click.UsageError(f"{arn} is a {source.get('sourceType')} anchor, not a bundle")
    try:
        anchors = parse_ca_bundle(source["sourceData"]["x509CertificateData"], max_certificates=100)
        mine = [
            c["crlData"]
            for c in crls
            if c.get("trustAnchorArn") == anchor["trustAnchorArn"] and c.get("enabled")
        ]
        revocations = [parse_crl(data) for data in mine]
        signers = tuple(cert for data in mine for cert in parse_crl_signers(data))
    except ValidationError as exc:
        raise click.UsageError(f"{arn}: {exc.message}") from None
    refusal = None if anchor.get("enabled") else f"trust anchor {arn} is disabled"
    return anchors, revocations, signers, refusal


@click.command("verify-certificate")
@click.option(
    "--trust-anchor-bundle",
    "anchor_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="PEM bundle of the trust anchor (its x509CertificateData).",
)
@click.option(
    "--intermediates",
    "chain_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PEM bundle the client sends as X-Amz-X509-Chain.",
)
@click.option(
    "--crl",
    "crl_paths",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="CRL imported for the trust anchor (PEM or DER; a PEM file may carry its signer's "
    "certificates after the CRL, as ImportCrl's crlData may). Repeatable.",
)
@click.option(
    "--trust-anchor-arn",
    "anchor_arn",
    help="Check against this trust anchor of a running server (its bundle and enabled CRLs) "
    "instead of --trust-anchor-bundle/--crl.",
)
@click.option(
    "--endpoint",
    default="http://127.0.0.1:8080",
    show_default=True,
    help="The server's URL, with --trust-anchor-arn.",
)
@click.option(
    "--profile",
    "aws_profile",
    default=None,
    help="AWS credentials profile, with --trust-anchor-arn.",
)
@click.option("--no-verify-ssl", is_flag=True, help="Do not verify the server's TLS certificate.")
@click.option(
    "--at", "at", help="Judge at this time (ISO 8601, default now), e.g. 2026-01-01T00:00:00Z."
)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.argument("leaf_path", type=click.Path(dir_okay=False, path_type=Path))
def verify_certificate(
    anchor_path: Path | None,
    chain_path: Path | None,
    crl_paths: tuple[Path, ...],
    anchor_arn: str | None,
    endpoint: str,
    aws_profile: str | None,
    no_verify_ssl: bool,
    at: str | None,
    as_json: bool,
    leaf_path: Path,
) -> None:
    """Say whether CreateSession would accept LEAF_PATH for this trust anchor, and why.

    Offline with --trust-anchor-bundle (and --crl); or against a running server's trust anchor
    with --trust-anchor-arn (its certificates, whether it is enabled, and its enabled CRLs).

    Exit status: 0 accepted, 1 refused, 2 usage error (unreadable or invalid input files).
    """
    now = _parse_at(at)
    if (anchor_path is None) == (anchor_arn is None):
        raise click.UsageError("give exactly one of --trust-anchor-bundle and --trust-anchor-arn")
    refusal: str | None = None
    server_crls: list[x509.CertificateRevocationList] = []
    signers: tuple[x509.Certificate, ...] = ()
    if anchor_arn is not None:
        if crl_paths:
            raise click.UsageError("--crl goes with --trust-anchor-bundle; the server's are used")
        anchors, server_crls, signers, refusal = _from_server(
            anchor_arn, endpoint, aws_profile, no_verify_ssl
        )
    else:
        assert anchor_path is not None
        try:
            anchors = parse_ca_bundle(_read(anchor_path).decode("utf-8", "replace"))
        except ValidationError as exc:
            raise click.UsageError(f"trust anchor bundle {anchor_path}: {exc.message}") from None
    leaf_bundle = _load_certs(leaf_path, "certificate file")
    # A bundle given as the certificate starts with the leaf; the rest is chain, as the
    # credential helper sends it (reference §3.5).
    leaf, extra = leaf_bundle[0], leaf_bundle[1:]
    intermediates = list(extra)
    if chain_path is not None:
        intermediates += _load_certs(chain_path, "intermediates file")
    crls = list(server_crls)
    for crl_path in crl_paths:
        data = _read(crl_path)
        try:
            crls.append(parse_crl(data))
            signers += parse_crl_signers(data)
        except ValidationError as exc:
            raise click.UsageError(f"{crl_path}: {exc.message}") from None
    result = (
        _refusal(refusal)
        if refusal
        else _evaluate(leaf, intermediates, anchors, crls, now, signers)
    )
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        _print_text(result)
    raise SystemExit(0 if result["accepted"] else 1)


def register(cli: click.Group) -> None:
    """Add ``elsewhere verify-certificate`` to the root command group."""
    cli.add_command(verify_certificate)
