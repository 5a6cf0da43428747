"""Parsing a SigV4 signature out of a request, and the time and scope checks.

Error texts follow AWS (aws-protocols.md §4.4, §4.5): the parse, credential and scope sentences
mirror real AWS responses and dacut/scratchstack-aws-signature's constants (written to match AWS).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from urllib.parse import unquote

from elsewhere.errors import (
    IncompleteSignature,
    InvalidSignature,
    MissingAuthenticationToken,
    SignatureExpired,
)
from elsewhere.sigv4._model import CredentialScope, HttpRequest, SignedRequest

__all__ = [
    "ALGORITHM_HMAC",
    "ALGORITHM_X509_ECDSA",
    "ALGORITHM_X509_MLDSA",
    "ALGORITHM_X509_RSA",
    "SUPPORTED_ALGORITHMS",
    "TERMINATOR",
    "check_request_time",
    "check_scope",
    "format_amz_date",
    "parse_amz_date",
    "parse_signed_request",
    "query_parameters",
]

ALGORITHM_HMAC = "AWS4-HMAC-SHA256"
ALGORITHM_X509_RSA = "AWS4-X509-RSA-SHA256"
ALGORITHM_X509_ECDSA = "AWS4-X509-ECDSA-SHA256"
ALGORITHM_X509_MLDSA = "AWS4-X509-MLDSA"
TERMINATOR = "aws4_request"

# The awslabs iam-rolesanywhere-session names the algorithm after the hash of the *issuer's*
# signature on the leaf, so it may send -SHA384/-SHA512 while still signing with SHA-256
# (rolesanywhere-protocol.md §3.1). We accept those names and verify with SHA-256.
SUPPORTED_ALGORITHMS = frozenset(
    {
        ALGORITHM_HMAC,
        ALGORITHM_X509_RSA,
        ALGORITHM_X509_ECDSA,
        ALGORITHM_X509_MLDSA,
        "AWS4-X509-RSA-SHA384",
        "AWS4-X509-RSA-SHA512",
        "AWS4-X509-ECDSA-SHA384",
        "AWS4-X509-ECDSA-SHA512",
    }
)

_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
# AWS region names: lower-case words and digits joined by '-' (us-east-1, us-gov-west-1,
# aws-global as botocore sends it for IAM with an endpoint_url, aws-protocols.md §5.1).
_REGION = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_MAX_PRESIGN_EXPIRES = 604800  # one week, the SigV4 presign limit
_ISO_HINT = "See http://en.wikipedia.org/wiki/ISO_8601"


def format_amz_date(when: dt.datetime) -> str:
    """A UTC datetime as compact ISO-8601 (``YYYYMMDDTHHMMSSZ``)."""
    return when.astimezone(dt.UTC).strftime(_AMZ_DATE_FORMAT)


def parse_amz_date(text: str) -> dt.datetime:
    """Parse compact ISO-8601 (``YYYYMMDDTHHMMSSZ``); raises IncompleteSignature."""
    if text.isascii() and _AMZ_DATE.fullmatch(text):
        # The pattern fixes every field's width. fromisoformat reads this basic form (Python
        # 3.11+) at a tenth of the cost of slicing, and refuses the same out-of-range fields as
        # datetime() (pinned by tests/unit/sigv4/test_fast_paths.py); an hour of 24 is kept off
        # it, as newer Pythons may read "T24" as the next midnight.
        try:
            if text[9:11] < "24":
                return dt.datetime.fromisoformat(text)
            return dt.datetime(
                int(text[0:4]),
                int(text[4:6]),
                int(text[6:8]),
                int(text[9:11]),
                int(text[11:13]),
                int(text[13:15]),
                tzinfo=dt.UTC,
            )
        except ValueError:
            pass
    raise IncompleteSignature(f"Date must be in ISO-8601 'basic format'. Got '{text}'. {_ISO_HINT}")


def _parse_http_date(text: str) -> dt.datetime:
    try:
        when = email.utils.parsedate_to_datetime(text)
        if when is not None and when.tzinfo is not None:
            # A year-1 or year-9999 date with an offset leaves datetime's range in UTC.
            when = when.astimezone(dt.UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        when = None
    if when is None:
        raise IncompleteSignature(
            f"Date must be in ISO-8601 'basic format'. Got '{text}'. {_ISO_HINT}"
        )
    if when.tzinfo is None:
        # "-0000" (what botocore's formatdate writes) is UTC with no local offset, RFC 5322 §3.3.
        return when.replace(tzinfo=dt.UTC)
    return when


def query_parameters(raw_query: str) -> list[tuple[str, str]]:
    """Percent-decoded (key, value) pairs of a raw query string ('+' stays '+')."""
    pairs = []
    for piece in raw_query.split("&"):
        if not piece:
            continue
        key, _, value = piece.partition("=")
        pairs.append((unquote(key), unquote(value)))
    return pairs


def _parse_credential(credential: str) -> tuple[str, CredentialScope]:
    parts = credential.split("/")
    if len(parts) != 5:
        raise IncompleteSignature(
            "Credential must have exactly 5 slash-delimited elements, "
            f"e.g. keyid/date/region/service/term, got '{credential}'"
        )
    return parts[0], CredentialScope(parts[1], parts[2], parts[3], parts[4])


def _check_algorithm(algorithm: str) -> None:
    if algorithm not in SUPPORTED_ALGORITHMS:
        raise IncompleteSignature(f"Unsupported AWS 'algorithm': '{algorithm}'")


def _payload_hash(request: HttpRequest) -> str:
    declared = request.header("x-amz-content-sha256")
    if declared is not None:
        return declared.strip()
    return request._body_sha256()


def _first(index: dict[str, list[str]], name: str) -> str | None:
    values = index.get(name)
    return values[0] if values else None


def _authorization_fields(rest: str, authorization: str) -> dict[str, str]:
    # ``key=value`` pairs separated by commas, whitespace around either ignored; the last of a
    # repeated key wins. Partitioning before stripping finds the same '=' as stripping first
    # (only whitespace is stripped) and saves a pass per pair.
    fields: dict[str, str] = {}
    for token in rest.split(","):
        key, eq, value = token.partition("=")
        if not eq:
            token = token.strip()
            if not token:
                continue
            raise IncompleteSignature(
                f"'{token}' not a valid key=value pair (missing equal-sign) in "
                f"Authorization header: '{authorization}'"
            )
        fields[key.strip()] = value.strip()
    return fields


def _parse_header_form(request: HttpRequest, authorization: str) -> SignedRequest:
    algorithm, _, rest = authorization.strip().partition(" ")
    _check_algorithm(algorithm)
    fields = _authorization_fields(rest, authorization)

    index = request._index()
    amz_date_header = _first(index, "x-amz-date")
    date_header = _first(index, "date") if amz_date_header is None else None
    credential_field = fields.get("Credential")
    signature = fields.get("Signature")
    signed_field = fields.get("SignedHeaders")
    if not (credential_field and signature and signed_field) or (
        amz_date_header is None and date_header is None
    ):
        missing = [
            f"Authorization header requires '{name}' parameter."
            for name in ("Credential", "Signature", "SignedHeaders")
            if not fields.get(name)
        ]
        if amz_date_header is None and date_header is None:
            missing.append(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
                "header."
            )
        raise IncompleteSignature(" ".join(missing) + f" Authorization={authorization}")

    credential, scope = _parse_credential(credential_field)
    if amz_date_header is not None:
        amz_date = amz_date_header.strip()
        timestamp = parse_amz_date(amz_date)
    else:
        timestamp = _parse_http_date((date_header or "").strip())
        amz_date = format_amz_date(timestamp)
    signed_headers = tuple(signed_field.split(";"))
    # Clients list the names in lower case: then each name is its own lower-case form.
    lowered: tuple[str, ...] | set[str] = (
        signed_headers if signed_field.islower() else {h.lower() for h in signed_headers}
    )
    if "host" not in lowered:
        raise IncompleteSignature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
        )
    if amz_date_header is not None and "x-amz-date" not in lowered:
        # [INFERRED] wording, shaped like AWS's Host sentence: the date header must be signed.
        raise IncompleteSignature("'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.")
    declared_hash = _first(index, "x-amz-content-sha256")
    return SignedRequest(
        algorithm=algorithm,
        credential=credential,
        scope=scope,
        amz_date=amz_date,
        timestamp=timestamp,
        signed_headers=signed_headers,
        signature=signature,
        security_token=_first(index, "x-amz-security-token"),
        presigned=False,
        expires=None,
        payload_hash=request._body_sha256() if declared_hash is None else declared_hash.strip(),
    )


def _parse_query_form(request: HttpRequest, params: dict[str, str]) -> SignedRequest:
    # [INFERRED] wording of AWS's answer to a presigned URL that lacks a parameter.
    missing = [
        name
        for name in (
            "X-Amz-Algorithm",
            "X-Amz-Credential",
            "X-Amz-Signature",
            "X-Amz-Date",
            "X-Amz-SignedHeaders",
        )
        if not params.get(name)
    ]
    if missing:
        raise IncompleteSignature(
            " ".join(f"AWS query-string parameters must include '{m}'." for m in missing)
            + " Re-examine the query-string parameters."
        )
    algorithm = params["X-Amz-Algorithm"]
    _check_algorithm(algorithm)
    credential, scope = _parse_credential(params["X-Amz-Credential"])
    amz_date = params["X-Amz-Date"]
    timestamp = parse_amz_date(amz_date)
    expires: int | None = None
    if "X-Amz-Expires" in params:
        # Texts as S3 words them for the same faults.
        raw = params["X-Amz-Expires"]
        if not (raw.isascii() and raw.isdigit()):  # int() fails on "²", reads "٣" as 3
            raise IncompleteSignature("X-Amz-Expires should be a number")
        expires = int(raw)
        if expires > _MAX_PRESIGN_EXPIRES:
            raise IncompleteSignature(
                "X-Amz-Expires must be less than a week (in seconds) that is 604800"
            )
    signed_headers = tuple(params["X-Amz-SignedHeaders"].split(";"))
    if "host" not in {h.lower() for h in signed_headers}:
        raise IncompleteSignature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
        )
    return SignedRequest(
        algorithm=algorithm,
        credential=credential,
        scope=scope,
        amz_date=amz_date,
        timestamp=timestamp,
        signed_headers=signed_headers,
        signature=params["X-Amz-Signature"],
        security_token=params.get("X-Amz-Security-Token"),
        presigned=True,
        expires=expires,
        payload_hash=_payload_hash(request),
    )


def parse_signed_request(request: HttpRequest) -> SignedRequest:
    """The signature parts of ``request``, header form or presigned-query form.

    Raises MissingAuthenticationToken when the request carries neither an ``Authorization``
    header nor an ``X-Amz-Algorithm`` query parameter, and IncompleteSignature when the parts are
    malformed or missing.
    """
    authorization = request.header("authorization")
    if authorization is not None:
        return _parse_header_form(request, authorization)
    params: dict[str, str] = {}
    for key, value in query_parameters(request.raw_query):
        params.setdefault(key, value)  # first occurrence wins, as a strict server would read it
    if "X-Amz-Algorithm" in params:
        return _parse_query_form(request, params)
    raise MissingAuthenticationToken()


def _minutes_or_seconds(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 60} min." if seconds % 60 == 0 else f"{seconds} sec."


def check_request_time(
    signed: SignedRequest,
    now: dt.datetime,
    *,
    skew: dt.timedelta = dt.timedelta(minutes=5),
    max_age: dt.timedelta | None = None,
) -> None:
    """Raise SignatureExpired unless ``now`` is within the request's validity window.

    Header form: ``X-Amz-Date`` ± ``skew``. Presigned form: from ``X-Amz-Date - skew`` to
    ``X-Amz-Date + X-Amz-Expires`` (``+ skew`` when no expiry was given), but never longer than
    ``max_age`` when one is given (a service that takes presigned requests for no longer than
    header-signed ones). Texts as AWS words them (aws-protocols.md §4.4).
    """
    ts = signed.timestamp
    latest = now + skew
    if ts > latest:
        raise SignatureExpired(
            f"Signature not yet current: {signed.amz_date} is still later than "
            f"{format_amz_date(latest)} ({format_amz_date(now)} + {_minutes_or_seconds(skew)})"
        )
    window = skew
    if signed.presigned and signed.expires is not None:
        window = dt.timedelta(seconds=signed.expires)
    if max_age is not None:
        window = min(window, max_age)
    earliest = now - window
    if ts < earliest:
        raise SignatureExpired(
            f"Signature expired: {signed.amz_date} is now earlier than "
            f"{format_amz_date(earliest)} ({format_amz_date(now)} - {_minutes_or_seconds(window)})"
        )


def _valid_region(region: str) -> bool:
    return len(region) <= 63 and _REGION.fullmatch(region) is not None


def check_scope(signed: SignedRequest, *, service: str, region: str | None) -> None:
    """Raise InvalidSignature unless the credential scope names ``service`` and ``region``.

    ``region=None`` accepts any syntactically valid region (clients with an ``endpoint_url``
    sign with whatever region they are configured with, aws-protocols.md §5.1). Every failing
    sentence is reported, concatenated, as AWS does.
    """
    scope = signed.scope
    problems = []
    region_ok = _valid_region(scope.region) if region is None else scope.region == region
    if not region_ok:
        problems.append(f"Credential should be scoped to a valid region, not '{scope.region}'. ")
    if scope.service != service:
        problems.append(f"Credential should be scoped to correct service: '{service}'. ")
    if scope.terminator != TERMINATOR:
        problems.append(
            "Credential should be scoped with a valid terminator: "
            f"'{TERMINATOR}', not '{scope.terminator}'. "
        )
    if scope.date != signed.amz_date[:8]:
        problems.append(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{scope.date}' != '{signed.amz_date[:8]}', from '{signed.amz_date}'."
        )
    if problems:
        raise InvalidSignature("".join(problems))
