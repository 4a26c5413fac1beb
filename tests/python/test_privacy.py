"""Personal data stays in, and no secret is in the repository (issue 7, "Personal data and access").

- Every published table (DuckDB and Parquet, every text value) and every
  published file (the release's files, the report, the Data Docs) of the
  end-to-end run `health_run` is scanned for the demo's personal data: the
  emails and full names of crm.contacts and the emails of product.users, read
  from the raw files the run was given, and for anything that looks like an
  email at all. test_staging.py checks the build file's schemas; this checks
  what leaves it.
- Every file git tracks is scanned for credentials written in it: passwords,
  secrets, tokens or keys with a literal value, private keys, well-known token
  formats, URLs with a password. References to the environment
  (`env_var('HEALTH_PG_PASSWORD')`, `os.environ[...]`) are what is allowed.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import duckdb
import pytest

from customer_health import PROJECT_DIR

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def personal_data(raw_dir: Path) -> tuple[set[str], set[str]]:
    """(emails, full names) of the raw files: contacts' email and full_name, users' email."""
    with duckdb.connect() as con:
        contacts = con.execute(f"select email, full_name from read_parquet('{raw_dir}/crm/contacts.parquet')").fetchall()
        users = con.execute(f"select email from read_parquet('{raw_dir}/product/users.parquet')").fetchall()
    emails = {e.strip() for e, _ in contacts if e and e.strip()} | {e.strip() for (e,) in users if e and e.strip()}
    names = {n.strip() for _, n in contacts if n and n.strip()}
    return emails, names


class Scanner:
    """Finds the demo's emails and names, and any email-like text, in values, texts and bytes."""

    def __init__(self, emails: set[str], names: set[str]):
        self.needles = sorted(emails | names, key=len, reverse=True)
        self.lower = [n.lower() for n in self.needles]

    def text(self, value: str) -> list[str]:
        low = value.lower()
        hits = [n for n, n_low in zip(self.needles, self.lower) if n_low in low]
        hits += [m.group(0) for m in EMAIL.finditer(value)]
        return hits

    def data(self, data: bytes, any_email: bool = True) -> list[str]:
        low = data.lower()
        hits = [n for n, n_low in zip(self.needles, self.lower) if n_low.encode() in low]
        if any_email:
            hits += [m.group(0).decode(errors="replace") for m in re.finditer(EMAIL.pattern.encode(), data)]
        return hits

    def relation(self, con, relation: str) -> list[str]:
        """Every distinct value of every column of a relation, as text (lists and structs included)."""
        hits = []
        for name, dtype, *_ in con.execute(f"describe select * from {relation}").fetchall():
            if any(t in dtype for t in ("INT", "DOUBLE", "FLOAT", "DECIMAL", "BOOLEAN", "DATE", "TIME")) \
                    and "[" not in dtype and "STRUCT" not in dtype and "MAP" not in dtype:
                continue
            values = con.execute(f'select distinct cast("{name}" as varchar) from {relation} '
                                 f'where "{name}" is not null').fetchall()
            hits += [f"{name}: {h}" for (v,) in values for h in self.text(v)]
        return hits


@pytest.fixture(scope="module")
def scan(health_run, bad_raw):
    work, proc = health_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    emails, names = personal_data(bad_raw)
    assert len(emails) > 100 and len(names) > 100
    return work, Scanner(emails, names)


def test_the_scanner_finds_personal_data_where_it_is(scan, bad_raw):
    _work, scanner = scan
    with duckdb.connect() as con:
        hits = scanner.relation(con, f"read_parquet('{bad_raw}/crm/contacts.parquet')")
    assert len(hits) > 200  # every contact's email and name
    name = scanner.needles[-1]
    assert name in scanner.data(f"... {name.upper()} wrote ...".encode("utf-8"))
    assert scanner.text("write to someone.else@elsewhere.org") == ["someone.else@elsewhere.org"]


def test_no_published_table_holds_an_email_or_a_name(scan):
    work, scanner = scan
    release = (work / "published" / "current").resolve(strict=True)
    hits, scanned = {}, 0
    with duckdb.connect(str(release / "health.duckdb"), read_only=True) as con:
        tables = con.execute("select table_schema, table_name from information_schema.tables").fetchall()
        for schema, table in tables:
            hits[f"duckdb {schema}.{table}"] = scanner.relation(con, f'"{schema}"."{table}"')
            scanned += 1
    parquet = sorted((release / "parquet").glob("*.parquet"))
    with duckdb.connect() as con:
        for path in parquet:
            hits[f"parquet {path.name}"] = scanner.relation(con, f"read_parquet('{path}')")
            meta = con.execute(f"select key, value from parquet_kv_metadata('{path}')").fetchall()
            hits[f"parquet {path.name} metadata"] = [h for k, v in meta for h in scanner.data(bytes(k) + bytes(v))]
    assert scanned >= 9 and len(parquet) == scanned
    assert {k: v[:5] for k, v in hits.items() if v} == {}


