"""TLS to a PostgreSQL hub: ``sslmode=verify-full`` with a CA file in the hub's address.

A private, throwaway PostgreSQL cluster (``initdb`` + ``pg_ctl``, run as the ``postgres``
user when the tests run as root, as CI does) listens on a free port with TLS only
(``hostssl`` and SCRAM passwords in ``pg_hba.conf``), with a server certificate for
127.0.0.1 and localhost signed by a CA the test makes. The desk must trust it through
that CA, refuse it through any other, and say so plainly.
"""

import datetime as dt
import io
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from mdt_desk.cli import main
from mdt_desk.models.store import Store
from mdt_desk.sync import credentials
from mdt_desk.sync.hub import (
    HubCertificateError,
    hub_engine,
    init_hub,
    read_hub_info,
    redacted,
    without_password,
)
from tests.sync.support import Hub, assert_matches_hub, digest, quiesce, seed

PG_BIN = Path(os.environ.get("MDT_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
ADMIN_PASSWORD = "cluster admin " + uuid.uuid4().hex

Desks = Callable[..., Store]


# -- URL handling (no server) --------------------------------------------------------------

TLS_URL = (
    "postgresql+psycopg://ward3@db.example:5433/team"
    "?sslmode=verify-full&sslrootcert=/etc/mdt/hub-ca.pem"
)


def test_tls_options_pass_through_the_address_handling() -> None:
    with_password = TLS_URL.replace("ward3@", "ward3:s3cret@")
    shown = redacted(with_password)
    assert "s3cret" not in shown
    assert "sslmode=verify-full" in shown and "sslrootcert=/etc/mdt/hub-ca.pem" in shown
    kept = without_password(with_password)
    assert "s3cret" not in kept and "***" not in kept
    assert "sslmode=verify-full" in kept and "sslrootcert=/etc/mdt/hub-ca.pem" in kept
    # One keyring entry per login and hub, whatever the TLS options say.
    assert credentials.account(TLS_URL) == "ward3@db.example:5433/team"
    assert credentials.account(TLS_URL) == credentials.account(TLS_URL.split("?", maxsplit=1)[0])
    engine = hub_engine(TLS_URL, password="s3cret")
    try:
        assert engine.url.query == {
            "sslmode": "verify-full",
            "sslrootcert": "/etc/mdt/hub-ca.pem",
        }
        assert engine.url.password == "s3cret"
    finally:
        engine.dispose()


# -- A private cluster with TLS --------------------------------------------------------------


@dataclass
class Certificates:
    ca: Path
    other_ca: Path
    server_cert: Path
    server_key: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _ca(common: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(_name(common))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def make_certificates(folder: Path) -> Certificates:
    ca_key, ca_cert = _ca("MDT Desk test hub CA")
    _, other_cert = _ca("Some other CA")
    server_key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = Certificates(
        ca=folder / "ca.pem",
        other_ca=folder / "other-ca.pem",
        server_cert=folder / "server.crt",
        server_key=folder / "server.key",
    )
    paths.ca.write_bytes(_pem(ca_cert))
    paths.other_ca.write_bytes(_pem(other_cert))
    paths.server_cert.write_bytes(_pem(server_cert))
    paths.server_key.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    paths.server_key.chmod(0o600)  # PostgreSQL refuses a key others can read
    return paths


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Cluster:
    port: int
    certificates: Certificates

    def url(
        self, database: str, *, user: str = "postgres", host: str = "127.0.0.1", **query: str
    ) -> str:
        options = {"sslmode": "verify-full", "sslrootcert": str(self.certificates.ca), **query}
        tail = "&".join(f"{key}={value}" for key, value in options.items())
        return f"postgresql+psycopg://{user}@{host}:{self.port}/{database}?{tail}"


def _unavailable(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def tls_cluster() -> Iterator[Cluster]:
    """A throwaway PostgreSQL cluster that speaks TLS only, started and stopped here."""
    if not (PG_BIN / "initdb").exists():
        _unavailable(f"TLS hub tests need PostgreSQL's server programs in {PG_BIN}")
    as_root = os.geteuid() == 0
    if as_root and shutil.which("runuser") is None:
        _unavailable("TLS hub tests run as root need runuser to start PostgreSQL as postgres")
    # PostgreSQL will not run as root: the cluster is the postgres user's, in a folder of
    # its own (pytest's tmp_path is private to root).
    folder = Path(tempfile.mkdtemp(prefix="mdt-desk-tls-hub-"))
    prefix: list[str] = []
    try:
        certificates = make_certificates(folder)
        (folder / "password").write_text(ADMIN_PASSWORD + "\n")
        if as_root:
            owner = pwd.getpwnam("postgres")
            for path in [folder, *folder.iterdir()]:
                os.chown(path, owner.pw_uid, owner.pw_gid)
            prefix = ["runuser", "-u", "postgres", "--"]
        data = folder / "data"
        subprocess.run(
            [
                *prefix,
                str(PG_BIN / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                f"--pwfile={folder / 'password'}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        # TLS or nothing: no plain "host" line, so an unencrypted connection is refused.
        (data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "hostssl all all 127.0.0.1/32 scram-sha-256\n"
            "hostssl all all ::1/128 scram-sha-256\n"
        )
        port = _free_port()
        options = (
            f"-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={folder}"
            f" -c ssl=on -c ssl_cert_file={certificates.server_cert}"
            f" -c ssl_key_file={certificates.server_key} -c fsync=off"
        )
        subprocess.run(
            [
                *prefix,
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(folder / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, KeyError) as error:
        log = folder / "server.log"
        detail = log.read_text() if log.exists() else getattr(error, "stderr", b"")
        shutil.rmtree(folder, ignore_errors=True)
        _unavailable(f"could not start a private PostgreSQL cluster with TLS: {error} {detail!r}")
    try:
        yield Cluster(port, certificates)
    finally:
        subprocess.run(
            [
                *prefix,
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(folder / "data"),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            timeout=120,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def tls_database(tls_cluster: Cluster) -> Iterator[str]:
    name = f"hub_{uuid.uuid4().hex[:12]}"
    admin = hub_engine(tls_cluster.url("postgres"), password=ADMIN_PASSWORD)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield name
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


@pytest.mark.slow
def test_verify_full_with_the_right_ca_sets_up_a_desk_login_that_syncs(
    tls_cluster: Cluster,
    tls_database: str,
    desks: Desks,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin_url = tls_cluster.url(tls_database)
    store = str(tmp_path / "admin.sqlite")
    monkeypatch.setenv("MDT_DESK_HUB_PASSWORD", ADMIN_PASSWORD)
    status, output = _run("hub", "init", admin_url, "--store", store)
    assert status == 0, output
    assert f"members of mdt_desks_{tls_database}" in output and "hub add-desk" in output
    status, output = _run("hub", "add-desk", admin_url, "ward3_desk", "--store", store)
    assert status == 0, output
    monkeypatch.delenv("MDT_DESK_HUB_PASSWORD")
    lines = [line.strip() for line in output.splitlines()]
    password = lines[next(i for i, line in enumerate(lines) if "shown this once" in line) + 1]
    desk_url = tls_cluster.url(tls_database, user="ward3_desk")
    assert f"mdt-desk hub password {desk_url}" in output  # TLS options carried over
    monkeypatch.setattr("getpass.getpass", lambda prompt: password)
    assert _run("hub", "password", desk_url, "--store", store)[0] == 0
    # The desk: its password from the keyring, its hub trusted through the CA file only.
    engines = [
        hub_engine(url, password=credentials.load_password(desk_url))
        for url in (desk_url, tls_cluster.url(tls_database, user="ward3_desk", host="localhost"))
    ]
    try:
        with engines[0].connect() as connection:
            assert connection.execute(
                text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            ).scalar_one()
            assert connection.execute(text("SELECT current_user")).scalar_one() == "ward3_desk"
        a, b = desks("a"), desks("b")
        seed(a, tmp_path)
        quiesce([a], Hub("postgresql", desk_url, engines[0]))
        quiesce([b], Hub("postgresql", desk_url, engines[1]))  # by name: localhost
        assert digest(a) == digest(b)
        assert_matches_hub(b, Hub("postgresql", desk_url, engines[1]))
        with engines[0].begin() as connection, pytest.raises(DBAPIError, match="permission"):
            connection.execute(text("DELETE FROM hub_change"))
    finally:
        for engine in engines:
            engine.dispose()
        drop = hub_engine(tls_cluster.url("postgres"), password=ADMIN_PASSWORD)
        with drop.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{tls_database}" WITH (FORCE)'))
            connection.execute(text('DROP ROLE IF EXISTS "ward3_desk"'))
        drop.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("case", ["another CA", "no such CA file", "another host name"])
def test_a_hub_whose_certificate_does_not_check_out_is_refused_clearly(
    tls_cluster: Cluster,
    tls_database: str,
    tmp_path: Path,
    case: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if case == "another CA":
        url = tls_cluster.url(tls_database, sslrootcert=str(tls_cluster.certificates.other_ca))
    elif case == "no such CA file":
        url = tls_cluster.url(tls_database, sslrootcert=str(tmp_path / "missing-ca.pem"))
    else:  # the right server, reached under a name its certificate does not carry
        url = tls_cluster.url(tls_database, host="hub.example", hostaddr="127.0.0.1")
    engine = hub_engine(url, password=ADMIN_PASSWORD)
    try:
        with pytest.raises(HubCertificateError) as refused:
            read_hub_info(engine)
    finally:
        engine.dispose()
    message = str(refused.value)
    assert "could not be trusted" in message and "sslrootcert" in message
    assert ADMIN_PASSWORD not in message
    # The command line: exit 2, the same message, no traceback, nothing created.
    monkeypatch.setenv("MDT_DESK_HUB_PASSWORD", ADMIN_PASSWORD)
    status, output = _run("hub", "init", url, "--store", str(tmp_path / "d.sqlite"))
    error = capsys.readouterr().err
    assert status == 2 and output == ""
    assert "could not be trusted" in error and "Traceback" not in error
    # verify-ca checks the CA but not the name: the same server is then accepted.
    if case == "another host name":
        relaxed = hub_engine(url.replace("verify-full", "verify-ca"), password=ADMIN_PASSWORD)
        try:
            init_hub(relaxed)
        finally:
            relaxed.dispose()
