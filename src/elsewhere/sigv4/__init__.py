"""SigV4 for elsewhere: canonical request, HMAC and X.509 signing and verification.

Pure: no I/O, no clock; time is a parameter. Errors come from :mod:`elsewhere.errors`.
"""

from elsewhere.sigv4._canonical import (
    EMPTY_SHA256,
    canonical_header_value,
    canonical_headers,
    canonical_query_string,
    canonical_request,
    canonical_uri,
    encode_query_component,
    hashed_canonical_request,
    string_to_sign,
)
from elsewhere.sigv4._hmac import (
    SIGNED_HEADERS_EXCLUDED,
    UNSIGNED_PAYLOAD,
    check_payload_hash,
    derive_signing_key,
    sign_hmac_request,
    verify_hmac_signature,
)
from elsewhere.sigv4._model import BodyWithheldRequest, CredentialScope, HttpRequest, SignedRequest
from elsewhere.sigv4._parse import (
    ALGORITHM_HMAC,
    ALGORITHM_X509_ECDSA,
    ALGORITHM_X509_MLDSA,
    ALGORITHM_X509_RSA,
    SUPPORTED_ALGORITHMS,
    check_request_time,
    check_scope,
    format_amz_date,
    parse_amz_date,
    parse_signed_request,
)
from elsewhere.sigv4._x509 import (
    SigningCertificate,
    X509PrivateKey,
    X509PublicKey,
    required_x509_headers,
    sign_x509_request,
    verify_string_signature,
    verify_x509_signature,
    x509_algorithm_for_key,
)

__all__ = [
    "ALGORITHM_HMAC",
    "ALGORITHM_X509_ECDSA",
    "ALGORITHM_X509_MLDSA",
    "ALGORITHM_X509_RSA",
    "EMPTY_SHA256",
    "SIGNED_HEADERS_EXCLUDED",
    "SUPPORTED_ALGORITHMS",
    "UNSIGNED_PAYLOAD",
    "BodyWithheldRequest",
    "CredentialScope",
    "HttpRequest",
    "SignedRequest",
    "SigningCertificate",
    "X509PrivateKey",
    "X509PublicKey",
    "canonical_header_value",
    "canonical_headers",
    "canonical_query_string",
    "canonical_request",
    "canonical_uri",
    "check_payload_hash",
    "check_request_time",
    "check_scope",
    "derive_signing_key",
    "encode_query_component",
    "format_amz_date",
    "hashed_canonical_request",
    "parse_amz_date",
    "parse_signed_request",
    "required_x509_headers",
    "sign_hmac_request",
    "sign_x509_request",
    "string_to_sign",
    "verify_hmac_signature",
    "verify_string_signature",
    "verify_x509_signature",
    "x509_algorithm_for_key",
]