def test_no_published_file_holds_an_email_or_a_name(scan):
    work, scanner = scan
    release = (work / "published" / "current").resolve(strict=True)
    files = [p for p in release.rglob("*") if p.is_file()]
    files += [p for p in (work / "reports").rglob("*") if p.is_file()]
    kinds = {p.suffix for p in files}
    assert {".duckdb", ".parquet", ".json", ".html"} <= kinds, kinds
    assert (work / "reports" / "health_report.html") in files
    assert "<svg" in (work / "reports" / "health_report.html").read_text()  # the charts are in the scanned page
    # Data Docs ship great-expectations' own static assets (fonts, CSS, scripts): their authors' addresses are not
    # our data, so there only the demo's own emails and names are looked for, not any email-like text.
    vendored = (work / "reports" / "data_docs" / "static").resolve()
    hits = {str(p.relative_to(work)): scanner.data(p.read_bytes(), any_email=vendored not in p.resolve().parents)
            for p in files}
    assert {k: v[:5] for k, v in hits.items() if v} == {}


# --------------------------------------------------------------------------- no secret in the repository

CREDENTIAL = r"(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret)"
SECRET_PATTERNS = {
    # key = "literal" / key: 'literal' / "key": "literal" (in any file)
    "quoted credential": re.compile(
        r"""(?i)["']?\b\w*""" + CREDENTIAL + r"""\w*["']?\s*[:=]\s*(?:[rbuf]?["'])(?P<value>[^"'\n]{4,})["']"""),
    # key: literal / KEY=literal (configuration files, unquoted)
    "unquoted credential": re.compile(
        r"""(?im)^\s*(?:export\s+)?\w*""" + CREDENTIAL + r"""\w*\s*[:=]\s*(?P<value>[^\s"'#{$][^\s#]{3,})\s*$"""),
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "URL with a password": re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]+:(?P<value>[^\s@/'\"{}$]+)@[^\s'\"]+"),
}
# A value that is not a literal: a reference to the environment or a variable, a template, a placeholder.
NOT_A_LITERAL = re.compile(
    r"""(?ix) ^\s*(?: \{\{ | \$ | % | < | env_var | os\.environ | getenv | none | null | true | false
        | \*+ | x{3,} | (?:your|my|the|some|example|dummy|changeme|placeholder)[-_ ]? )""")
ALLOWED_VALUE_WORDS = re.compile(r"(?i)^[a-z_]+(\.[a-z_]+)*(\(.*\))?$")  # an identifier or a call: code, not a value


def secret_findings(text: str) -> list[tuple[str, str]]:
    findings = []
    for kind, pattern in SECRET_PATTERNS.items():
        for m in pattern.finditer(text):
            value = m.groupdict().get("value")
            if value is not None and (NOT_A_LITERAL.match(value) or ALLOWED_VALUE_WORDS.match(value.rstrip(",;)"))
                                      or " " in value.strip()):
                continue  # a sentence, a reference or code, not a credential
            findings.append((kind, m.group(0)[:80]))
    return findings


def test_the_secret_scan_finds_planted_secrets_and_allows_the_environment():
    planted = [
        'password: "hunter2hunter2"', "HEALTH_PG_PASSWORD=s3cr3tvalue", "api_key = 'sk_live_4eC39HqLyjWDarjtT1'",
        '{"client_secret": "abcd1234efgh"}', "-----BEGIN RSA PRIVATE KEY-----", "aws = AKIAIOSFODNN7EXAMPLE",
        "url: postgresql://health:hunter2@db.internal:5432/health", "token: ghp_" + "a" * 36,
        "export SECRET_TOKEN=abcdef123456",
    ]
    for text in planted:
        assert secret_findings(text), text
    allowed = [
        "password: \"{{ env_var('HEALTH_PG_PASSWORD', '') }}\"", 'password = os.environ["HEALTH_PG_PASSWORD"]',
        "kwargs[\"password\"] = s[\"HEALTH_PG_PASSWORD\"]", "password=server.superuser_password,",
        "secrets.token_hex(3)", "HEALTH_PG_PASSWORD: \"\"", "# a password from the environment: HEALTH_PG_PASSWORD",
        "create role x login password %s", "password: ${HEALTH_PG_PASSWORD}",
    ]
    for text in allowed:
        assert not secret_findings(text), (text, secret_findings(text))


def tracked_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT_DIR, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [PROJECT_DIR / p for p in out.decode().split("\0") if p]


def test_no_secret_in_any_tracked_file():
    files = tracked_files()
    assert len(files) > 100
    bad_names = [p for p in files if p.name in (".env", ".pgpass", ".netrc", "id_rsa", "id_ed25519")
                 or p.suffix in (".pem", ".key", ".p12", ".pfx")]
    assert bad_names == []
    findings = {}
    for path in files:
        if not path.is_file():
            continue  # deleted in the working tree
        if path.resolve() == Path(__file__).resolve():
            continue  # this file: its planted examples above are the scanner's own test
        data = path.read_bytes()
        if b"\0" in data[:4096]:
            continue  # binary
        found = secret_findings(data.decode("utf-8", errors="replace"))
        if found:
            findings[str(path.relative_to(PROJECT_DIR))] = found
    assert findings == {}


def test_every_credential_of_the_dbt_profile_comes_from_the_environment():
    import yaml

    profile = yaml.safe_load((PROJECT_DIR / "profiles" / "profiles.yml").read_text())
    for name, output in profile["customer_health"]["outputs"].items():
        for key in ("host", "port", "user", "password", "dbname", "path"):
            if key in output:
                assert "env_var(" in str(output[key]), (name, key, output[key])
