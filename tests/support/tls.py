"""Test certificate authorities and certificates made with the real ``openssl`` command."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

_EXTENSIONS = """\
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer

[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
"""


@dataclass(frozen=True)
class CertPair:
    cert: Path
    key: Path


@dataclass(frozen=True)
class TestPki:
    """A trusted CA with server and client certificates, plus an untrusted CA and client."""

    __test__ = False  # not a pytest test class

    ca: CertPair
    server: CertPair
    client: CertPair
    untrusted_ca: CertPair
    untrusted_client: CertPair


def _openssl(*args: str | Path) -> None:
    result = subprocess.run(
        ["openssl", *map(str, args)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(map(str, args[:2]))} failed: {result.stderr}")


def _new_key_args(key: Path) -> list[str | Path]:
    return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key]


def make_ca(directory: Path, name: str, ext_file: Path) -> CertPair:
    pair = CertPair(directory / f"{name}.crt", directory / f"{name}.key")
    _openssl(
        "req", "-x509", *_new_key_args(pair.key), "-out", pair.cert, "-days", "3",
        "-subj", f"/CN=camwatch test {name}", "-config", ext_file, "-extensions", "ca",
    )  # fmt: skip
    return pair


def sign(directory: Path, name: str, cn: str, ca: CertPair, kind: str, ext_file: Path) -> CertPair:
    pair = CertPair(directory / f"{name}.crt", directory / f"{name}.key")
    csr = directory / f"{name}.csr"
    _openssl("req", "-new", *_new_key_args(pair.key), "-out", csr, "-subj", f"/CN={cn}",
             "-config", ext_file)  # fmt: skip
    _openssl(
        "x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial",
        "-out", pair.cert, "-days", "3", "-extfile", ext_file, "-extensions", kind,
    )  # fmt: skip
    csr.unlink()
    return pair


def make_test_pki(directory: Path) -> TestPki:
    """Create all certificates in ``directory`` (EC P-256 keys: fast to generate)."""
    directory.mkdir(parents=True, exist_ok=True)
    ext_file = directory / "extensions.cnf"
    ext_file.write_text("[req]\ndistinguished_name = dn\n[dn]\n" + _EXTENSIONS)
    ca = make_ca(directory, "ca", ext_file)
    untrusted = make_ca(directory, "untrusted-ca", ext_file)
    return TestPki(
        ca=ca,
        server=sign(directory, "server", "localhost", ca, "server", ext_file),
        client=sign(directory, "client", "camwatch-client", ca, "client", ext_file),
        untrusted_ca=untrusted,
        untrusted_client=sign(
            directory, "untrusted-client", "camwatch-client", untrusted, "client", ext_file
        ),
    )
