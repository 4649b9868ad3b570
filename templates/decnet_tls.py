"""DECNET TLS helper: the self-signed server certificate of a decoy and its SSL context.

Standard library plus python3-cryptography (imported only when a certificate must be made).
The engine copies this module into every service build context; a server imports it from
/opt/decnet. ``load_or_create_certificate`` makes a self-signed RSA-2048 certificate for the
decky's hostname once per container and keeps it as ``<directory>/<name>.crt`` and
``<name>.key``; ``server_context`` loads such a pair into a TLS (1.2 or newer) server context;
``handshake_failure`` names why a handshake failed, for the disconnect event.

Certificate profiles (the extensions a real server's self-signed certificate carries):

- ``WEB``: Debian ssl-cert (snakeoil) style, basicConstraints CA:FALSE and subjectAltName
  DNS:<hostname> (CN only when the hostname is no DNS name).
- ``RDP``: a Windows Remote Desktop self-signed certificate, keyUsage keyEncipherment and
  dataEncipherment, extendedKeyUsage serverAuth, no subjectAltName.
"""

import datetime
import os
import random
import ssl

WEB = "web"
RDP = "rdp"


def _extensions(x509, profile, hostname):
    """(extension, critical) pairs of a profile, in the order they are added."""
    from cryptography.x509.oid import ExtendedKeyUsageOID

    if profile == RDP:
        return [(x509.KeyUsage(digital_signature=False, content_commitment=False,
                               key_encipherment=True, data_encipherment=True,
                               key_agreement=False, key_cert_sign=False, crl_sign=False,
                               encipher_only=False, decipher_only=False), False),
                (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)]
    if profile != WEB:
        raise ValueError("unknown certificate profile %r" % (profile,))
    extensions = [(x509.BasicConstraints(ca=False, path_length=None), False)]
    try:
        extensions.append((x509.SubjectAlternativeName([x509.DNSName(hostname[:253])]), False))
    except (ValueError, TypeError):
        pass  # a hostname that is no DNS name: CN only
    return extensions


def load_or_create_certificate(directory, hostname, name="server", valid_days=365, profile=WEB):
    """(cert path, key path) of a self-signed RSA-2048 certificate for ``hostname`` (CN),
    made once and kept in ``directory`` as ``name``.crt / ``name``.key (0644 / 0600, directory
    0700). Its validity began 14 to 45 days ago (so it does not look minted this minute) and
    lasts ``valid_days``."""
    crt, key_path = os.path.join(directory, name + ".crt"), os.path.join(directory, name + ".key")
    if os.path.isfile(crt) and os.path.isfile(key_path):
        return crt, key_path
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname[:64])])
    not_before = (datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
                  - datetime.timedelta(days=random.randint(14, 45), seconds=random.randint(0, 86399)))
    builder = (x509.CertificateBuilder()
               .subject_name(subject).issuer_name(subject)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(not_before)
               .not_valid_after(not_before + datetime.timedelta(days=valid_days)))
    for extension, critical in _extensions(x509, profile, hostname):
        builder = builder.add_extension(extension, critical=critical)
    cert = builder.sign(key, hashes.SHA256())
    os.makedirs(directory, mode=0o700, exist_ok=True)
    for path, data, mode in (
            (key_path, key.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.TraditionalOpenSSL,
                                         serialization.NoEncryption()), 0o600),
            (crt, cert.public_bytes(serialization.Encoding.PEM), 0o644)):
        tmp = "%s.%d.tmp" % (path, os.getpid())
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    return crt, key_path


def server_context(cert_path, key_path, maximum_version=None, alpn=None):
    """A TLS server context (TLS 1.2 at least; ``maximum_version`` an ssl.TLSVersion to cap it)
    with the certificate loaded and, given ``alpn``, those ALPN protocols offered."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if maximum_version is not None:
        context.maximum_version = maximum_version
    context.load_cert_chain(cert_path, key_path)
    if alpn:
        context.set_alpn_protocols(list(alpn))
    return context


def handshake_failure(exc):
    """A short name for why a TLS handshake failed."""
    if isinstance(exc, (ssl.SSLZeroReturnError, ssl.SSLEOFError)):
        return "eof"
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionError):
        return "connection_reset"
    return str(getattr(exc, "reason", None) or type(exc).__name__)[:128]
